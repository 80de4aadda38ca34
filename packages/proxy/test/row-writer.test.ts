import type { RequestRow } from '@llm-proxy/core'
import { createSqliteSink, TransientStorageError } from '@llm-proxy/storage'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createRowWriter } from '../src/recording/row-writer.js'
import { tmpDir } from './helpers.js'

const silent = { warn() {}, error() {}, info() {}, debug() {}, trace() {}, fatal() {}, child() { return silent }, level: 'silent', silent() {} } as any

const row = (n: number): RequestRow => ({
  id: `row-${n}`, ts: n, endpoint: '/v1/chat/completions', stream: false, model_requested: 'm', model: 'm', status_code: 200,
  outcome: 'success', error_type: null, error_message: null, finish_reason: 'stop', ttft_ms: null, ttlt_ms: null, total_ms: 1,
  tpot_ms: null, output_tps: null, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, cached_tokens: null,
  reasoning_tokens: null, tokens_estimated: false, client_ip: null, user: null, user_agent: null, chunk_count: null,
  request_bytes: 1, response_bytes: 1, key_id: null, cost_usd: null, overhead_ms: null, inflight: null,
})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

test('a locked database delays rows but loses none, and the writer thread keeps the event loop free', async () => {
  const tmp = tmpDir()
  cleanups.push(tmp.remove)
  const file = join(tmp.dir, 'm.db')
  const sink = await createSqliteSink({ file })
  cleanups.push(() => sink.close())
  const locker = new Database(file)
  locker.exec('BEGIN EXCLUSIVE')

  const writer = createRowWriter({ sink, logger: silent, flushIntervalMs: 1 })
  for (let i = 0; i < 10; i++) writer.record(row(i))
  // The write waits on the lock in the worker (busy timeout); this thread keeps turning meanwhile.
  const flushed = writer.flush()
  let turns = 0
  const ticker = setInterval(() => turns++, 5)
  await new Promise((r) => setTimeout(r, 200))
  clearInterval(ticker)
  expect(turns).toBeGreaterThan(10)
  locker.exec('COMMIT')
  locker.close()
  expect(await flushed).toBe(true)
  expect(writer.pending).toBe(0)
  const check = new Database(file, { readonly: true })
  expect(check.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 10 })
  check.close()
  expect(await writer.close()).toEqual({ lost: 0 })
})

test('a row the database refuses is dropped alone; the rest of its batch is stored', async () => {
  const tmp = tmpDir()
  cleanups.push(tmp.remove)
  const file = join(tmp.dir, 'm.db')
  const sink = await createSqliteSink({ file })
  cleanups.push(() => sink.close())
  const writer = createRowWriter({ sink, logger: silent })
  writer.record(row(1))
  writer.record({ ...row(2), total_ms: null as unknown as number })
  writer.record(row(3))
  expect(await writer.flush()).toBe(true)
  expect(writer.dropped).toBe(1)
  const check = new Database(file, { readonly: true })
  expect(check.prepare('SELECT id FROM requests ORDER BY ts').all()).toEqual([{ id: 'row-1' }, { id: 'row-3' }])
  check.close()
})

test('while storage fails, the queue is bounded and keeps the newest rows', async () => {
  let failing = true
  const stored: RequestRow[] = []
  const writer = createRowWriter({
    sink: {
      insertBatch: async (rows) => {
        if (failing) throw new TransientStorageError('database is locked', 'SQLITE_BUSY')
        stored.push(...rows)
      },
    },
    logger: silent,
    maxPending: 5,
  })
  for (let i = 0; i < 8; i++) writer.record(row(i))
  expect(await writer.flush()).toBe(false)
  expect(writer.pending).toBe(5)
  expect(writer.dropped).toBe(3)
  failing = false
  expect(await writer.flush()).toBe(true)
  expect(stored.map((r) => r.id)).toEqual(['row-3', 'row-4', 'row-5', 'row-6', 'row-7'])
})

test('rows are written in batches, one transaction each, one batch at a time', async () => {
  const batches: number[] = []
  let concurrent = 0
  let most = 0
  const writer = createRowWriter({
    sink: {
      insertBatch: async (rows) => {
        most = Math.max(most, ++concurrent)
        await new Promise((r) => setImmediate(r))
        batches.push(rows.length)
        concurrent--
      },
    },
    logger: silent,
    batchSize: 4,
  })
  for (let i = 0; i < 10; i++) writer.record(row(i))
  await Promise.all([writer.flush(), writer.flush()])
  expect(batches).toEqual([4, 4, 2])
  expect(most).toBe(1)
})

test('rows that arrive while a batch is being written wait for the next flush, unless they fill a batch', async () => {
  const batches: number[] = []
  // Resolves, once the first write has started, with what lets that write finish.
  let started!: (release: () => void) => void
  const firstWriteStarted = new Promise<() => void>((r) => (started = r))
  const writes: (() => void)[] = []
  const wrote = () => new Promise<void>((r) => writes.push(r))
  const writer = createRowWriter({
    sink: {
      insertBatch: async (rows) => {
        // The first write is held until the test lets it go, as a slow store would hold it.
        if (batches.length === 0) await new Promise<void>((r) => started(r))
        batches.push(rows.length)
        writes.shift()?.()
      },
    },
    logger: silent,
    batchSize: 5,
    flushIntervalMs: 20,
  })
  const first = wrote()
  writer.record(row(0))
  const release = await firstWriteStarted
  // Two rows arrive during the first write: written back to back, they would make a batch of two.
  writer.record(row(1))
  writer.record(row(2))
  release()
  await first
  // A full turn of the loop: a writer that wrote back to back would have written them by now.
  await new Promise((r) => setImmediate(r))
  expect(batches).toEqual([1])
  expect(writer.pending).toBe(2)
  // More rows within the flush interval join them, and the timer writes them as one batch.
  const second = wrote()
  writer.record(row(3))
  await second
  expect(batches).toEqual([1, 3])
  // A full batch does not wait for the timer.
  const third = wrote()
  for (let i = 4; i < 9; i++) writer.record(row(i))
  await third
  expect(batches).toEqual([1, 3, 5])
  expect(await writer.close()).toEqual({ lost: 0 })
})

test('rows recorded while close() is writing are written too; close() reports what it could not store', async () => {
  const stored: string[] = []
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const writer = createRowWriter({
    sink: {
      insertBatch: async (rows) => {
        await gate
        stored.push(...rows.map((r) => r.id))
      },
    },
    logger: silent,
  })
  writer.record(row(1))
  const closing = writer.close()
  writer.record(row(2)) // a request cut at shutdown records its row late
  release()
  expect(await closing).toEqual({ lost: 0 })
  expect(stored).toEqual(['row-1', 'row-2'])

  const failing = createRowWriter({
    sink: { insertBatch: async () => { throw new TransientStorageError('disk full', 'SQLITE_FULL') } },
    logger: silent,
    closeTimeoutMs: 50,
  })
  failing.record(row(3))
  failing.record(row(4))
  expect(await failing.close()).toEqual({ lost: 2 })
})

test('onStored gets each batch once the database has it: not before, not the rows it refused, and a throwing hook changes nothing', async () => {
  const tmp = tmpDir()
  cleanups.push(tmp.remove)
  const file = join(tmp.dir, 'm.db')
  const sink = await createSqliteSink({ file })
  cleanups.push(() => sink.close())
  const check = new Database(file, { readonly: true })
  cleanups.push(() => check.close())
  const stored: string[][] = []
  let inTableWhenCalled = -1
  const writer = createRowWriter({
    sink,
    logger: silent,
    batchSize: 3,
    onStored(rows) {
      stored.push(rows.map((r) => r.id))
      inTableWhenCalled = (check.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n
      if (rows.some((r) => r.id === 'row-5')) throw new Error('an output failed')
    },
  })
  writer.record(row(1))
  writer.record({ ...row(2), total_ms: null as unknown as number }) // refused by the database
  writer.record(row(3))
  expect(stored).toEqual([]) // queued only: nothing is passed on before it is stored
  expect(await writer.flush()).toBe(true)
  // The refused row split its batch: the others were stored (and passed on) one by one.
  expect(stored).toEqual([['row-1'], ['row-3']])
  expect(inTableWhenCalled).toBe(2)
  for (let i = 4; i <= 6; i++) writer.record(row(i))
  expect(await writer.flush()).toBe(true)
  expect(stored.at(-1)).toEqual(['row-4', 'row-5', 'row-6'])
  expect(inTableWhenCalled).toBe(5)
  writer.record(row(7))
  expect(await writer.flush()).toBe(true)
  expect(stored.at(-1)).toEqual(['row-7'])
  expect(await writer.close()).toEqual({ lost: 1 })
})
