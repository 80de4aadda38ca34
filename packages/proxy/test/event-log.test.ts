// EVENT_LOG: one JSON line per stored row, to a file (append mode) or to stdout next to pino's lines.
import { BOOL_COLUMNS, ROW_COLUMNS } from '@llm-proxy/core'
import { startMockBackend } from '@llm-proxy/mock-backend'
import Database from 'better-sqlite3'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { performance } from 'node:perf_hooks'
import OpenAI from 'openai'
import pino from 'pino'
import { afterEach, expect, test } from 'vitest'
import { createEventLog } from '../src/events/event-log.js'
import { toEvent } from '../src/events/event.js'
import { CLIENT_KEY, chatBody, freePort, startStack, streamBody, tmpDir, type Stack } from './helpers.js'
import { runProxyToExit, startProxyProcess } from './process.js'

let stack: Stack | null = null
const cleanup: (() => void | Promise<void>)[] = []
afterEach(async () => {
  await stack?.close()
  stack = null
  for (const f of cleanup.splice(0)) await f()
})

/** A stored SQLite row in the row's own types (booleans are 0/1 in the table). */
const asRow = (stored: Record<string, unknown>) =>
  Object.fromEntries(ROW_COLUMNS.map((c) => [c, (BOOL_COLUMNS as string[]).includes(c) ? stored[c] === 1 : stored[c]]))

/** Every line is an event for a stored row: the row's every field, plus the fields log tools read. */
function expectEventsMatch(events: Record<string, any>[], stored: Record<string, unknown>[], keyNames: Record<string, string> = {}) {
  expect(events.map((e) => e.id).sort()).toEqual(stored.map((r) => r.id).sort())
  for (const s of stored) {
    const row = asRow(s)
    const e = events.find((x) => x.id === row.id)!
    for (const c of ROW_COLUMNS) expect(e[c], c).toEqual(row[c])
    const keyName = row.key_id === null ? null : keyNames[row.key_id as string]
    expect(e).toMatchObject({
      timestamp: new Date(row.ts as number).toISOString(),
      method: 'POST',
      endpoint: row.endpoint,
      status_code: row.status_code,
      duration_ms: row.total_ms,
      key_id: row.key_id,
      key_name: keyName,
    })
    expect(e.metadata).toEqual({
      model: row.model ?? row.model_requested,
      model_requested: row.model_requested,
      prompt_tokens: row.prompt_tokens,
      completion_tokens: row.completion_tokens,
      total_tokens: row.total_tokens,
      cached_tokens: row.cached_tokens,
      reasoning_tokens: row.reasoning_tokens,
      tokens_estimated: row.tokens_estimated,
      usage: { prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens, total_tokens: row.total_tokens },
      key_id: row.key_id,
      key_name: keyName,
    })
  }
}

test('EVENT_LOG=<path>: appended to the file, one line per stored row, matching the rows and naming the key', async () => {
  const tmp = tmpDir('event-log-')
  cleanup.push(tmp.remove)
  const file = join(tmp.dir, 'events.jsonl')
  writeFileSync(file, '{"earlier":"line"}\n')
  stack = await startStack({ keys: {}, events: { config: { log: { file } } } })
  const created = await stack.admin!.call('POST', '/admin/keys', { name: 'alice' })
  const key = created.body as { id: string; secret: string }
  const alice = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: key.secret, maxRetries: 0 })

  await alice.chat.completions.create(chatBody())
  for await (const _ of await alice.chat.completions.create(streamBody())) void _
  await alice.embeddings.create({ model: 'mock-llama-3.2-1b', input: 'an embedding' })
  const refused = await stack.client.chat.completions.create(chatBody()).catch((e) => e) // no proxy key: 401
  expect(refused.status).toBe(401)

  await stack.rows.until(4)
  const stored = await stack.stored()
  expect(stored).toHaveLength(4)
  // Closing the proxy closes the file once the last lines are written.
  await stack.app.close()
  const lines = readFileSync(file, 'utf8').split('\n')
  expect(lines.shift()).toBe('{"earlier":"line"}')
  expect(lines.pop()).toBe('')
  const events = lines.map((l) => JSON.parse(l))
  expectEventsMatch(events, stored, { [key.id]: 'alice' })
  expect(events.filter((e) => e.key_name === 'alice')).toHaveLength(3)
  expect(readFileSync(file, 'utf8')).not.toContain(key.secret)
})

test('EVENT_LOG=stdout in a real process: every stdout line is whole JSON, events and log lines never cut into each other', async () => {
  const backend = await startMockBackend({ ttftMs: 5, tokensPerSecond: 2000, answerTokens: 40 })
  cleanup.push(() => backend.close())
  const tmp = tmpDir('event-stdout-')
  cleanup.push(tmp.remove)
  const dbFile = join(tmp.dir, 'metrics.db')
  const port = await freePort()
  const proc = await startProxyProcess({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), BACKEND_URL: backend.url, DB_PATH: dbFile, EVENT_LOG: 'stdout', LOG_LEVEL: 'info' })
  // Long user agents make long lines: a line cut by another write would show.
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, defaultHeaders: { 'user-agent': 'ua-'.padEnd(250, 'x') } })
  const n = 60
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      if (i % 2 === 0) return client.chat.completions.create(chatBody({ user: `user-${i}` }))
      for await (const _ of await client.chat.completions.create(streamBody({ user: `user-${i}` }))) void _
    }),
  )
  const exited = proc.exited
  proc.child.kill('SIGTERM')
  expect(await exited, proc.output()).toBe(0)

  const out = proc.output()
  const lines = out.split('\n')
  expect(lines.pop()).toBe('')
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l)
    } catch {
      throw new Error(`stdout line ${i} is not whole JSON: ${l.slice(0, 200)}`)
    }
  })
  const events = parsed.filter((p) => 'metadata' in p)
  const logs = parsed.filter((p) => 'msg' in p)
  expect(events.length + logs.length).toBe(parsed.length)
  expect(logs.filter((l) => /^POST \/v1\/chat\/completions completed$/.test(l.msg))).toHaveLength(n)
  // The last log line comes after every event: what the async destination held was written at exit.
  expect(logs.at(-1).msg).toBe('stopped; all rows stored')
  const db = new Database(dbFile, { readonly: true })
  cleanup.push(() => void db.close())
  const stored = db.prepare('SELECT * FROM requests ORDER BY seq').all() as Record<string, unknown>[]
  expect(stored).toHaveLength(n)
  expectEventsMatch(events, stored)
  expect(out).not.toContain(CLIENT_KEY)
})

test('a stream that pushes back: writes return at once, lines wait in a bounded buffer, the excess is dropped and counted', async () => {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const chunks: string[] = []
  // A real Writable that takes its first chunk and then stalls until released.
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk, _enc, done) {
      chunks.push(String(chunk))
      void gate.then(() => done())
    },
  })
  const logged: any[] = []
  const logger = pino({ level: 'warn' }, { write: (l: string) => logged.push(JSON.parse(l)) })
  const row = (i: number) => ({ ...asRow({}), id: `r${String(i).padStart(2, '0')}`, ts: 1_700_000_000_000 + i, endpoint: '/v1/chat/completions', outcome: 'success', total_ms: 10, stream: false, tokens_estimated: false, request_bytes: 1, response_bytes: 1 }) as any
  const event = (i: number) => toEvent(row(i))
  const lineBytes = JSON.stringify(event(0)).length + 1
  const log = createEventLog({ stream, logger, maxHeldBytes: lineBytes * 10 })

  const t0 = performance.now()
  log.write([event(0), event(1), event(2), event(3), event(4), event(5)]) // > highWaterMark: the stream is full now
  for (let i = 6; i < 30; i++) log.write([event(i)])
  expect(performance.now() - t0).toBeLessThan(50)
  // 6 written, 10 held, 14 dropped: nothing of it waited.
  expect(log.dropped).toBe(14)
  release()
  await log.close()
  // The first drop is logged at once, the rest at the latest when the output closes.
  const warned = logged.filter((l) => l.output === 'event log')
  expect(warned[0].dropped).toBe(1)
  expect(warned.reduce((a, l) => a + l.dropped, 0)).toBe(14)
  expect(warned.at(-1).droppedTotal).toBe(14)
  await once(stream.end(), 'finish')
  const ids = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l).id)
  expect(ids).toEqual(Array.from({ length: 16 }, (_, i) => `r${String(i).padStart(2, '0')}`))
})

test('an EVENT_LOG file that cannot be opened stops the proxy at start, naming the variable', async () => {
  const tmp = tmpDir('event-bad-')
  cleanup.push(tmp.remove)
  const port = await freePort()
  const { code, output } = await runProxyToExit({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DB_PATH: join(tmp.dir, 'm.db'), EVENT_LOG: join(tmp.dir, 'no-such-dir', 'events.jsonl') })
  expect(code).toBe(1)
  expect(output).toMatch(/cannot start the event outputs: EVENT_LOG=\S+no-such-dir\/events\.jsonl: ENOENT/)
})

test('an output that fails (a disk error, a closed pipe): later events are dropped and counted, nothing throws', async () => {
  const stream = new Writable({ write: (_c, _e, done) => done(new Error('EIO: i/o error, write')) })
  const logged: any[] = []
  const logger = pino({ level: 'warn' }, { write: (l: string) => logged.push(JSON.parse(l)) })
  const log = createEventLog({ stream, logger })
  const ev = toEvent({ ...asRow({}), id: 'x', ts: 0, endpoint: '/v1/chat/completions', outcome: 'success', total_ms: 1, stream: false, tokens_estimated: false, request_bytes: 0, response_bytes: 0 } as any)
  log.write([ev])
  await once(stream, 'error').catch(() => {})
  expect(() => log.write([ev, ev])).not.toThrow()
  expect(log.dropped).toBe(2)
  await log.close()
  expect(logged.some((l) => /event log: the output failed/.test(l.msg))).toBe(true)
  expect(logged.some((l) => l.output === 'event log' && l.droppedTotal === 2 && /EIO/.test(l.msg))).toBe(true)
})
