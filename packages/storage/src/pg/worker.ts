// The PostgreSQL writer thread: as for SQLite, the proxy's event loop only posts batches here. A
// batch's rollups, its statements (thousands of parameters) and the client's protocol work used
// to run on the event loop, between requests: milliseconds per batch that showed in their p99.
import { parentPort, workerData } from 'node:worker_threads'
import type { WorkerReply, WorkerRequest } from '../sink-worker-protocol.js'
import { createPgCaptures } from './captures.js'
import { connect, isTransientPgError } from './connect.js'
import { createPgKeys } from './keys.js'
import { migratePg } from './migrations.js'
import { insertBatchPg } from './insert-batch.js'
import { lowerThreadPriority } from '../thread-priority.js'

const port = parentPort!
const post = (m: WorkerReply) => port.postMessage(m)
const { url, nice } = workerData as { url: string; nice: number }
lowerThreadPriority(nice)
const sql = connect(url, { max: 2, application: 'llm-proxy' })
const keys = createPgKeys(sql)
const captures = createPgCaptures(sql)

async function handle(m: WorkerRequest): Promise<unknown> {
  switch (m.op) {
    case 'insert':
      return insertBatchPg(sql, m.rows)
    case 'deleteBefore':
      return (await sql.unsafe('DELETE FROM requests WHERE ts < $1', [m.beforeTs])).count
    case 'keys':
      return (keys[m.method] as (...a: unknown[]) => Promise<unknown>)(...m.args)
    case 'captures':
      return captures.insert(m.records)
    case 'deleteCapturesBefore':
      return captures.deleteBefore(m.beforeTs)
    case 'close':
      return sql.end({ timeout: 5 })
  }
}

try {
  await migratePg(sql)
  post({ type: 'ready' })
} catch (err) {
  const e = err as { message: string; code?: string }
  await sql.end({ timeout: 1 }).catch(() => {})
  post({ type: 'open-failed', message: e.message, code: e.code })
}

// Calls run concurrently (a key sync beside a batch), each on a connection of its own from the pool.
port.on('message', (m: WorkerRequest) => {
  handle(m).then(
    (value) => post({ type: 'result', id: m.id, ok: true, value: value ?? null }),
    (err: { message?: string; code?: string }) =>
      post({ type: 'result', id: m.id, ok: false, message: err?.message ?? String(err), code: err?.code, transient: isTransientPgError(err) }),
  )
})
