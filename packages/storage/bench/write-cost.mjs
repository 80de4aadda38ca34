// node packages/storage/bench/write-cost.mjs [--rows 100000] [--batch 200] [--pg postgres://…] [--no-saturation]
// The store's write cost per row (rows, rollups and saturation rollups in one transaction per batch),
// on SQLite (a temp file, as the proxy's writer thread opens it) and, with --pg, on PostgreSQL (an
// empty database). --no-saturation leaves the saturation rollups out (the cost before schema v9).
import { SAT_LEVELS } from '@llm-proxy/core'
import { connectPg, createSqliteStore, insertBatchPg, migratePg, openWriterDb } from '@llm-proxy/storage'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { makeRowFactory } from '../../metrics-api/bench/rows.mjs'

const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, batch: { type: 'string', default: '200' }, pg: { type: 'string' }, 'no-saturation': { type: 'boolean', default: false } } })
if (a['no-saturation']) SAT_LEVELS.length = 0
const ROWS = Number(a.rows)
const BATCH = Number(a.batch)
const make = makeRowFactory(7)
const start = Date.UTC(2026, 0, 1)
const batches = []
for (let i = 0; i < ROWS; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, ROWS - i) }, (_, j) => make(start + (i + j) * 2_000)))
const label = a['no-saturation'] ? 'without saturation rollups' : 'with saturation rollups'

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
  const t = performance.now()
  for (const b of batches) await insertBatchPg(sql, b)
  console.log(`PostgreSQL ${label}: ${((performance.now() - t) * 1000 / ROWS).toFixed(1)} µs/row (${ROWS} rows, batches of ${BATCH})`)
  await sql.end()
}
