import { startSinkWorker, type SinkLog } from '../sink-worker.js'
import type { RowSink } from '../types.js'

/**
 * The proxy's PostgreSQL sink: a worker thread connects, migrates under the advisory lock and
 * writes each batch in one transaction with its rollups (insertBatchPg); this side only posts
 * messages. Rejects when the database cannot be reached or migrated.
 */
export function createPgSink(url: string, o: { log?: SinkLog; nice?: number } = {}): Promise<RowSink> {
  return startSinkWorker(new URL('./worker.js', import.meta.url), { engine: 'postgres', workerData: { url }, nice: o.nice, log: o.log })
}
