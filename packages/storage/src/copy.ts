import { LEVELS, ROLLUP_COLUMNS, ROW_COLUMNS, USER_LEVELS } from '@llm-proxy/core'
import Database from 'better-sqlite3'
import { histToPg, type Sql } from './pg/connect.js'
import { migratePg } from './pg/migrations.js'
import { LATEST_SCHEMA_VERSION, migrate } from './sqlite/migrations.js'

const q = (c: string) => (c === 'user' ? '"user"' : c)

export interface CopyReport {
  requests: number
  rollups: number
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

    const report: CopyReport = { requests: 0, rollups: 0 }
    let exec: Sql = sql
    const insertMany = async (table: string, columns: readonly string[], rows: Record<string, unknown>[], tail = '') => {
      if (rows.length === 0) return
      const values: unknown[] = []
      const tuples = rows.map((r) => `(${columns.map((c) => `$${values.push(r[c] ?? null)}${c.endsWith('_hist') ? '::int4[]' : ''}`).join(', ')})`)
      await exec.unsafe(`INSERT INTO ${table} (${columns.map(q).join(', ')}) VALUES ${tuples.join(', ')} ${tail}`, values as never[])
    }
    await sql.begin(async (tx) => {
      exec = tx as unknown as Sql
      const rows = src.prepare(`SELECT ${ROW_COLUMNS.map(q).join(', ')} FROM requests ORDER BY seq`)
      let batch: Record<string, unknown>[] = []
      const flush = async () => {
        await insertMany('requests', ROW_COLUMNS, batch, 'ON CONFLICT (id) DO NOTHING')
        report.requests += batch.length
        batch = []
        if (report.requests % 50_000 === 0) progress(`${report.requests} rows`)
      }
      for (const r of rows.iterate() as Iterable<Record<string, unknown>>) {
        batch.push(r)
        if (batch.length === 1_000) await flush()
      }
      await flush()
      // Keys before anything that names them; their counters are live state, not history.
      const keyCols = ['id', 'name', 'owner', 'hash', 'display', 'created_at', 'updated_at', 'expires_at', 'revoked_at', 'rpm', 'tpm', 'budget_tokens', 'budget_usd', 'budget_period', 'models', 'upstream_key_enc', 'capture']
      await insertMany('api_keys', keyCols, src.prepare(`SELECT ${keyCols.join(', ')} FROM api_keys`).all() as Record<string, unknown>[])
      for (const { name } of LEVELS) {
        const tables: [string, string[]][] = [[`rollup_${name}`, [...ROLLUP_COLUMNS]]]
        if (USER_LEVELS.includes(name)) tables.push([`users_${name}`, ['bucket', 'user', 'model', 'stream', 'key_id', 'requests']])
        tables.push([`errors_${name}`, ['bucket', 'model', 'stream', 'outcome', 'error_type', 'status_code', 'key_id', 'count', 'last_ts', 'last_message']])
        for (const [table, columns] of tables) {
          let chunk: Record<string, unknown>[] = []
          for (const r of src.prepare(`SELECT ${columns.map(q).join(', ')} FROM ${table}`).iterate() as Iterable<Record<string, unknown>>) {
            for (const c of columns) if (c.endsWith('_hist')) r[c] = histToPg(r[c] as Buffer | null)
            if (table.startsWith('rollup_')) for (const c of columns) if (c === 'cost_usd' && r[c] === null) r[c] = 0
            chunk.push(r)
            if (chunk.length === 500) {
              await insertMany(table, columns, chunk)
              report.rollups += chunk.length
              chunk = []
            }
          }
          await insertMany(table, columns, chunk)
          report.rollups += chunk.length
        }
      }
    })
    return report
  } finally {
    src.close()
  }
}
