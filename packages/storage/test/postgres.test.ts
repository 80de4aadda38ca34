import { LogHistogram, ROW_COLUMNS, mergeHistBlobs, rollupDeltas, type RequestRow } from '@llm-proxy/core'
import { afterEach, expect, test } from 'vitest'
import { createTestDatabase } from '../../../tests/support/postgres.js'
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, READ_SCHEMA_VERSION, connectPg, copySqliteToPg, createPgReader, createPgSink, createSqliteStore, insertBatchPg, migratePg, openWriterDb, pgSchemaVersion } from '../dist/index.js'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sampleRow } from './fixtures.js'
import { satRows } from './sat-rows.js'

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})
async function database() {
  const db = await createTestDatabase()
  cleanups.push(db.drop)
  return db.url
}

test('migrations run once when several processes start together (advisory lock)', async () => {
  const url = await database()
  const conns = Array.from({ length: 4 }, () => connectPg(url, { max: 1 }))
  cleanups.push(() => Promise.all(conns.map((c) => c.end())))
  expect(await pgSchemaVersion(conns[0])).toBeNull()
  const versions = await Promise.all(conns.map((c) => migratePg(c)))
  expect(versions).toEqual(Array(4).fill(PG_SCHEMA_VERSION))
  // Each version applied exactly once.
  const applied = await conns[0].unsafe<{ version: number; n: number }[]>('SELECT version, count(*) AS n FROM llm_proxy_schema GROUP BY version ORDER BY version')
  expect(applied.map((r) => r.n)).toEqual(applied.map(() => 1))
  expect(applied.at(-1)!.version).toBe(PG_SCHEMA_VERSION)
})

test('a connection that dies under a reserved session is an error to await, not a crash of the process (patched client)', async () => {
  // postgres@3.4.9 throws from a timer when a write is scheduled on a connection that closed
  // (porsager/postgres#1208); patches/postgres@3.4.9.patch guards it. In a child process, so an
  // unpatched client fails this test instead of ending the test runner.
  const url = await database()
  // The client's own close event, not a poll of the server: once the client has seen the close,
  // the next query takes the path that crashed, every time (a query sent before it saw the close
  // got ECONNRESET instead, which tested nothing).
  const client = pathToFileURL(createRequire(import.meta.url).resolve('postgres')).href
  const script = `
    const postgres = (await import(${JSON.stringify(client)})).default
    let closed
    const wasClosed = new Promise((r) => (closed = r))
    const sql = postgres(process.argv[1], { max: 1, onclose: () => closed() })
    const admin = postgres(process.argv[1], { max: 1 })
    const session = await sql.reserve()
    const [{ pid }] = await session\`SELECT pg_backend_pid() AS pid\`
    await admin\`SELECT pg_terminate_backend(\${pid})\`
    await wasClosed
    const outcome = await session\`SELECT 1\`.then(() => 'answered', (e) => e.code)
    // The unpatched client throws from a setImmediate queued with the write: let it run.
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setImmediate(r))
    console.log(JSON.stringify({ outcome }))
    await admin.end()
    process.exit(0)
  `
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, url], { encoding: 'utf8', timeout: 20_000 })
  expect(child.status, child.stderr).toBe(0)
  expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toEqual({ outcome: 'CONNECTION_CLOSED' })
})

test('the reader needs the version the metrics API reads, not the latest: a database the proxies have not migrated further still answers', async () => {
  const url = await database()
  const sql = connectPg(url)
  cleanups.push(() => sql.end())
  await migratePg(sql)
  await createPgSink(url).then(async (sink) => {
    await sink.insertBatch([sampleRow()])
    await sink.close()
  })
  // As a database written by proxies of an earlier release looks (the versions after it change only how writers write).
  expect(PG_SCHEMA_VERSION).toBeGreaterThan(READ_SCHEMA_VERSION)
  await sql.unsafe('DELETE FROM llm_proxy_schema WHERE version > $1', [READ_SCHEMA_VERSION])
  const reader = createPgReader(url)
  cleanups.push(() => reader.close())
  expect(await reader.read(async (s) => (await s!.all<{ n: number }>('SELECT count(*)::int AS n FROM requests'))[0].n)).toBe(1)
  // One version short of it: not read yet (empty answers), as before the first proxy has migrated.
  await sql.unsafe('DELETE FROM llm_proxy_schema WHERE version >= $1', [READ_SCHEMA_VERSION])
  const early = createPgReader(url)
  cleanups.push(() => early.close())
  expect(await early.read(async (s) => s)).toBeNull()
})

test('hist_merge in PostgreSQL equals the merge the readers do', async () => {
  const url = await database()
  const sql = connectPg(url)
  cleanups.push(() => sql.end())
  await migratePg(sql)
  const a = new LogHistogram()
  const b = new LogHistogram()
  for (const v of [0, 1, 5, 5, 120, 3000]) a.add(v)
  for (const v of [2, 5, 119, 1e7, 0.0001]) b.add(v)
  const ints = (b: Buffer) => Array.from(new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4))
  const arr = (h: LogHistogram) => `{${ints(h.toBlob()).join(',')}}`
  // int4[] arrives as the int32-pair buffer the readers merge.
  const [row] = await sql.unsafe<{ m: Buffer }[]>('SELECT hist_merge($1::int4[], $2::int4[]) AS m', [arr(a), arr(b)])
  expect(ints(row.m)).toEqual(ints(mergeHistBlobs(a.toBlob(), b.toBlob())!))
  const [nulls] = await sql.unsafe<{ m: Buffer }[]>('SELECT hist_merge(NULL, $1::int4[]) AS m', [arr(a)])
  expect(ints(nulls.m)).toEqual(ints(a.toBlob()))

  // Pairs of every shape (empty, equal, disjoint, nested, a few hundred buckets), from a fixed seed.
  let seed = 7
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const histogram = (n: number, scale: number) => {
    const h = new LogHistogram()
    for (let i = 0; i < n; i++) h.add(random() < 0.05 ? 0 : random() ** 3 * scale)
    return h
  }
  const pairs: [LogHistogram, LogHistogram][] = [[a, a], [b, a], [new LogHistogram(), b], [b, new LogHistogram()]]
  for (let i = 0; i < 40; i++) pairs.push([histogram(Math.floor(random() * 3000), 10 ** (1 + random() * 6)), histogram(Math.floor(random() * 300), 10 ** (random() * 7))])
  // Either argument may be the longer one (a batch's short histogram comes second in the writers' upserts).
  for (const [x, y] of pairs.slice(4, 24)) pairs.push([y, x])
  const merged = await sql.unsafe<{ m: Buffer | null }[]>(
    'SELECT hist_merge(x, y) AS m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS p(xs, ys, n), LATERAL (SELECT xs::int4[] AS x, ys::int4[] AS y) v ORDER BY n',
    [pairs.map(([x]) => arr(x)), pairs.map(([, y]) => arr(y))],
  )
  expect(merged.map((r) => (r.m ? ints(r.m) : []))).toEqual(pairs.map(([x, y]) => ints(mergeHistBlobs(x.toBlob(), y.toBlob()) ?? Buffer.alloc(0))))
  expect(Math.max(...merged.map((r) => (r.m ? r.m.length / 8 : 0)))).toBeGreaterThan(200)
})

test('concurrent writers on the same buckets never lose a count; a retried batch is not stored twice', async () => {
  const url = await database()
  const sinks = await Promise.all([createPgSink(url), createPgSink(url), createPgSink(url)])
  cleanups.push(() => Promise.all(sinks.map((s) => s.close())))
  const T = Date.UTC(2026, 0, 10, 12)
  const batches: RequestRow[][] = Array.from({ length: 30 }, (_, b) =>
    Array.from({ length: 40 }, (_, i) => sampleRow({ ts: T + ((b * 40 + i) % 7) * 1000, model: ['a', 'b'][i % 2], total_ms: 1 + i, user: i % 3 ? 'u' : null, inflight: 1 + (i % 9) })),
  )
  await Promise.all(batches.map((batch, i) => sinks[i % 3].insertBatch(batch)))
  await sinks[0].insertBatch(batches[0]) // as after a commit whose acknowledgement was lost
  // Rows already stored beside one that is not: only the new one is stored and counted.
  const fresh = sampleRow({ ts: T, model: 'a', total_ms: 5, user: 'u', inflight: 4 })
  await sinks[1].insertBatch([...batches[1].slice(0, 3), fresh])
  const all = [...batches.flat(), fresh]
  const reader = createPgReader(url)
  cleanups.push(() => reader.close())
  const [raw, rolled, users] = await reader.read(async (s) => [
    (await s!.all<{ n: number; ms: number }>('SELECT count(*) AS n, sum(total_ms) AS ms FROM requests'))[0],
    (await s!.all<{ n: number; ms: number }>('SELECT sum(requests) AS n, sum(latency_sum) AS ms FROM rollup_minute'))[0],
    (await s!.all<{ n: number }>('SELECT sum(requests) AS n FROM users_hour'))[0],
  ])
  expect(raw.n).toBe(1201)
  expect(rolled).toEqual(raw)
  expect(users.n).toBe(all.filter((r) => r.user).length)
  const hist = new LogHistogram()
  for (const r of (await reader.read((s) => s!.all<{ latency_hist: Buffer }>('SELECT latency_hist FROM rollup_day')))) hist.mergeBlob(r.latency_hist)
  expect(hist.total).toBe(1201)
  // Saturation rollups: the same requests, per level group, whatever writer added them.
  const [sat] = await reader.read((s) => s!.all<{ n: number; ms: number; inflight: number }>('SELECT sum(requests) AS n, sum(latency_sum) AS ms, sum(inflight_sum) AS inflight FROM saturation_hour'))
  expect(sat).toEqual({ ...raw, inflight: all.reduce((n, r) => n + r.inflight!, 0) })
  const satHist = new LogHistogram()
  for (const r of (await reader.read((s) => s!.all<{ latency_hist: Buffer }>('SELECT latency_hist FROM saturation_day')))) satHist.mergeBlob(r.latency_hist)
  expect(satHist.total).toBe(1201)
})

test('a batch PostgreSQL refuses is an error to await, and the connection writes the next one (patched client)', async () => {
  // The rows go by COPY; postgres@3.4.9 never settled a COPY the server refused after its end, and
  // the transaction around it never ended (porsager/postgres#1173): patches/postgres@3.4.9.patch.
  const url = await database()
  const sql = connectPg(url, { max: 1 })
  cleanups.push(() => sql.end())
  await migratePg(sql)
  const bad = { ...sampleRow({ ts: Date.UTC(2026, 0, 10) }), outcome: null } as unknown as RequestRow
  await expect(insertBatchPg(sql, [sampleRow({ ts: Date.UTC(2026, 0, 10) }), bad])).rejects.toMatchObject({ code: '23502' })
  await insertBatchPg(sql, [sampleRow({ ts: Date.UTC(2026, 0, 10) })])
  const [{ n, open }] = await sql.unsafe<{ n: number; open: number }[]>(`SELECT (SELECT count(*)::int FROM requests) AS n, (SELECT count(*)::int FROM pg_stat_activity WHERE state LIKE 'idle in transaction%') AS open`)
  expect({ n, open }).toEqual({ n: 1, open: 0 })
})

test('every column of a row comes back as written; text PostgreSQL cannot hold (NUL, lone surrogates) is mended, not a failed batch', async () => {
  const url = await database()
  const sink = await createPgSink(url)
  cleanups.push(() => sink.close())
  const exact = sampleRow({
    model: 'llama "3.2" \\ 1b, {x}', user: 'Zoë 🦙\n\ttab', error_message: 'quote " backslash \\ comma, brace } ',
    total_ms: 0.1 + 0.2, ttft_ms: 1e-9, output_tps: 123456.789, cost_usd: 1.5e-7, response_bytes: 2 ** 40, stream: false, tokens_estimated: true,
    overhead_ms: 0.097, inflight: 31, key_id: 'key_ab', cached_tokens: 0,
  })
  const mended = sampleRow({ model: 'nul\u0000in', user: 'lone \ud83e and \udd99 end', user_agent: 'pair 🦙 kept' })
  await sink.insertBatch([exact, mended])
  const reader = createPgReader(url)
  cleanups.push(() => reader.close())
  const rows = await reader.read((s) => s!.all<Record<string, unknown>>(`SELECT ${ROW_COLUMNS.map((c) => (c === 'user' ? '"user"' : c)).join(', ')} FROM requests ORDER BY seq`))
  const asStored = (r: RequestRow) => ({ ...r, stream: r.stream ? 1 : 0, tokens_estimated: r.tokens_estimated ? 1 : 0 })
  expect(rows[0]).toEqual(asStored(exact))
  expect(rows[1]).toEqual(asStored({ ...mended, model: 'nulin', user: 'lone \ufffd and \ufffd end' }))
  // The rollups are keyed by the stored (mended) model.
  const models = await reader.read((s) => s!.all<{ model: string }>('SELECT DISTINCT model FROM rollup_minute ORDER BY model'))
  expect(models.map((m) => m.model).sort()).toEqual([exact.model, 'nulin'].sort())
})

test('a version 8 database with rows gets saturation rollups (version 9) filled in SQL, equal to what the writer would have written', async () => {
  const url = await database()
  const sql = connectPg(url, { max: 1 })
  cleanups.push(() => sql.end())
  await sql.unsafe('CREATE TABLE llm_proxy_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
  for (const m of PG_MIGRATIONS.filter((m) => m.version <= 8)) {
    await sql.unsafe(m.sql)
    await sql.unsafe('INSERT INTO llm_proxy_schema (version) VALUES ($1)', [m.version])
  }
  const rows = satRows(3000, 4)
  const q = (c: string) => (c === 'user' ? '"user"' : c)
  for (let i = 0; i < rows.length; i += 500) {
    const values: unknown[] = []
    const tuples = rows.slice(i, i + 500).map((r) => `(${ROW_COLUMNS.map((c) => `$${values.push(typeof r[c] === 'boolean' ? (r[c] ? 1 : 0) : r[c] ?? null)}`).join(', ')})`)
    await sql.unsafe(`INSERT INTO requests (${ROW_COLUMNS.map(q).join(', ')}) VALUES ${tuples.join(', ')}`, values as never[])
  }
  expect(await migratePg(sql)).toBe(PG_SCHEMA_VERSION)
  const deltas = rollupDeltas(rows)
  const ints = (v: unknown) => (v === null ? null : Array.from(v as number[]))
  for (const level of ['hour', 'day'] as const) {
    const want = deltas.find((d) => d.level === level)!.saturation
    const got = await sql.unsafe<Record<string, unknown>[]>(`SELECT * FROM saturation_${level}`)
    const key = (r: Record<string, unknown>) => [r.bucket, r.model, r.stream, r.key_id, r.endpoint, r.level].join('|')
    const norm = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k,
      k.endsWith('_hist') ? (v instanceof Uint8Array ? Array.from(new Int32Array(Uint8Array.from(v).buffer)) : ints(v))
        : k.endsWith('_sum') || k === 'token_ms' ? Math.round(Number(v) * 1e6) / 1e6 : typeof v === 'string' && /^\d+$/.test(v) && k !== 'model' ? Number(v) : v]))
    expect(new Map(got.map((r) => [key(r), norm(r)]))).toEqual(new Map(want.map((r) => [key(r as never), norm(r as never)])))
  }
})

test('the migration command moves a SQLite file, rollups that outlived their rows included', async () => {
  const url = await database()
  const dir = mkdtempSync(join(tmpdir(), 'storage-copy-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'metrics.db')
  const db = openWriterDb(file)
  const store = createSqliteStore(db)
  const T = Date.UTC(2026, 0, 10, 12)
  store.insertBatch(Array.from({ length: 300 }, (_, i) => sampleRow({ ts: T - 40 * 86_400_000 + i * 1000, user: i % 2 ? 'x' : null, inflight: 3 })))
  store.insertBatch(Array.from({ length: 200 }, (_, i) => sampleRow({ ts: T + i * 1000, inflight: 3, outcome: i % 10 ? 'success' : 'backend_error', error_type: i % 10 ? null : 'boom', status_code: i % 10 ? 200 : 500 })))
  store.deleteBefore(T - 30 * 86_400_000)
  // A capture with everything COPY's text format must escape (tabs, newlines, backslashes in JSON).
  db.prepare(`INSERT INTO captures (request_id, ts, endpoint, key_id, redaction, request, response) VALUES ('c1', ${T}, '/v1/chat/completions', NULL, 'pii', @request, '{}')`).run({ request: JSON.stringify({ body: 'a\tb\nc\\d "q"', cut: false }) })
  db.close()
  const sql = connectPg(url, { max: 1 })
  cleanups.push(() => sql.end())
  expect(await copySqliteToPg(file, sql)).toEqual({ requests: 200, rollups: expect.any(Number), captures: 1 })
  expect(JSON.parse((await sql.unsafe<{ request: string }[]>('SELECT request FROM captures'))[0].request)).toEqual({ body: 'a\tb\nc\\d "q"', cut: false })
  expect(await sql.unsafe('SELECT count(*) AS n FROM requests')).toEqual([{ n: 200 }])
  expect(await sql.unsafe('SELECT sum(requests) AS n FROM rollup_day')).toEqual([{ n: 500 }])
  expect(await sql.unsafe('SELECT sum(count) AS n FROM errors_hour')).toEqual([{ n: 20 }])
  // Saturation rollups come along, those whose rows retention removed included.
  expect(await sql.unsafe('SELECT sum(requests) AS n, sum(inflight_sum) AS f FROM saturation_day')).toEqual([{ n: 480, f: 480 * 3 }])
  await expect(copySqliteToPg(file, sql)).rejects.toThrow(/already has data/)
})

test('captures: stored once per request id, read back through the reader, deleted by their own retention', async () => {
  const url = await database()
  const sink = await createPgSink(url)
  cleanups.push(() => sink.close())
  const capture = (id: string, ts: number) => ({ request_id: id, ts, endpoint: '/v1/chat/completions', key_id: null, redaction: 'pii' as const, request: '{"body":{"messages":[]},"cut":false}', response: '{"status":200}' })
  await sink.captures.insert([capture('a', 1000), capture('b', 2000)])
  await sink.captures.insert([capture('a', 1000)]) // a retried batch that had landed
  const reader = createPgReader(url)
  cleanups.push(() => reader.close())
  const get = (id: string) => reader.read((s) => s!.all<{ request_id: string; ts: number }>('SELECT request_id, ts FROM captures WHERE request_id = @id', { id }))
  expect(await get('a')).toEqual([{ request_id: 'a', ts: 1000 }])
  expect(await sink.captures.deleteBefore(1500)).toBe(1)
  expect(await get('a')).toEqual([])
  expect(await get('b')).toHaveLength(1)
})
