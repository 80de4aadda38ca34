import { createRequestStore, openWriterDb, type RequestRow } from '@llm-proxy/core'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createRowWriter, type RowSink } from '../src/recording/row-writer.js'
import { tmpDir } from './helpers.js'

const silent = { warn() {}, error() {}, info() {}, debug() {}, trace() {}, fatal() {}, child() { return silent }, level: 'silent', silent() {} } as any

const row = (n: number): RequestRow => ({
  id: `row-${n}`, ts: n, endpoint: '/v1/chat/completions', stream: false, model_requested: 'm', model: 'm', status_code: 200,
  outcome: 'success', error_type: null, error_message: null, finish_reason: 'stop', ttft_ms: null, ttlt_ms: null, total_ms: 1,
  tpot_ms: null, output_tps: null, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, cached_tokens: null,
  reasoning_tokens: null, tokens_estimated: false, client_ip: null, user: null, user_agent: null, chunk_count: null,
  request_bytes: 1, response_bytes: 1, key_id: null, cost_usd: null,
})

const cleanups: (() => void)[] = []
afterEach(() => cleanups.splice(0).forEach((f) => f()))

test('a locked database delays rows but loses none', async () => {
  const tmp = tmpDir()
  cleanups.push(tmp.remove)
  const file = join(tmp.dir, 'm.db')
  const db = openWriterDb(file)
  db.pragma('busy_timeout = 10')
  const store = createRequestStore(db)
  const locker = new Database(file)
  locker.exec('BEGIN EXCLUSIVE')

  let attempts = 0
  const sink: RowSink = { insertBatch: (rows) => (attempts++, store.insertBatch(rows)) }
  const writer = createRowWriter({ sink, logger: silent, flushIntervalMs: 1 })
  for (let i = 0; i < 10; i++) writer.record(row(i))
  expect(writer.flush()).toBe(false) // locked: kept, not thrown
  expect(writer.pending).toBe(10)

  locker.exec('COMMIT')
  locker.close()
  expect(writer.flush()).toBe(true)
  expect(writer.pending).toBe(0)
  expect(attempts).toBeGreaterThanOrEqual(2)
  expect(db.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 10 })
  await writer.close()
  db.close()
})

test('a row the database refuses is dropped alone; the rest of its batch is stored', () => {
  const tmp = tmpDir()
  cleanups.push(tmp.remove)
  const db = openWriterDb(join(tmp.dir, 'm.db'))
  const store = createRequestStore(db)
  const writer = createRowWriter({ sink: store, logger: silent })
  writer.record(row(1))
  writer.record({ ...row(2), total_ms: null as unknown as number })
  writer.record(row(3))
  expect(writer.flush()).toBe(true)
  expect(writer.dropped).toBe(1)
  expect(db.prepare('SELECT id FROM requests ORDER BY ts').all()).toEqual([{ id: 'row-1' }, { id: 'row-3' }])
  db.close()
})

test('while storage fails, the queue is bounded and keeps the newest rows', () => {
  const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
  let failing = true
  const stored: RequestRow[] = []
  const writer = createRowWriter({
    sink: { insertBatch: (rows) => { if (failing) throw busy; stored.push(...rows) } },
    logger: silent,
    maxPending: 5,
  })
  for (let i = 0; i < 8; i++) writer.record(row(i))
  expect(writer.flush()).toBe(false)
  expect(writer.pending).toBe(5)
  expect(writer.dropped).toBe(3)
  failing = false
  expect(writer.flush()).toBe(true)
  expect(stored.map((r) => r.id)).toEqual(['row-3', 'row-4', 'row-5', 'row-6', 'row-7'])
})

test('rows are written in batches, one transaction each', () => {
  const batches: number[] = []
  const writer = createRowWriter({ sink: { insertBatch: (rows) => void batches.push(rows.length) }, logger: silent, batchSize: 4 })
  for (let i = 0; i < 10; i++) writer.record(row(i))
  writer.flush()
  expect(batches).toEqual([4, 4, 2])
})
