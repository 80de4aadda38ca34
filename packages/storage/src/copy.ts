import { LEVELS, ROLLUP_COLUMNS, ROW_COLUMNS, SAT_COLUMNS, SAT_LEVELS, USER_LEVELS } from '@llm-proxy/core/shapes'
import Database from 'better-sqlite3'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CAPTURE_COLUMNS } from './capture-sql.js'
import { type Sql } from './pg/connect.js'
import { copyLineOf } from './pg/copy-text.js'
import { migratePg } from './pg/migrations.js'
import { LATEST_SCHEMA_VERSION, migrate } from './sqlite/migrations.js'
import { quoted } from './sql-names.js'


/** Rows as COPY text, a few hundred lines a chunk. */
function* copyLines(rows: Iterable<Record<string, unknown>>, columns: readonly string[], count: (n: number) => void): Generator<string> {
  const lineOf = copyLineOf(columns)
  let chunk = ''
  let n = 0
  for (const r of rows) {
    chunk += lineOf(r)
    if (++n % 500 === 0) {
      count(n)
      yield chunk
      chunk = ''
    }
  }
  count(n)
  if (chunk) yield chunk
}

export interface CopyReport {
  requests: number
  rollups: number
  captures: number
}

/**
 * Moves a SQLite database into PostgreSQL: raw rows as they are (a row already there is skipped)
 * and the rollups as they are (they hold history that retention removed from the raw rows). Refuses
 * a target that already has rollups, since adding them twice would double every count.
 */
export async function copySqliteToPg(file: string, sql: Sql, progress: (msg: string) => void = () => {}): Promise<CopyReport> {
  const src = new Database(file, { fileMustExist: true })
  try {
    // An older file is brought to the current schema first (the proxy would do the same).
    if ((src.pragma('user_version', { simple: true }) as number) < LATEST_SCHEMA_VERSION) migrate(src)
    await migratePg(sql)
    const [has] = await sql.unsafe<{ n: number }[]>('SELECT count(*) AS n FROM (SELECT 1 FROM rollup_day LIMIT 1) x')
    if (has.n > 0) throw new Error('the PostgreSQL database already has data; copy into an empty database (rollups would be counted twice)')

    const report: CopyReport = { requests: 0, rollups: 0, captures: 0 }
    // COPY (PostgreSQL's bulk load) into the empty tables, one transaction for everything.
    await sql.begin(async (tx) => {
      const copy = async (table: string, columns: readonly string[], rows: Iterable<Record<string, unknown>>, count: (n: number) => void) => {
        const writable = await (tx as unknown as Sql).unsafe(`COPY ${table} (${columns.map(quoted).join(', ')}) FROM STDIN`).writable()
        await pipeline(Readable.from(copyLines(rows, columns, count)), writable)
      }
      const rows = src.prepare(`SELECT ${ROW_COLUMNS.map(quoted).join(', ')} FROM requests ORDER BY seq`).iterate() as Iterable<Record<string, unknown>>
      await copy('requests', ROW_COLUMNS, rows, (n) => {
        report.requests = n
        if (n % 100_000 === 0) progress(`${n} rows`)
      })
      // Keys before anything that names them; their counters are live state, not history.
      const keyCols = ['id', 'name', 'owner', 'hash', 'display', 'created_at', 'updated_at', 'expires_at', 'revoked_at', 'rpm', 'tpm', 'budget_tokens', 'budget_usd', 'budget_period', 'models', 'upstream_key_enc', 'capture']
      await copy('api_keys', keyCols, src.prepare(`SELECT ${keyCols.join(', ')} FROM api_keys`).iterate() as Iterable<Record<string, unknown>>, () => {})
      // Captured content goes along (its own retention still applies on the new side).
      await copy('captures', CAPTURE_COLUMNS, src.prepare(`SELECT ${CAPTURE_COLUMNS.join(', ')} FROM captures`).iterate() as Iterable<Record<string, unknown>>, (n) => (report.captures = n))
      for (const { name } of LEVELS) {
        const tables: [string, string[]][] = [[`rollup_${name}`, [...ROLLUP_COLUMNS]]]
        if (USER_LEVELS.includes(name)) tables.push([`users_${name}`, ['bucket', 'user', 'model', 'stream', 'key_id', 'requests']])
        if (SAT_LEVELS.includes(name)) tables.push([`saturation_${name}`, [...SAT_COLUMNS]])
        tables.push([`errors_${name}`, ['bucket', 'model', 'stream', 'outcome', 'error_type', 'status_code', 'key_id', 'count', 'last_ts', 'last_message']])
        for (const [table, columns] of tables) {
          let n = 0
          await copy(table, columns, src.prepare(`SELECT ${columns.map(quoted).join(', ')} FROM ${table}`).iterate() as Iterable<Record<string, unknown>>, (c) => (n = c))
          report.rollups += n
        }
      }
    })
    return report
  } finally {
    src.close()
  }
}
