import type { RequestRow } from '@llm-proxy/core'
import { Worker } from 'node:worker_threads'
import { TransientStorageError, type CaptureRecord, type CaptureStore, type KeyStore, type RowSink } from '../types.js'
import type { KeyMethod, WorkerReply, WorkerRequest } from './worker.js'

export interface SqliteSinkOptions {
  file: string
  /** Where the writer thread's own messages go (a file deleted under it, say). */
  log?: (level: 'warn' | 'error' | 'info', message: string, data?: Record<string, unknown>) => void
}

/**
 * The proxy's SQLite sink: a worker thread owns the connection and writes each batch in one
 * transaction; this side only posts messages. Resolves once the database is open, migrated and
 * proven writable, or rejects with why not.
 */
export async function createSqliteSink(o: SqliteSinkOptions): Promise<RowSink> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { file: o.file } })
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let exited: Error | null = null

  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: WorkerReply) => {
      if (m.type === 'ready') resolve()
      else if (m.type === 'open-failed') reject(Object.assign(new Error(m.message), { code: m.code }))
      else return
      worker.off('message', onMessage)
      worker.off('error', reject)
    }
    worker.on('message', onMessage)
    worker.once('error', reject)
  }).catch(async (err) => {
    await worker.terminate()
    throw err
  })

  worker.on('message', (m: WorkerReply) => {
    if (m.type === 'log') o.log?.(m.level, m.message, m.data)
    if (m.type !== 'result') return
    const p = pending.get(m.id)
    if (!p) return
    pending.delete(m.id)
    if (m.ok) p.resolve(m.value)
    else p.reject(m.transient ? new TransientStorageError(m.message, m.code) : Object.assign(new Error(m.message), { code: m.code }))
  })
  const fail = (err: Error) => {
    exited = err
    for (const p of pending.values()) p.reject(new TransientStorageError(`the SQLite writer thread stopped: ${err.message}`, 'WORKER_EXIT'))
    pending.clear()
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`exit code ${code}`)))
  // The thread must not keep a finished process alive; calls in flight keep it referenced.
  worker.unref()

  const call = (request: WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<unknown> => {
    if (exited) return Promise.reject(new TransientStorageError(`the SQLite writer thread stopped: ${exited.message}`, 'WORKER_EXIT'))
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, {
        resolve: (v) => {
          if (pending.size === 0) worker.unref()
          resolve(v)
        },
        reject: (e) => {
          if (pending.size === 0) worker.unref()
          reject(e)
        },
      })
      worker.ref()
      worker.postMessage({ ...request, id } as WorkerRequest)
    })
  }

  const keyCall = (method: KeyMethod) => (...args: unknown[]) => call({ op: 'keys', method, args }) as never
  const keys: KeyStore = {
    listKeys: keyCall('listKeys'),
    insertKey: keyCall('insertKey'),
    updateKey: keyCall('updateKey'),
    deleteKey: keyCall('deleteKey'),
    syncCounters: keyCall('syncCounters'),
  }

  const captures: CaptureStore = {
    insert: async (records) => void (await call({ op: 'captures', records: records as CaptureRecord[] })),
    deleteBefore: async (beforeTs) => (await call({ op: 'deleteCapturesBefore', beforeTs })) as number,
  }

  return {
    engine: 'sqlite',
    keys,
    captures,
    insertBatch: async (rows: readonly RequestRow[]) => void (await call({ op: 'insert', rows: rows as RequestRow[] })),
    deleteBefore: async (beforeTs) => (await call({ op: 'deleteBefore', beforeTs })) as number,
    async close() {
      if (!exited) await call({ op: 'close' }).catch(() => {})
      await worker.terminate()
    },
  }
}
