// EVENT_WEBHOOK_URL: a real receiver on 127.0.0.1, down, slow, then back. Requests never wait for it,
// every row is in the database whatever it does, and it gets every event once it answers.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { afterEach, expect, test } from 'vitest'
import { chatBody, freePort, startStack, streamBody, type Stack } from './helpers.js'

const TOKEN = 'webhook-token-abcdefghijklmnop'

/** The receiver: on a fixed port, started and stopped by the test; `delayMs` makes it slow. */
function receiver(port: number) {
  const posts: { headers: IncomingHttpHeaders; events: any[] }[] = []
  const ids = new Set<string>()
  let waiters: { n: number; resolve: () => void }[] = []
  let server: Server | null = null
  let delayMs = 0
  const r = {
    posts,
    ids,
    setDelay: (ms: number) => (delayMs = ms),
    /** Every event id received, in order of arrival (duplicates kept). */
    received: () => posts.flatMap((p) => p.events.map((e) => e.id as string)),
    async start() {
      server = createServer((req, res) => {
        const parts: Buffer[] = []
        req.on('data', (c: Buffer) => parts.push(c))
        req.on('end', () => {
          setTimeout(() => {
            const events = JSON.parse(Buffer.concat(parts).toString('utf8'))
            posts.push({ headers: req.headers, events })
            for (const e of events) ids.add(e.id)
            res.writeHead(204).end()
            waiters = waiters.filter((w) => (ids.size >= w.n ? (w.resolve(), false) : true))
          }, delayMs)
        })
      })
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
    },
    async stop() {
      if (!server) return
      server.closeAllConnections()
      await new Promise<void>((resolve) => server!.close(() => resolve()))
      server = null
    },
    /** Resolves once `n` distinct events have arrived. */
    until: (n: number) => (ids.size >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  }
  return r
}

let stack: Stack | null = null
let hook: ReturnType<typeof receiver> | null = null
afterEach(async () => {
  await stack?.close()
  await hook?.stop()
  stack = hook = null
})

/** Runs `n` requests one after another through the SDK; resolves with each one's duration (ms). */
async function timedRequests(s: Stack, n: number, tag: string): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    if (i % 2 === 0) await s.client.chat.completions.create(chatBody({ user: `${tag}-${i}` }))
    else for await (const _ of await s.client.chat.completions.create(streamBody({ user: `${tag}-${i}` }))) void _
    times.push(performance.now() - t0)
  }
  return times
}

function logCapture() {
  const lines: any[] = []
  let waiters: { match: (l: any) => boolean; resolve: (l: any) => void }[] = []
  const write = (l: string) => {
    const line = JSON.parse(l)
    lines.push(line)
    waiters = waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true))
  }
  return {
    lines,
    logger: pino({ level: 'info' }, { write }),
    /** Resolves with the first line from now on that matches. */
    next: (match: (l: any) => boolean) => new Promise<any>((resolve) => waiters.push({ match, resolve })),
  }
}

test('receiver down, slow, then back: no client error, no request slowed, all rows stored, every event delivered once', async () => {
  const port = await freePort()
  hook = receiver(port)
  const logs = logCapture()
  stack = await startStack({
    events: { config: { webhook: { url: `http://127.0.0.1:${port}/hooks/llm?secret=in-the-url`, token: TOKEN } }, logger: logs.logger, webhook: { backoffBaseMs: 20, backoffMaxMs: 200, batchSize: 4 } },
  })
  // Warm up, then a baseline with the receiver down (connections refused at once).
  await timedRequests(stack, 2, 'warm')
  const down = await timedRequests(stack, 10, 'down')
  await stack.stored()
  expect(stack.events!.webhook!.delivered).toBe(0)
  expect(stack.events!.webhook!.pending).toBe(12)

  // Slow: each POST takes 1.5 s to answer. Requests meanwhile take what they took before.
  hook.setDelay(1_500)
  await hook.start()
  const slow = await timedRequests(stack, 10, 'slow')
  const baseline = Math.max(...down)
  for (const t of slow) expect(t).toBeLessThan(baseline + 300)
  expect(Math.max(...slow)).toBeLessThan(1_500)

  // Back to normal: everything arrives, each event once.
  hook.setDelay(0)
  const rows = await stack.stored()
  expect(rows).toHaveLength(22)
  expect(rows.every((r) => r.status_code === 200)).toBe(true)
  await hook.until(22)
  expect(hook.received().sort()).toEqual(rows.map((r) => r.id).sort())
  expect(stack.events!.webhook!.dropped).toBe(0)

  // What a receiver sees: JSON arrays of events in batches, with the bearer token.
  for (const p of hook.posts) {
    expect(p.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(p.headers['content-type']).toBe('application/json')
    expect(p.events.length).toBeGreaterThan(0)
    expect(p.events.length).toBeLessThanOrEqual(4)
  }
  const first = hook.posts[0].events[0]
  expect(first).toMatchObject({ method: 'POST', endpoint: '/v1/chat/completions', status_code: 200, key_name: null })
  expect(first.metadata.total_tokens).toBe(first.total_tokens)
  expect(first.timestamp).toBe(new Date(first.ts).toISOString())

  // The failures were logged, without the token or the URL's path and query.
  const warned = logs.lines.filter((l) => /event webhook: delivery failed/.test(l.msg))
  expect(warned.length).toBeGreaterThan(0)
  expect(warned[0].target).toBe(`http://127.0.0.1:${port}`)
  expect(logs.lines.some((l) => /event webhook: delivering again/.test(l.msg))).toBe(true)
  await stack.app.close()
  const all = JSON.stringify(logs.lines)
  expect(all).not.toContain(TOKEN)
  expect(all).not.toContain('in-the-url')
  expect(logs.lines.at(-1)).toMatchObject({ delivered: 22, dropped: 0, msg: 'event webhook: 22 events delivered, 0 dropped' })
})

test('a full queue drops the oldest events, counts and logs them; the rows are all stored and the newest still arrive', async () => {
  const port = await freePort()
  hook = receiver(port)
  const logs = logCapture()
  stack = await startStack({
    events: { config: { webhook: { url: `http://127.0.0.1:${port}/` } }, logger: logs.logger, webhook: { backoffBaseMs: 20, backoffMaxMs: 100, batchSize: 2, maxQueue: 5 } },
  })
  await timedRequests(stack, 12, 'overflow')
  const rows = await stack.stored()
  expect(rows).toHaveLength(12)
  // Retries go on against the dead receiver: the bound holds through them, nothing more is dropped.
  await logs.next((l) => /delivery failed/.test(l.msg) && l.attempt >= 8)
  const webhook = stack.events!.webhook!
  expect(webhook.dropped).toBe(7)
  expect(webhook.pending).toBe(5)
  const warned = logs.lines.filter((l) => l.output === 'event webhook' && /dropped/.test(l.msg))
  expect(warned[0].msg).toMatch(/the queue is full/)

  await hook.start()
  await hook.until(5)
  // The newest five, in order; the seven oldest were the ones dropped.
  expect(hook.received()).toEqual(rows.slice(7).map((r) => r.id))
  await stack.app.close()
  expect(logs.lines.at(-1)).toMatchObject({ delivered: 5, dropped: 7, msg: 'event webhook: 5 events delivered, 7 dropped' })
  expect(logs.lines.at(-1).level).toBe(40) // warn
})

test('a receiver still down at shutdown: the proxy stops within the close timeout and logs what it dropped', async () => {
  const port = await freePort()
  const logs = logCapture()
  stack = await startStack({
    events: { config: { webhook: { url: `http://127.0.0.1:${port}/` } }, logger: logs.logger, webhook: { backoffBaseMs: 20, closeTimeoutMs: 300 } },
  })
  await timedRequests(stack, 3, 'dead')
  expect(await stack.stored()).toHaveLength(3)
  const t0 = performance.now()
  await stack.app.close()
  expect(performance.now() - t0).toBeLessThan(2_000)
  expect(logs.lines.at(-1)).toMatchObject({ delivered: 0, dropped: 3 })
})
