// pnpm bench:metrics — the metrics API at scale: seeds 10 million rows over 30 days (once, reused
// from .bench/), then measures p50/p95 of the main queries while a writer ingests 5,000 rows/s.
// `-- --postgres`: the same rows copied into a throwaway PostgreSQL cluster, and two writers;
// `-- --pg-url URL`: an existing database instead, the rows copied in only when it is empty (to
// measure again without copying 10 million rows each time).
import { connectPg, copySqliteToPg, createSqliteStore as createRequestStore, openWriterDb } from '@llm-proxy/storage'
import { startCluster, stopCluster } from '../../../scripts/pg-cluster.mjs'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { makeRowFactory } from './rows.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../../..')
const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '10000000' }, runs: { type: 'string', default: '30' }, rate: { type: 'string', default: '5000' }, postgres: { type: 'boolean', default: false }, 'pg-url': { type: 'string' } } })
const ROWS = Number(a.rows)
const DAY = 86_400_000
const dbFile = join(root, '.bench', `metrics-${ROWS}.db`)

if (!existsSync(dbFile)) {
  mkdirSync(dirname(dbFile), { recursive: true })
  const tmp = dbFile + '.partial'
  rmSync(tmp, { force: true })
  const db = openWriterDb(tmp)
  db.pragma('synchronous = OFF')
  const store = createRequestStore(db)
  const make = makeRowFactory(1)
  const end = Date.now()
  const start = end - 30 * DAY
  const step = (end - start) / ROWS
  const t0 = Date.now()
  const BATCH = 5000
  for (let i = 0; i < ROWS; i += BATCH) {
    const rows = []
    for (let j = i; j < Math.min(ROWS, i + BATCH); j++) rows.push(make(Math.floor(start + j * step)))
    store.insertBatch(rows)
    if ((i / BATCH) % 200 === 0) process.stdout.write(`\rseeding ${((i / ROWS) * 100).toFixed(0)}% (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
  }
  db.close()
  renameSync(tmp, dbFile)
  for (const ext of ['-wal', '-shm']) rmSync(tmp + ext, { force: true })
  console.log(`\rseeded ${ROWS} rows over 30 days in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${dbFile}`)
}

let cluster = null
if (a['pg-url']) cluster = { url: a['pg-url'] }
else if (a.postgres) {
  cluster = await startCluster()
  process.on('exit', () => stopCluster(cluster.dir, 'immediate'))
}
if (cluster) {
  const sql = connectPg(cluster.url, { max: 1 })
  const [has] = await sql.unsafe("SELECT to_regclass('rollup_day') IS NOT NULL AND EXISTS (SELECT 1 FROM rollup_day) AS filled").catch(() => [{ filled: false }])
  if (has?.filled) console.log('PostgreSQL database already filled: measuring it as it is')
  else {
    const t0 = Date.now()
    const report = await copySqliteToPg(dbFile, sql, (m) => process.stdout.write(`\rcopying into PostgreSQL: ${m}   `))
    await sql.unsafe('VACUUM ANALYZE')
    console.log(`\rcopied ${report.requests} rows and ${report.rollups} rollup rows into PostgreSQL in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  }
  await sql.end()
}

const port = await new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)) }) })
const api = spawn(process.execPath, [join(root, 'packages/metrics-api/dist/server.js')], { env: { ...process.env, METRICS_PORT: String(port), DB_PATH: dbFile, ...(cluster ? { DATABASE_URL: cluster.url } : {}), LOG_LEVEL: 'warn' }, stdio: 'inherit' })
const base = `http://127.0.0.1:${port}`
for (let i = 0; ; i++) {
  try { await fetch(`${base}/health`); break } catch { if (i > 200) throw new Error('metrics API did not start'); await new Promise((r) => setTimeout(r, 50)) }
}
// SQLite has one writer; PostgreSQL gets two (as two proxies), splitting the rate.
const writers = (cluster ? [1, 2] : [1]).map((n, _, all) => {
  const w = spawn(process.execPath, [join(here, 'writer.mjs'), cluster ? cluster.url : dbFile, String(Number(a.rate) / all.length), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] })
  w.out = ''
  w.stdout.on('data', (c) => (w.out += c))
  return w
})

// Each run asks for its window as of that moment (`now` moves), as a dashboard polling the last 30
// days does: the edges of the window move, only history that did not change can be reused.
const queries = [
  ['GET /metrics, 30 days', (now) => `/metrics?start=${now - 30 * DAY}`],
  ['GET /metrics, last hour', (now) => `/metrics?start=${now - 3_600_000}`],
  ['GET /metrics/timeseries, 30 days (auto)', (now) => `/metrics/timeseries?start=${now - 30 * DAY}`],
  ['GET /metrics/timeseries, last hour (auto)', (now) => `/metrics/timeseries?start=${now - 3_600_000}`],
  ['GET /metrics/requests, first page (50)', (now) => '/metrics/requests?limit=50'],
  ['GET /metrics, 30 days, model filter', (now) => `/metrics?start=${now - 30 * DAY}&model=llama3.1:8b`],
  ['GET /metrics/prometheus', (now) => '/metrics/prometheus'],
  // Saturation rollups per hour and per day, raw rows at the window's ragged edges.
  ['GET /metrics/saturation, last hour', (now) => `/metrics/saturation?start=${now - 3_600_000}`],
  ['GET /metrics/saturation, 30 days', (now) => `/metrics/saturation?start=${now - 30 * DAY}`],
]
const pct = (arr, p) => { const s = [...arr].sort((x, y) => x - y); return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] }
const results = []
for (const [name, path] of queries) {
  const times = []
  // The first request reads everything (nothing reused yet): reported apart from the p50/p95.
  const t0 = performance.now()
  await (await fetch(base + path(Date.now()))).arrayBuffer()
  const first = performance.now() - t0
  for (let i = 0; i < Number(a.runs); i++) {
    const t = performance.now()
    const res = await fetch(base + path(Date.now()))
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`${name} → ${res.status}`)
    times.push(performance.now() - t)
  }
  results.push([name, pct(times, 50), pct(times, 95), first])
}
await Promise.all(writers.map((w) => (w.kill('SIGTERM'), new Promise((r) => w.once('exit', r)))))
api.kill('SIGTERM')
const parts = writers.map((w) => JSON.parse(w.out))
const ingest = { written: parts.reduce((n, p) => n + p.written, 0), seconds: Math.max(...parts.map((p) => p.seconds)) }
ingest.rate = ingest.written / ingest.seconds
console.log(`\nmetrics API on ${cluster ? 'PostgreSQL' : 'SQLite'} at ${ROWS.toLocaleString('en')} rows over 30 days, ${a.runs} runs each, while ingesting (target ${a.rate} rows/s from ${writers.length} writer${writers.length > 1 ? 's' : ''})`)
console.log('query'.padEnd(44) + 'p50 ms'.padStart(9) + 'p95 ms'.padStart(9) + 'first ms'.padStart(10))
for (const [name, p50, p95, first] of results) console.log(name.padEnd(44) + p50.toFixed(1).padStart(9) + p95.toFixed(1).padStart(9) + first.toFixed(1).padStart(10) + (p95 <= 150 ? '' : '   over 150 ms'))
console.log('(first: the first request after the API started, before any history was reused)')
console.log(`ingest during the queries: ${ingest.rate.toFixed(0)} rows/s (${ingest.written} rows in ${ingest.seconds.toFixed(1)} s)`)
