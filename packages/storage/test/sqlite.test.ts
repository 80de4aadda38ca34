import { LogHistogram, ROW_COLUMNS, mergeHistBlobs, rollupDeltas, type RequestRow } from '@llm-proxy/core'
import Database from 'better-sqlite3'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import { afterEach, expect, test } from 'vitest'
// The built package: the writer thread runs from dist/.
import { LATEST_SCHEMA_VERSION, READ_SCHEMA_VERSION, TransientStorageError, createSqliteReader, createSqliteSink, createSqliteStore, migrate, migrations, openReaderDb, openWriterDb } from '../dist/index.js'
import { sampleRow } from './fixtures.js'
import { satRows } from './sat-rows.js'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
function tmpDb() {
  const dir = mkdtempSync(join(tmpdir(), 'storage-sqlite-'))
  dirs.push(dir)
  return join(dir, 'nested', 'metrics.db')
}

test('the writer creates the directory, enables WAL, caps its page cache and migrates to the latest version', () => {
  const file = tmpDb()
  const db = openWriterDb(file)
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
  // 4 MB, not better-sqlite3's 16 MB: the cache fills with pages written once and stays in the proxy's RSS.
  expect(db.pragma('cache_size', { simple: true })).toBe(-4000)
  expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  db.close()
  const again = openWriterDb(file)
  expect(again.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  again.close()
})

test('a database from before version 3 is upgraded and its rollups filled from its rows', () => {
  const file = tmpDb()
  openWriterDb(file).close() // creates the directory
  rmSync(file)
  const old = new Database(file)
  migrate(old, migrations.slice(0, 2))
  const insert = old.prepare(`INSERT INTO requests (id, ts, endpoint, stream, outcome, total_ms, prompt_tokens, completion_tokens, model) VALUES (?, ?, '/v1/chat/completions', 0, 'success', ?, 3, 4, 'm')`)
  for (let i = 0; i < 7; i++) insert.run(`old-${i}`, Date.UTC(2026, 0, 1) + i, 10 + i)
  old.close()
  const db = openWriterDb(file)
  expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  expect(db.prepare('SELECT sum(requests) AS n, sum(prompt_tokens) AS p, min(latency_min) AS lo, max(latency_max) AS hi FROM rollup_day').get()).toEqual({ n: 7, p: 21, lo: 10, hi: 16 })
  db.close()
})

test('a batch is written in one transaction and readable by a read-only connection', () => {
  const file = tmpDb()
  const db = openWriterDb(file)
  const store = createSqliteStore(db)
  const rows = [sampleRow(), sampleRow({ outcome: 'cancelled', stream: false, tokens_estimated: true, cost_usd: 0.25, inflight: 3 })]
  store.insertBatch(rows)
  const reader = openReaderDb(file)!
  expect(reader.prepare('SELECT id, stream, outcome, tokens_estimated, cost_usd, inflight FROM requests ORDER BY seq').all()).toEqual([
    { id: rows[0].id, stream: 1, outcome: 'success', tokens_estimated: 0, cost_usd: null, inflight: null },
    { id: rows[1].id, stream: 0, outcome: 'cancelled', tokens_estimated: 1, cost_usd: 0.25, inflight: 3 },
  ])
  expect(() => reader.prepare('DELETE FROM requests').run()).toThrow(/readonly/)
  reader.close()
  const bad = { ...sampleRow(), total_ms: null } as never
  expect(() => store.insertBatch([sampleRow(), bad])).toThrow()
  expect(db.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 2 })
  expect(store.deleteBefore(rows[1].ts)).toBe(1)
  db.close()
})

test('the reader: null before the file exists, one snapshot per read, a stream on its own connection', async () => {
  const file = tmpDb()
  const reader = createSqliteReader(file)
  expect(await reader.schemaVersion()).toBeNull()
  expect(await reader.read(async (s) => s)).toBeNull()
  const db = openWriterDb(file)
  createSqliteStore(db).insertBatch([sampleRow({ user: 'u' }), sampleRow()])
  expect(await reader.schemaVersion()).toBe(LATEST_SCHEMA_VERSION)
  const [a, b] = await Promise.all([
    reader.read(async (s) => (await s!.all<{ n: number }>('SELECT count(*) AS n FROM requests WHERE "user" = @user', { user: 'u' }))[0].n),
    reader.read(async (s) => (await s!.all<{ n: number }>('SELECT count(*) AS n FROM requests'))[0].n),
  ])
  expect([a, b]).toEqual([1, 2])
  const streamed: unknown[] = []
  for await (const r of reader.stream<{ id: string }>('SELECT id FROM requests WHERE ts >= @from', { from: 0 })) streamed.push(r.id)
  expect(streamed).toHaveLength(2)
  await reader.close()
  db.close()
})

test('the reader needs the version the metrics API reads, not the latest: a database the proxy has not migrated further still answers', async () => {
  expect(LATEST_SCHEMA_VERSION).toBeGreaterThan(READ_SCHEMA_VERSION)
  const at = (version: number) => {
    const file = tmpDb()
    mkdirSync(dirname(file), { recursive: true })
    const db = new Database(file)
    migrate(db, migrations.filter((m) => m.version <= version))
    db.prepare(`INSERT INTO requests (id, ts, endpoint, stream, outcome, total_ms) VALUES ('r1', 1, '/v1/chat/completions', 0, 'success', 5)`).run()
    db.close()
    return createSqliteReader(file)
  }
  // As a file written by a proxy of an earlier release looks (the versions after it change only how writers write).
  const reader = at(READ_SCHEMA_VERSION)
  expect(await reader.schemaVersion()).toBe(READ_SCHEMA_VERSION)
  expect(await reader.read(async (s) => (await s!.all<{ n: number }>('SELECT count(*) AS n FROM requests'))[0].n)).toBe(1)
  await reader.close()
  // One version short of it: not read yet (empty answers), as before the proxy has migrated it.
  const early = at(READ_SCHEMA_VERSION - 1)
  expect(await early.read(async (s) => s)).toBeNull()
  await early.close()
})

test('a database file deleted while in use is noticed, logged and created again', async () => {
  const file = tmpDb()
  const logs: string[] = []
  const sink = await createSqliteSink({ file, log: (level, message) => logs.push(`${level}: ${message}`) })
  await sink.insertBatch([sampleRow()])
  const before = statSync(file).ino
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true })
  await sink.insertBatch([sampleRow(), sampleRow()])
  expect(logs.join('\n')).toMatch(/error: the database file was deleted or replaced/)
  expect(statSync(file).ino).toBeDefined()
  const check = new Database(file, { readonly: true })
  expect(check.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 2 })
  expect(check.prepare('SELECT sum(requests) AS n FROM rollup_day').get()).toEqual({ n: 2 })
  check.close()
  expect(before).toBeGreaterThan(0)
  await sink.close()
})

test('a writer thread that stops is started again: calls meanwhile fail as transient, rows before and after are stored', async () => {
  const file = tmpDb()
  const workers: Worker[] = []
  const logs: string[] = []
  let runningAgain!: () => void
  const again = new Promise<void>((resolve) => (runningAgain = resolve))
  const sink = await createSqliteSink({
    file,
    onWorker: (w) => workers.push(w),
    log: (level, message) => {
      logs.push(`${level}: ${message}`)
      if (/running again/.test(message)) runningAgain()
    },
  })
  await sink.insertBatch([sampleRow()])
  await workers[0].terminate()
  const meanwhile = await sink.insertBatch([sampleRow()]).catch((e: unknown) => e)
  expect(meanwhile).toBeInstanceOf(TransientStorageError)
  await again
  await sink.insertBatch([sampleRow(), sampleRow()])
  expect(workers).toHaveLength(2)
  expect(logs.join('\n')).toMatch(/error: the SQLite writer thread stopped \(exit code 1\); starting it again/)
  const check = new Database(file, { readonly: true })
  expect(check.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 3 })
  check.close()
  await sink.close()
})

test('stored histograms add up by merging their sorted lists', () => {
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

test('rollups do not depend on how rows are batched: batches of 7 merge into what one batch writes', () => {
  // Users, errors and measures a batch may lack (no TTFT, no overhead), so merges meet empty histograms on either side.
  const rows = satRows(700, 5).map((r, i) => ({
    ...r, user: i % 3 === 0 ? `u${i % 4}` : null, overhead_ms: i % 5 < 2 ? null : (i % 17) / 10, tpot_ms: i % 7 === 0 ? null : 1 + (i % 11),
    ...(r.outcome === 'success' ? {} : { status_code: 502, error_type: 'backend_error', error_message: `failure ${i}` }),
  }))
  const whole = openWriterDb(tmpDb())
  createSqliteStore(whole).insertBatch(rows)
  const batched = openWriterDb(tmpDb())
  const store = createSqliteStore(batched)
  for (let i = 0; i < rows.length; i += 7) store.insertBatch(rows.slice(i, i + 7))
  const tables = (whole.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'rollup_%' OR name LIKE 'users_%' OR name LIKE 'errors_%' OR name LIKE 'saturation_%')").all() as { name: string }[]).map((t) => t.name)
  expect(tables.length).toBe(12)
  // Sums of REAL columns depend on the order of the additions: compared to 9 significant digits.
  const value = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(9)) : v)
  const dump = (db: Database.Database, table: string) => {
    const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name)
    return (db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[])
      .map((r) => cols.map((c) => `${c}=${value(r[c])}`).join(' '))
      .sort()
  }
  for (const table of tables) {
    const want = dump(whole, table)
    expect(want.length, table).toBeGreaterThan(0)
    expect(dump(batched, table), table).toEqual(want)
  }
  whole.close()
  batched.close()
})

test('captures (schema v8): written through the writer thread, once per request id, with their own retention', async () => {
  const file = tmpDb()
  const sink = await createSqliteSink({ file })
  const capture = (id: string, ts: number) => ({ request_id: id, ts, endpoint: '/v1/chat/completions', key_id: null, redaction: 'pii' as const, request: '{"body":{"messages":[]},"cut":false}', response: '{"status":200}' })
  await sink.captures.insert([capture('a', 1000), capture('b', 2000)])
  await sink.captures.insert([capture('a', 1000)]) // a retried batch that had landed
  const reader = openReaderDb(file)!
  expect(reader.prepare('SELECT request_id, ts FROM captures ORDER BY ts').all()).toEqual([{ request_id: 'a', ts: 1000 }, { request_id: 'b', ts: 2000 }])
  expect(await sink.captures.deleteBefore(1500)).toBe(1)
  expect(reader.prepare('SELECT request_id FROM captures').all()).toEqual([{ request_id: 'b' }])
  reader.close()
  await sink.close()
})

test('a version 7 database gets the captures table (version 8) and keeps its rows', () => {
  const file = tmpDb()
  openWriterDb(file).close()
  rmSync(file)
  const old = new Database(file)
  migrate(old, migrations.filter((m) => m.version <= 7))
  old.prepare(`INSERT INTO requests (id, ts, endpoint, stream, outcome, total_ms) VALUES ('r1', 1, '/v1/chat/completions', 0, 'success', 5)`).run()
  old.close()
  const db = openWriterDb(file)
  expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  expect(db.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 1 })
  expect(db.prepare('SELECT count(*) AS n FROM captures').get()).toEqual({ n: 0 })
  db.close()
})

test('a version 8 database with rows gets saturation rollups (version 9) filled from them, equal to what the writer would have written', () => {
  const file = tmpDb()
  openWriterDb(file).close()
  rmSync(file)
  const old = new Database(file)
  migrate(old, migrations.filter((m) => m.version <= 8))
  const rows = satRows(3000)
  const q = (c: string) => (c === 'user' ? '"user"' : c)
  const insert = old.prepare(`INSERT INTO requests (${ROW_COLUMNS.map(q).join(', ')}) VALUES (${ROW_COLUMNS.map((c) => '@' + c).join(', ')})`)
  for (const r of rows) insert.run({ ...r, stream: r.stream ? 1 : 0, tokens_estimated: r.tokens_estimated ? 1 : 0 })
  // Its other rollups exist already (only the saturation ones are new).
  old.prepare(`INSERT INTO rollup_day (bucket, model, stream, outcome, status_code, requests, ${['latency', 'ttft', 'tpot', 'tps', 'overhead'].map((m) => `${m}_n, ${m}_sum`).join(', ')}, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, with_usage, estimated, last_ts) VALUES (0, 'x', 0, 'success', 200, 1, ${Array(10).fill(0).join(', ')}, 0, 0, 0, 0, 0, 0, 0, 0)`).run()
  old.close()
  const db = openWriterDb(file)
  expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  const deltas = rollupDeltas(rows)
  for (const level of ['hour', 'day'] as const) {
    const want = deltas.find((d) => d.level === level)!.saturation
    const got = db.prepare(`SELECT * FROM saturation_${level} ORDER BY bucket, model, stream, key_id, endpoint, level`).all() as Record<string, unknown>[]
    const norm = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? Array.from(new Int32Array(Uint8Array.from(v).buffer)) : v]))
    const key = (r: Record<string, unknown>) => [r.bucket, r.model, r.stream, r.key_id, r.endpoint, r.level].join('|')
    const wantSorted = [...want].sort((a, b) => (a.bucket - b.bucket) || 0).map((r) => norm(r as never))
    expect(new Map(got.map((r) => [key(r), norm(r)]))).toEqual(new Map(wantSorted.map((r) => [key(r), r])))
    expect(got.reduce((n, r) => n + (r.requests as number), 0)).toBe(rows.filter((r) => r.outcome === 'success' && r.inflight !== null && r.inflight >= 1).length)
  }
  // The rows the writer adds from now on merge into the same rollups.
  createSqliteStore(db).insertBatch(satRows(100, 9))
  expect(db.prepare('SELECT sum(requests) AS n FROM saturation_day').get()).toEqual({ n: [...rows, ...satRows(100, 9)].filter((r) => r.outcome === 'success' && r.inflight !== null && r.inflight >= 1).length })
  db.close()
})
