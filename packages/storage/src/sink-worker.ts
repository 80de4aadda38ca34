import type { RequestRow } from '@llm-proxy/core'
import { Worker } from 'node:worker_threads'
import { TransientStorageError, type CaptureRecord, type CaptureStore, type KeyStore, type RowSink } from './types.js'
import type { KeyMethod, WorkerReply, WorkerRequest } from './sink-worker-protocol.js'

export type SinkLog = (level: 'warn' | 'error' | 'info', message: string, data?: Record<string, unknown>) => void

/**
 * The proxy's side of a storage thread: the thread owns the connection and does everything a batch
 * needs (rollups, statements, the database's round trips); the event loop only posts messages.
 * Resolves once the thread has opened, migrated and proven the database writable, or rejects with why not.
 */
export async function startSinkWorker(script: URL, o: { engine: RowSink['engine']; workerData: unknown; log?: SinkLog }): Promise<RowSink> {
  const worker = new Worker(script, { workerData: o.workerData })
  const thread = `the ${o.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} writer thread`
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
    for (const p of pending.values()) p.reject(new TransientStorageError(`${thread} stopped: ${err.message}`, 'WORKER_EXIT'))
    pending.clear()
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`exit code ${code}`)))
  // The thread must not keep a finished process alive; calls in flight keep it referenced.
  worker.unref()

  const call = (request: WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<unknown> => {
    if (exited) return Promise.reject(new TransientStorageError(`${thread} stopped: ${exited.message}`, 'WORKER_EXIT'))
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
    engine: o.engine,
    keys,
    captures,
    insertBatch: async (rows) => void (await call({ op: 'insert', rows: rows as RequestRow[] })),
    deleteBefore: async (beforeTs) => (await call({ op: 'deleteBefore', beforeTs })) as number,
    async close() {
      if (!exited) await call({ op: 'close' }).catch(() => {})
      await worker.terminate()
    },
  }
}
