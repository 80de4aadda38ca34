// The proxy's entry point: its sinks run their database driver in a thread, so this entry loads no
// driver on the event loop (the package's main entry, with the readers and the copy, loads both).
import { createPgSink } from './pg/sink.js'
import { createSqliteSink } from './sqlite/sink.js'
import type { RowSink } from './types.js'

export * from './types.js'
export { createPgSink, createSqliteSink }

/** Where rows live: PostgreSQL when `databaseUrl` is set, else the SQLite file. */
export interface StorageTarget {
  databaseUrl?: string
  dbPath: string
  /** The writer thread's nice value (STORAGE_THREAD_NICE). */
  storageThreadNice?: number
}

/** The proxy's sink for the configured engine; rejects when the database cannot be written. */
export function openRowSink(t: StorageTarget, log?: (level: 'warn' | 'error' | 'info', message: string, data?: Record<string, unknown>) => void): Promise<RowSink> {
  const nice = t.storageThreadNice
  return t.databaseUrl ? createPgSink(t.databaseUrl, { log, nice }) : createSqliteSink({ file: t.dbPath, log, nice })
}
