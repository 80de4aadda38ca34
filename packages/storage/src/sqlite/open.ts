import Database from 'better-sqlite3'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { LATEST_SCHEMA_VERSION, migrate } from './migrations.js'

/**
 * Opens (creating if needed) the database for the proxy, migrates it and proves it can write: a
 * file the process may read but not write would otherwise accept traffic and drop every row.
 */
export function openWriterDb(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  try {
    // WAL lets the metrics API read while the proxy writes.
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    // The writer appends: what it reads again is the right edge of each index and the rollup rows of
    // the current buckets. better-sqlite3's default cache (16 MB) would fill with pages written once
    // and hold them for the life of the process; 4 MB holds the writer's working set.
    db.pragma('cache_size = -4000')
    db.pragma('busy_timeout = 5000')
    migrate(db)
    db.exec(`BEGIN IMMEDIATE; PRAGMA user_version = ${LATEST_SCHEMA_VERSION}; COMMIT`)
  } catch (err) {
    db.close()
    throw err
  }
  return db
}

/**
 * Opens the database read-only for the metrics API. Returns null while the file does not exist yet,
 * so the API can start before the proxy has created it.
 */
export function openReaderDb(file: string): Database.Database | null {
  if (!existsSync(file)) return null
  const db = new Database(file, { readonly: true, fileMustExist: true })
  db.pragma('busy_timeout = 5000')
  return db
}
