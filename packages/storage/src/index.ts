export * from './types.js'
export { createSqliteSink } from './sqlite/sink.js'
export { createSqliteReader } from './sqlite/reader.js'
export { createSqliteStore, type SqliteStore } from './sqlite/store.js'
export { openWriterDb, openReaderDb } from './sqlite/open.js'
export { migrate, migrations, LATEST_SCHEMA_VERSION } from './sqlite/migrations.js'
export { createPgSink } from './pg/sink.js'
export { insertBatchPg } from './pg/insert-batch.js'
export { createPgReader } from './pg/reader.js'
export { connect as connectPg, isTransientPgError, toPositional } from './pg/connect.js'
export { migratePg, pgSchemaVersion, PG_SCHEMA_VERSION, PG_MIGRATIONS } from './pg/migrations.js'
export { copySqliteToPg } from './copy.js'
export { createSqliteKeys } from './sqlite/keys.js'
export { createPgKeys } from './pg/keys.js'
export { CAPTURE_SQL } from './capture-sql.js'

import { createPgReader } from './pg/reader.js'
import { createPgSink } from './pg/sink.js'
import { createSqliteReader } from './sqlite/reader.js'
import { createSqliteSink } from './sqlite/sink.js'
import type { MetricsReader, RowSink } from './types.js'

/** Where rows live: PostgreSQL when `databaseUrl` is set, else the SQLite file. */
export interface StorageTarget {
  databaseUrl?: string
  dbPath: string
}

/** The proxy's sink for the configured engine; rejects when the database cannot be written. */
export function openRowSink(t: StorageTarget, log?: (level: 'warn' | 'error' | 'info', message: string, data?: Record<string, unknown>) => void): Promise<RowSink> {
  return t.databaseUrl ? createPgSink(t.databaseUrl, { log }) : createSqliteSink({ file: t.dbPath, log })
}

/** The metrics API's reader for the configured engine; connects lazily. */
export function openMetricsReader(t: StorageTarget): MetricsReader {
  return t.databaseUrl ? createPgReader(t.databaseUrl) : createSqliteReader(t.dbPath)
}
