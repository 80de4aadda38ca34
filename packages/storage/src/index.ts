export * from './types.js'
export { createSqliteSink, createPgSink, openRowSink, type StorageTarget } from './sink.js'
export { createSqliteReader } from './sqlite/reader.js'
export { createSqliteStore, type SqliteStore } from './sqlite/store.js'
export { openWriterDb, openReaderDb } from './sqlite/open.js'
export { migrate, migrations, LATEST_SCHEMA_VERSION } from './sqlite/migrations.js'
export { READ_SCHEMA_VERSION } from './read-schema.js'
export { insertBatchPg } from './pg/insert-batch.js'
export { createPgReader } from './pg/reader.js'
export { connect as connectPg, isTransientPgError, toPositional } from './pg/connect.js'
export { migratePg, pgSchemaVersion, PG_SCHEMA_VERSION, PG_MIGRATIONS } from './pg/migrations.js'
export { copySqliteToPg } from './copy.js'
export { createSqliteKeys } from './sqlite/keys.js'
export { createPgKeys } from './pg/keys.js'
export { CAPTURE_SQL } from './capture-sql.js'

import { createPgReader } from './pg/reader.js'
import type { StorageTarget } from './sink.js'
import { createSqliteReader } from './sqlite/reader.js'
import type { MetricsReader } from './types.js'

/** The metrics API's reader for the configured engine; connects lazily. */
export function openMetricsReader(t: StorageTarget): MetricsReader {
  return t.databaseUrl ? createPgReader(t.databaseUrl) : createSqliteReader(t.dbPath)
}
