// Content capture as an operator turns it on: environment variables of a real proxy process.
import { startMockBackend } from '@llm-proxy/mock-backend'
import Database from 'better-sqlite3'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { expect, test } from 'vitest'
import { CLIENT_KEY, chatBody, freePort, streamBody, tmpDir } from './helpers.js'
import { runProxyToExit, startProxyProcess } from './process.js'

test('CAPTURE=all, CAPTURE_MAX_BYTES and REDACT of a real process: every capture stored by shutdown, redacted, no client key anywhere', async () => {
  const backend = await startMockBackend({ answerTokens: 8 })
  const tmp = tmpDir('capture-process-')
  try {
    const port = await freePort()
    const dbFile = join(tmp.dir, 'metrics.db')
    const proc = await startProxyProcess({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), BACKEND_URL: backend.url, DB_PATH: dbFile, CAPTURE: 'all', CAPTURE_MAX_BYTES: '8kb', CAPTURE_RETENTION_DAYS: '30' })
    expect(proc.output()).toContain('"capture":"all"')
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 })
    await client.chat.completions.create(chatBody({ messages: [{ role: 'user', content: 'I am ops@example.com, card 5555 5555 5555 4444' }] }))
    for await (const _ of await client.chat.completions.create(streamBody())) void _
    proc.child.kill('SIGTERM')
    expect(await proc.exited, proc.output()).toBe(0)

    const db = new Database(dbFile, { readonly: true })
    const ids = (db.prepare('SELECT id FROM requests ORDER BY seq').all() as { id: string }[]).map((r) => r.id)
    const captures = db.prepare('SELECT request_id, request FROM captures').all() as { request_id: string; request: string }[]
    db.close()
    expect(captures.map((c) => c.request_id).sort()).toEqual([...ids].sort())
    expect(captures.map((c) => c.request).join('\n')).toContain('I am [EMAIL], card [CARD]')
    const bytes = readdirSync(tmp.dir).map((f) => readFileSync(join(tmp.dir, f)).toString('latin1')).join('\n')
    for (const secret of [CLIENT_KEY, 'ops@example.com', '5555 5555 5555 4444']) expect(bytes, secret).not.toContain(secret)
  } finally {
    await backend.close()
    tmp.remove()
  }
})

test.each([
  ['CAPTURE', 'everything'],
  ['CAPTURE_MAX_BYTES', 'lots'],
  ['CAPTURE_RETENTION_DAYS', '-1'],
  ['REDACT', 'maybe'],
])('a bad %s stops the process with a message naming it', async (name, value) => {
  const { code, output } = await runProxyToExit({ [name]: value, DB_PATH: ':memory:', PROXY_PORT: '0' })
  expect(code).toBe(1)
  expect(output).toMatch(new RegExp(`${name}: `))
})
