// The event outputs as an operator turns them on: environment variables of a real proxy process.
import { startMockBackend } from '@llm-proxy/mock-backend'
import Database from 'better-sqlite3'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import OpenAI from 'openai'
import { expect, test } from 'vitest'
import { CLIENT_KEY, chatBody, freePort, streamBody, tmpDir } from './helpers.js'
import { decodeExport, startOtlpReceiver } from './otlp.js'
import { startProxyProcess } from './process.js'

test('EVENT_WEBHOOK_URL/TOKEN and the OTEL_* variables of a real process: delivered at shutdown, no secret in its output', async () => {
  const backend = await startMockBackend({ answerTokens: 8 })
  const tmp = tmpDir('events-process-')
  const otlp = await startOtlpReceiver()
  const posts: { headers: IncomingHttpHeaders; events: any[] }[] = []
  const hook = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      posts.push({ headers: req.headers, events: JSON.parse(Buffer.concat(parts).toString()) })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`
  const webhookToken = 'whk-0123456789-very-secret'
  const collectorSecret = 'collector-secret-9876543210'
  try {
    const port = await freePort()
    const dbFile = join(tmp.dir, 'metrics.db')
    const proc = await startProxyProcess({
      PROXY_HOST: '127.0.0.1',
      PROXY_PORT: String(port),
      BACKEND_URL: backend.url,
      DB_PATH: dbFile,
      LOG_LEVEL: 'debug',
      EVENT_WEBHOOK_URL: `${hookUrl}/events?signature=sig-in-query`,
      EVENT_WEBHOOK_TOKEN: webhookToken,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${collectorSecret}`,
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
      OTEL_SERVICE_NAME: 'edge-proxy',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    })
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 })
    await client.chat.completions.create(chatBody())
    for await (const _ of await client.chat.completions.create(streamBody())) void _
    await client.embeddings.create({ model: 'mock-llama-3.2-1b', input: 'x' })
    proc.child.kill('SIGTERM')
    expect(await proc.exited, proc.output()).toBe(0)

    const db = new Database(dbFile, { readonly: true })
    const ids = (db.prepare('SELECT id FROM requests ORDER BY seq').all() as { id: string }[]).map((r) => r.id)
    db.close()
    expect(ids).toHaveLength(3)
    // The webhook got every event before the process exited, with the token.
    expect(posts.flatMap((p) => p.events.map((e) => e.id)).sort()).toEqual([...ids].sort())
    for (const p of posts) expect(p.headers.authorization).toBe(`Bearer ${webhookToken}`)
    // The last OTLP export was sent at shutdown, with the collector's headers and resource.
    expect(otlp.received.length).toBeGreaterThan(0)
    const last = otlp.received.at(-1)!
    expect(last.headers.authorization).toBe(`Bearer ${collectorSecret}`)
    const decoded = decodeExport(last)
    expect(decoded.resource).toMatchObject({ 'service.name': 'edge-proxy', 'deployment.environment.name': 'test' })
    const duration = decoded.metrics.find((m) => m.name === 'gen_ai.client.operation.duration')!
    expect(duration.points.reduce((a, p) => a + p.count, 0)).toBe(3)

    const out = proc.output()
    expect(out).toContain('"eventWebhook":"' + hookUrl + '"')
    for (const secret of [webhookToken, collectorSecret, 'sig-in-query', CLIENT_KEY]) expect(out, secret).not.toContain(secret)
  } finally {
    await new Promise<void>((r) => (hook.closeAllConnections(), hook.close(() => r())))
    await otlp.close()
    await backend.close()
    tmp.remove()
  }
})
