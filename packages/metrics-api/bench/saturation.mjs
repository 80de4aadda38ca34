// node packages/metrics-api/bench/saturation.mjs [--rows 1000000] [--runs 5]
// GET /metrics/saturation over a SQLite database of synthetic rows spread over 30 days (seeded once
// into .bench/saturation-<rows>.db): time per window and the process's peak memory. The query reads
// raw rows (rollups do not keep inflight), so its cost grows with the rows in the window.
import { createSqliteStore, openWriterDb } from '@llm-proxy/storage'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildMetricsApi } from '../dist/app.js'
import { makeRowFactory } from './rows.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../../..')
const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } })
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

const api = buildMetricsApi({ config: { dbPath: dbFile, corsOrigins: [] }, now: () => end })
const windows = [['last hour', end - 3_600_000], ['last day', end - DAY], ['last 7 days', end - 7 * DAY], ['30 days (every row)', end - 30 * DAY]]
console.log(`GET /metrics/saturation on SQLite, ${ROWS.toLocaleString('en')} rows over 30 days, ${a.runs} runs each`)
console.log('window'.padEnd(24) + 'rows read'.padStart(11) + '  limited' + 'p50 ms'.padStart(10) + 'max ms'.padStart(10))
for (const [name, start] of windows) {
  const times = []
  let read = 0
  let limited = false
  for (let i = 0; i <= Number(a.runs); i++) {
    const t = performance.now()
    const res = await api.inject({ method: 'GET', url: `/metrics/saturation?start=${start}&end=${end}` })
    if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`)
    if (i > 0) times.push(performance.now() - t) // the first run warms the page cache
    const body = res.json()
    read = body.models.reduce((n, m) => n + m.requests, 0)
    limited = body.limited
  }
  times.sort((x, y) => x - y)
  console.log(name.padEnd(24) + read.toLocaleString('en').padStart(11) + String(limited).padStart(9) + times[Math.floor((times.length - 1) / 2)].toFixed(1).padStart(10) + times[times.length - 1].toFixed(1).padStart(10))
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
await api.close()
