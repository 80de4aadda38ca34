import Database from 'better-sqlite3'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { LATEST_SCHEMA_VERSION, ROW_COLUMNS, createRequestStore, migrate, migrations, openReaderDb, openWriterDb, type RequestRow } from '../src/index.js'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
function tmpDb() {
  const dir = mkdtempSync(join(tmpdir(), 'core-db-'))
  dirs.push(dir)
  return join(dir, 'nested', 'metrics.db')
}

export function sampleRow(over: Partial<RequestRow> = {}): RequestRow {
  return {
    id: crypto.randomUUID(), ts: Date.now(), endpoint: '/v1/chat/completions', stream: true,
    model_requested: 'm', model: 'm', status_code: 200, outcome: 'success', error_type: null,
    error_message: null, finish_reason: 'stop', ttft_ms: 10, ttlt_ms: 20, total_ms: 21, tpot_ms: 1,
    output_tps: 100, prompt_tokens: 5, completion_tokens: 11, total_tokens: 16, cached_tokens: null,
    reasoning_tokens: null, tokens_estimated: false, client_ip: '127.0.0.1', user: null,
    user_agent: 'test', chunk_count: 12, request_bytes: 100, response_bytes: 1000, key_id: null, cost_usd: null, ...over,
  }
}

test('the writer creates the directory, enables WAL and migrates to the latest version', () => {
  const file = tmpDb()
  const db = openWriterDb(file)
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
  expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  db.close()
  // Reopening is a no-op migration.
  const again = openWriterDb(file)
  expect(again.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  again.close()
})

test('a batch is written in one transaction and readable by a read-only connection', () => {
  const file = tmpDb()
  const db = openWriterDb(file)
  const store = createRequestStore(db)
  const rows = [sampleRow(), sampleRow({ outcome: 'cancelled', stream: false, tokens_estimated: true })]
  store.insertBatch(rows)
  const reader = openReaderDb(file)!
  const got = reader.prepare('SELECT id, stream, outcome, tokens_estimated FROM requests ORDER BY seq').all()
  expect(got).toEqual([
    { id: rows[0].id, stream: 1, outcome: 'success', tokens_estimated: 0 },
    { id: rows[1].id, stream: 0, outcome: 'cancelled', tokens_estimated: 1 },
  ])
  expect(() => reader.prepare('DELETE FROM requests').run()).toThrow(/readonly/)
  reader.close()
  db.close()
})

test('a failing batch leaves nothing behind', () => {
  const db = openWriterDb(tmpDb())
  const store = createRequestStore(db)
  const bad = { ...sampleRow(), total_ms: null } as unknown as RequestRow
  expect(() => store.insertBatch([sampleRow(), bad])).toThrow()
  expect(db.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 0 })
  db.close()
})

test('deleteBefore removes only older rows', () => {
  const db = openWriterDb(tmpDb())
  const store = createRequestStore(db)
  store.insertBatch([sampleRow({ ts: 1000 }), sampleRow({ ts: 3000 })])
  expect(store.deleteBefore(2000)).toBe(1)
  expect(db.prepare('SELECT ts FROM requests').all()).toEqual([{ ts: 3000 }])
  db.close()
})

test('the reader returns null for a missing file', () => {
  expect(openReaderDb(join(tmpdir(), 'does-not-exist-' + Date.now(), 'x.db'))).toBeNull()
  expect(Database).toBeDefined()
})

test('stored histograms add up by merging their sorted lists', async () => {
  const { LogHistogram, mergeHistBlobs } = await import('../src/index.js')
  const a = new LogHistogram()
  const b = new LogHistogram()
  const both = new LogHistogram()
  for (const v of [0, 1, 5, 5, 120, 3000]) (a.add(v), both.add(v))
  for (const v of [2, 5, 119, 1e7, 0.0001]) (b.add(v), both.add(v))
  const merged = new LogHistogram()
  merged.mergeBlob(mergeHistBlobs(a.toBlob(), b.toBlob()))
  expect([...merged.counts]).toEqual([...both.counts])
  expect(merged.total).toBe(11)
  expect(mergeHistBlobs(null, a.toBlob())).toEqual(a.toBlob())
})

test('migration 3 adds cost_usd to a version-2 database: old rows keep their data with no cost, new rows store theirs', () => {
  const file = tmpDb()
  // A database as version 2 left it: the first two migrations only.
  mkdirSync(dirname(file), { recursive: true })
  const old = new Database(file)
  migrate(old, migrations.filter((m) => m.version <= 2))
  expect(old.pragma('user_version', { simple: true })).toBe(2)
  const columns = ROW_COLUMNS.filter((c) => c !== 'cost_usd')
  old.prepare(`INSERT INTO requests (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`).run(
    Object.fromEntries(columns.map((c) => [c, c === 'stream' || c === 'tokens_estimated' ? 1 : (sampleRow({ id: 'old-row' }) as any)[c]])),
  )
  old.close()

  const db = openWriterDb(file)
  expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  createRequestStore(db).insertBatch([sampleRow({ id: 'new-row', cost_usd: 0.0125 })])
  const rows = db.prepare('SELECT id, prompt_tokens, cost_usd FROM requests ORDER BY seq').all()
  expect(rows).toEqual([
    { id: 'old-row', prompt_tokens: 5, cost_usd: null },
    { id: 'new-row', prompt_tokens: 5, cost_usd: 0.0125 },
  ])
  db.close()
})

test('migration 4: every rollup level sums cost_usd and counts the rows that had one, equal to the raw rows', () => {
  const db = openWriterDb(tmpDb())
  const store = createRequestStore(db)
  const t = Date.UTC(2026, 10, 20, 10, 0, 0)
  const costs = [0.001, null, 0.0025, 0, null, 0.5]
  store.insertBatch(costs.slice(0, 3).map((cost_usd, i) => sampleRow({ ts: t + i * 1000, cost_usd })))
  // A second batch into the same buckets adds to them.
  store.insertBatch(costs.slice(3).map((cost_usd, i) => sampleRow({ ts: t + (3 + i) * 1000, cost_usd })))
  const raw = db.prepare('SELECT sum(cost_usd) AS usd, count(cost_usd) AS n FROM requests').get() as { usd: number; n: number }
  for (const level of ['minute', 'hour', 'halfday', 'day']) {
    const r = db.prepare(`SELECT sum(cost_usd) AS usd, sum(with_cost) AS n FROM rollup_${level}`).get() as { usd: number; n: number }
    expect(r.usd).toBeCloseTo(raw.usd, 12)
    expect(r.n).toBe(raw.n)
  }
  expect(raw.n).toBe(4)
  db.close()
})
