import type Database from 'better-sqlite3'
import { StorageUnavailableError, type MetricsReader, type Snapshot } from '../types.js'
import { RowCache } from '../row-cache.js'
import { READ_SCHEMA_VERSION } from '../read-schema.js'
import { openReaderDb } from './open.js'

/**
 * The metrics API's SQLite reader: the file opened read-only on first use, and again later if the
 * proxy had not created it yet, so the API can start first. Until the schema it reads exists,
 * `read()` passes null (empty answers).
 */
export function createSqliteReader(file: string): MetricsReader {
  let db: Database.Database | null = null
  const statements = new Map<string, Database.Statement>()
  const cache = new RowCache()
  // Reads on the one connection take turns: a snapshot is a transaction, and those do not nest.
  let turn: Promise<unknown> = Promise.resolve()

  const version = (d: Database.Database) => d.pragma('user_version', { simple: true }) as number
  const get = (): Database.Database | null => {
    if (db) return db
    let opened: Database.Database | null
    try {
      opened = openReaderDb(file)
    } catch (err) {
      throw new StorageUnavailableError(`cannot open the database at DB_PATH=${file}: ${(err as Error).message}`, { cause: err })
    }
    if (!opened) return null
    if (version(opened) < READ_SCHEMA_VERSION) {
      opened.close()
      return null
    }
    return (db = opened)
  }
  const snapshotOf = (d: Database.Database): Snapshot => {
    const all = async <T>(sql: string, params: Record<string, unknown> = {}) => {
      let stmt = statements.get(sql)
      if (!stmt) statements.set(sql, (stmt = d.prepare(sql)))
      return stmt.all(bindable(sql, params)) as T[]
    }
    return {
      all,
      allCached: cache.allCached(all),
    }
  }

  return {
    engine: 'sqlite',
    async schemaVersion() {
      const d = get()
      return d ? version(d) : null
    },
    read<T>(fn: (s: Snapshot | null) => Promise<T>): Promise<T> {
      const run = async () => {
        const d = get()
        if (!d) return fn(null)
        d.exec('BEGIN')
        try {
          return await fn(snapshotOf(d))
        } finally {
          d.exec('COMMIT')
        }
      }
      const result = turn.then(run, run)
      turn = result.catch(() => {})
      return result
    },
    async *stream<T>(sql: string, params: Record<string, unknown> = {}): AsyncIterable<T> {
      if (!get()) return
      // Its own connection, so a slow client does not hold the shared one in a transaction.
      const own = openReaderDb(file)
      if (!own) return
      try {
        for (const row of own.prepare(sql).iterate(bindable(sql, params))) yield row as T
      } finally {
        own.close()
      }
    },
    async close() {
      await turn
      db?.close()
      db = null
      statements.clear()
      cache.clear()
    },
  }
}

/** Only the parameters the statement names (better-sqlite3 refuses missing ones, ignores none). */
function bindable(sql: string, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const m of sql.matchAll(/@(\w+)/g)) {
    const v = params[m[1]]
    out[m[1]] = typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v
  }
  return out
}
