// What a streaming request keeps in memory while its response streams: a real proxy process, a
// heap snapshot of it taken mid-stream (Node's --heapsnapshot-signal), read for what must be gone.
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ServerResponse } from 'node:http'
import { request } from 'undici'
import { expect, test } from 'vitest'
import { freePort, startScriptedUpstream, tmpDir } from './helpers.js'
import { startProxyProcess } from './process.js'

/** The string values and the ArrayBuffer backing-store sizes of a heap snapshot. */
function readSnapshot(file: string): { strings: string[]; bufferSizes: number[] } {
  const s = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }
    nodes: number[]
    strings: string[]
  }
  const fields = s.snapshot.meta.node_fields
  const width = fields.length
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f))
  const types = s.snapshot.meta.node_types[0]
  const strings: string[] = []
  const bufferSizes: number[] = []
  for (let i = 0; i < s.nodes.length; i += width) {
    const t = types[s.nodes[i + type]]
    const n = s.strings[s.nodes[i + name]]
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') strings.push(n)
    else if (t === 'native' && n === 'system / JSArrayBufferData') bufferSizes.push(s.nodes[i + size])
  }
  return { strings, bufferSizes }
}

test('while a response streams, the proxy keeps neither the parsed request, nor the client’s bytes beside the copy it sent, nor the response head’s raw bytes', async () => {
  const marker = randomUUID()
  const HEAD_PAD = 10_000
  let upstreamBodyLength = 0
  let held: ServerResponse | null = null
  let gotRequest!: () => void
  const upstreamGotRequest = new Promise<void>((resolve) => (gotRequest = resolve))
  const upstream = await startScriptedUpstream((req, res) => {
    upstreamBodyLength = Buffer.byteLength(req.body)
    // The head alone, padded to a size nothing else in the process has; no event until the end.
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-pad': 'p'.repeat(HEAD_PAD) })
    res.flushHeaders()
    held = res
    gotRequest()
  })

  const tmp = tmpDir('retention-')
  const port = await freePort()
  const proc = await startProxyProcess({
    PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), BACKEND_URL: upstream.url, DB_PATH: join(tmp.dir, 'metrics.db'),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${tmp.dir}`,
  })
  try {
    // A prompt of an exact size nothing else has, whose content exists only once parsed; no
    // stream_options, so the proxy sends a copy that asks for usage.
    const CLIENT_BYTES = 150_001
    const head = JSON.stringify({ model: `retention-${marker}`, stream: true, messages: [{ role: 'user', content: `${marker}|${marker}` }, { role: 'user', content: '' }] })
    const body = Buffer.from(head.slice(0, -4) + 'x'.repeat(CLIENT_BYTES - Buffer.byteLength(head)) + head.slice(-4))
    expect(body.length).toBe(CLIENT_BYTES)
    expect(JSON.parse(body.toString()).messages).toHaveLength(2)

    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(response.statusCode).toBe(200)
    await upstreamGotRequest
    expect(upstreamBodyLength).toBeGreaterThan(CLIENT_BYTES)

    // The snapshot is written on the proxy's main thread: once its file exists, a request the proxy
    // answers comes after it is complete.
    proc.child.kill('SIGUSR2')
    const snapshotFile = async (): Promise<string> => {
      for (;;) {
        const f = readdirSync(tmp.dir).find((n) => n.endsWith('.heapsnapshot'))
        if (f) return join(tmp.dir, f)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const file = await snapshotFile()
    expect((await request(`http://127.0.0.1:${port}/health`)).statusCode).toBe(200)
    const { strings, bufferSizes } = readSnapshot(file)

    // What the response needs is there (the row's model name; the bytes undici sent): the snapshot sees both kinds.
    expect(strings.some((s) => s.includes(`retention-${marker}`))).toBe(true)
    expect(bufferSizes).toContain(upstreamBodyLength)
    // What it does not need is gone (each reported on its own).
    expect.soft(strings.filter((s) => s.includes(`${marker}|${marker}`))).toEqual([])
    expect.soft(bufferSizes.filter((n) => n === CLIENT_BYTES)).toEqual([])
    expect.soft(bufferSizes.filter((n) => n > HEAD_PAD && n < HEAD_PAD + 1024)).toEqual([])

    held!.end('data: [DONE]\n\n')
    await response.body.text()
  } finally {
    proc.child.kill('SIGTERM')
    await proc.exited
    await upstream.close()
    tmp.remove()
  }
})
