import type { Worker } from 'node:worker_threads'
import type { RowSink } from '../types.js'
import { startSinkWorker, type SinkLog } from '../sink-worker.js'

export interface SqliteSinkOptions {
  file: string
  /** Where the writer thread's own messages go (a file deleted under it, say). */
  log?: SinkLog
  /** Sees each writer thread as it starts (tests stop one to check it is started again). */
  onWorker?: (w: Worker) => void
  /** The writer thread's nice value; DEFAULT_STORAGE_THREAD_NICE when absent. */
  nice?: number
}

/**
 * The proxy's SQLite sink: a worker thread owns the connection and writes each batch in one
 * transaction; this side only posts messages. Resolves once the database is open, migrated and
 * proven writable, or rejects with why not.
 */
export function createSqliteSink(o: SqliteSinkOptions): Promise<RowSink> {
  return startSinkWorker(new URL('./worker.js', import.meta.url), { engine: 'sqlite', workerData: { file: o.file }, nice: o.nice, log: o.log, onWorker: o.onWorker })
}
