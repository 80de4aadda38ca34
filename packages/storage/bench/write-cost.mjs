// node packages/storage/bench/write-cost.mjs [--rows 100000] [--batch 200] [--pg postgres://…] [--no-saturation] [--ids v7|v4] [--proxy-like]
// The store's write cost per row (rows, rollups and saturation rollups in one transaction per batch),
// on SQLite (a temp file, as the proxy's writer thread opens it) and, with --pg, on PostgreSQL (an
// empty database). --no-saturation leaves the saturation rollups out (the cost before schema v9).
// --ids: the proxy's time-ordered request ids (v7, the default) or random UUIDs (v4, before).
// --proxy-like: rows 0.2 ms apart, one model (a busy proxy's batch: one minute, few rollup keys);
// by default rows are 2 s apart over many models and outcomes (a seed or a copy: many keys per batch).
// With a PostgreSQL server on this machine it also gives that server's CPU per row (its backend for
// this connection, from /proc): what the writer's statements cost the server, beside the client's time.
import { SAT_LEVELS } from '@llm-proxy/core'
import { connectPg, createSqliteStore, insertBatchPg, migratePg, openWriterDb } from '@llm-proxy/storage'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { makeRowFactory } from '../../metrics-api/bench/rows.mjs'

const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, batch: { type: 'string', default: '200' }, pg: { type: 'string' }, 'no-saturation': { type: 'boolean', default: false }, ids: { type: 'string', default: 'v7' }, 'proxy-like': { type: 'boolean', default: false } } })
if (a['no-saturation']) SAT_LEVELS.length = 0
const ROWS = Number(a.rows)
const BATCH = Number(a.batch)
const make = makeRowFactory(7)
const start = Date.UTC(2026, 0, 1)
const batches = []
const v7 = (ts) => { const t = ts.toString(16).padStart(12, '0'); return `${t.slice(0, 8)}-${t.slice(8)}-7${randomUUID().slice(15)}` }
const idOf = a.ids === 'v4' ? () => randomUUID() : v7
const spacing = a['proxy-like'] ? 0.2 : 2_000
const rowAt = (n) => {
  const ts = Math.floor(start + n * spacing)
  const row = { ...make(ts), id: idOf(ts) }
  return a['proxy-like'] ? { ...row, model: 'llama3.1:8b', model_requested: 'llama3.1:8b' } : row
}
for (let i = 0; i < ROWS; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, ROWS - i) }, (_, j) => rowAt(i + j)))
const label = `${a['no-saturation'] ? 'without' : 'with'} saturation rollups, ${a.ids} ids${a['proxy-like'] ? ', proxy-like batches' : ''}`

const dir = mkdtempSync(join(tmpdir(), 'write-cost-'))
try {
  const db = openWriterDb(join(dir, 'metrics.db'))
  const store = createSqliteStore(db)
  const t = performance.now()
  for (const b of batches) store.insertBatch(b)
  console.log(`SQLite ${label}: ${((performance.now() - t) * 1000 / ROWS).toFixed(1)} µs/row (${ROWS} rows, batches of ${BATCH})`)
  db.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (a.pg) {
  const sql = connectPg(a.pg, { max: 1 })
  await migratePg(sql)
  await sql.unsafe('TRUNCATE requests, rollup_minute, rollup_hour, rollup_halfday, rollup_day, users_hour, users_day, errors_minute, errors_hour, errors_halfday, errors_day, saturation_hour, saturation_day')
  const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`
  const serverNs = () => (existsSync(`/proc/${pid}/schedstat`) ? Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) : NaN)
  const s0 = serverNs()
  const t = performance.now()
  for (const b of batches) await insertBatchPg(sql, b)
  const server = (serverNs() - s0) / 1000 / ROWS
  console.log(`PostgreSQL ${label}: ${((performance.now() - t) * 1000 / ROWS).toFixed(1)} µs/row (${ROWS} rows, batches of ${BATCH})${Number.isNaN(server) ? '' : `, the server's CPU ${server.toFixed(1)} µs/row`}`)
  await sql.end()
}
