#!/usr/bin/env node
// Moves an existing SQLite database into PostgreSQL, so moving to several proxies loses no history.
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { copySqliteToPg } from '../copy.js'
import { connect } from '../pg/connect.js'

const usage = `Usage: llm-proxy-migrate --from ./data/metrics.db --to postgres://user:pass@host:5432/db

Copies every row and every rollup of a SQLite database into an empty PostgreSQL database
(the schema is created if needed). DATABASE_URL is used when --to is not given; DB_PATH when
--from is not given. Stop the proxies that write the SQLite file first.`

let args
try {
  args = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values
} catch (err) {
  console.error(`${(err as Error).message}\n\n${usage}`)
  process.exit(2)
}
if (args.help) {
  console.log(usage)
  process.exit(0)
}
const from = args.from ?? process.env.DB_PATH
const to = args.to ?? process.env.DATABASE_URL
if (!from || !to) {
  console.error(`${!from ? '--from (or DB_PATH)' : '--to (or DATABASE_URL)'} is required.\n\n${usage}`)
  process.exit(2)
}
if (!existsSync(from)) {
  console.error(`no SQLite database at ${from}`)
  process.exit(2)
}
const sql = connect(to, { max: 1, application: 'llm-proxy-migrate' })
try {
  const started = Date.now()
  const report = await copySqliteToPg(from, sql, (m) => console.log(`  ${m}`))
  console.log(`copied ${report.requests} rows, ${report.rollups} rollup rows and ${report.captures} captures in ${((Date.now() - started) / 1000).toFixed(1)} s`)
} catch (err) {
  console.error(`migration failed: ${(err as Error).message}`)
  process.exitCode = 1
} finally {
  await sql.end({ timeout: 5 })
}
