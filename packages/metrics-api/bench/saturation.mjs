// node packages/metrics-api/bench/saturation.mjs [--rows 1000000] [--runs 5] [--pg postgres://…]
// GET /metrics/saturation over a SQLite database of synthetic rows spread over 30 days (seeded once
// into .bench/saturation-<rows>.db): time per window and the process's peak memory. Whole hours and
// days come from the saturation rollups, the edges from raw rows. A file from before schema v9 is
// migrated first (its saturation rollups backfilled: the time is printed). With --pg, the file is
// also copied into that (empty) PostgreSQL database and the same windows are timed there.
import { connectPg, copySqliteToPg, createSqliteStore, openWriterDb } from '@llm-proxy/storage'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildMetricsApi } from '../dist/app.js'
import { makeRowFactory } from './rows.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../../..')
const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' }, pg: { type: 'string' } } })
const ROWS = Number(a.rows)
const DAY = 86_400_000
const dbFile = join(root, '.bench', `saturation-${ROWS}.db`)
const end = Date.UTC(2026, 0, 31)

if (!existsSync(dbFile)) {
  mkdirSync(dirname(dbFile), { recursive: true })
  const tmp = dbFile + '.partial'
  rmSync(tmp, { force: true })
  const db = openWriterDb(tmp)
  db.pragma('synchronous = OFF')
  const store = createSqliteStore(db)
  const make = makeRowFactory(1)
  const start = end - 30 * DAY
  const step = (end - start) / ROWS
  const t0 = Date.now()
  for (let i = 0; i < ROWS; i += 5000) {
    const rows = []
    for (let j = i; j < Math.min(ROWS, i + 5000); j++) rows.push(make(Math.floor(start + j * step)))
    store.insertBatch(rows)
  }
  db.close()
  renameSync(tmp, dbFile)
  for (const ext of ['-wal', '-shm']) rmSync(tmp + ext, { force: true })
  console.log(`seeded ${ROWS} rows over 30 days in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${dbFile}`)
}

{
  // A seeded file from an older schema: migrated (and backfilled) once.
  const t0 = Date.now()
  openWriterDb(dbFile).close()
  const ms = Date.now() - t0
  if (ms > 1000) console.log(`migrated ${dbFile} to the current schema in ${(ms / 1000).toFixed(1)} s`)
}
if (a.pg) {
  const sql = connectPg(a.pg, { max: 1 })
  const [has] = await sql.unsafe("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'rollup_day'")
  const [rows] = has.n ? await sql.unsafe('SELECT count(*)::int AS n FROM rollup_day') : [{ n: 0 }]
  if (rows.n === 0) {
    const t0 = Date.now()
    await copySqliteToPg(dbFile, sql)
    await sql.unsafe('ANALYZE')
    console.log(`copied into PostgreSQL in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  }
  await sql.end()
}

const windows = [['last hour', end - 3_600_000], ['last day', end - DAY], ['last 7 days', end - 7 * DAY], ['30 days (every row)', end - 30 * DAY]]
for (const engine of a.pg ? ['SQLite', 'PostgreSQL'] : ['SQLite']) {
  const api = buildMetricsApi({ config: { dbPath: dbFile, databaseUrl: engine === 'PostgreSQL' ? a.pg : undefined, corsOrigins: [] }, now: () => end })
  console.log(`GET /metrics/saturation on ${engine}, ${ROWS.toLocaleString('en')} rows over 30 days, ${a.runs} runs each`)
  console.log('window'.padEnd(24) + 'requests'.padStart(11) + 'p50 ms'.padStart(10) + 'max ms'.padStart(10))
  for (const [name, start] of windows) {
    const times = []
    let read = 0
    for (let i = 0; i <= Number(a.runs); i++) {
      const t = performance.now()
      const res = await api.inject({ method: 'GET', url: `/metrics/saturation?start=${start}&end=${end}` })
      if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`)
      if (i > 0) times.push(performance.now() - t) // the first run warms the page cache
      read = res.json().models.reduce((n, m) => n + m.requests, 0)
    }
    times.sort((x, y) => x - y)
    console.log(name.padEnd(24) + read.toLocaleString('en').padStart(11) + times[Math.floor((times.length - 1) / 2)].toFixed(1).padStart(10) + times[times.length - 1].toFixed(1).padStart(10))
  }
  await api.close()
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
