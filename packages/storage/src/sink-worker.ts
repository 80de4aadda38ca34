import { DEFAULT_STORAGE_THREAD_NICE, type RequestRow } from '@llm-proxy/core'
import { Worker } from 'node:worker_threads'
import { TransientStorageError, type CaptureRecord, type CaptureStore, type KeyStore, type RowSink } from './types.js'
import type { KeyMethod, WorkerReply, WorkerRequest } from './sink-worker-protocol.js'

export type SinkLog = (level: 'warn' | 'error' | 'info', message: string, data?: Record<string, unknown>) => void

/** How long to wait before starting a writer thread again after it stopped, doubling up to the cap. */
const RESTART_MS = { first: 250, max: 5_000 }

/**
 * The proxy's side of a storage thread: the thread owns the connection and does everything a batch
 * needs (rollups, statements, the database's round trips); the event loop only posts messages.
 * Resolves once the thread has opened, migrated and proven the database writable, or rejects with why not.
 * A thread that stops later (a crash in a driver, say) is started again; calls made meanwhile fail
 * as transient, so the row writer keeps its rows and retries.
 */
export async function startSinkWorker(script: URL, o: { engine: RowSink['engine']; workerData: object; nice?: number; log?: SinkLog; onWorker?: (w: Worker) => void }): Promise<RowSink> {
  const thread = `the ${o.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} writer thread`
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let worker: Worker | null = null
  /** Why there is no thread right now (stopped, restarting), or null while one runs. */
  let down: string | null = null
  let closing = false

  const start = async (): Promise<Worker> => {
    // The thread lowers its own priority (thread-priority.ts) to this nice value.
    const w = new Worker(script, { workerData: { ...o.workerData, nice: o.nice ?? DEFAULT_STORAGE_THREAD_NICE } })
    o.onWorker?.(w)
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`${thread} exited (code ${code}) before it was ready`))
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'ready') resolve()
        else if (m.type === 'open-failed') reject(Object.assign(new Error(m.message), { code: m.code }))
        else return
        w.off('message', onMessage)
        w.off('error', reject)
        w.off('exit', onExit)
      }
      w.on('message', onMessage)
      w.once('error', reject)
      w.once('exit', onExit)
    }).catch(async (err) => {
      await w.terminate()
      throw err
    })
    w.on('message', (m: WorkerReply) => {
      if (m.type === 'log') o.log?.(m.level, m.message, m.data)
      if (m.type !== 'result') return
      const p = pending.get(m.id)
      if (!p) return
      pending.delete(m.id)
      if (m.ok) p.resolve(m.value)
      else p.reject(m.transient ? new TransientStorageError(m.message, m.code) : Object.assign(new Error(m.message), { code: m.code }))
    })
    let stopped = false
    const stop = (why: string) => {
      if (stopped) return
      stopped = true
      worker = null
      down = why
      for (const p of pending.values()) p.reject(new TransientStorageError(`${thread} stopped: ${why}`, 'WORKER_EXIT'))
      pending.clear()
      if (!closing) restart(RESTART_MS.first)
    }
    w.on('error', (err) => stop(err.message))
    w.on('exit', (code) => stop(`exit code ${code}`))
    // The thread must not keep a finished process alive; calls in flight keep it referenced.
    w.unref()
    return w
  }

  const restart = (delay: number) => {
    o.log?.('error', `${thread} stopped (${down}); starting it again`, { inMs: delay })
    setTimeout(() => {
      if (closing) return
      start().then(
        (w) => {
          worker = w
          down = null
          o.log?.('info', `${thread} is running again`)
        },
        (err: Error) => {
          down = err.message
          restart(Math.min(delay * 2, RESTART_MS.max))
        },
      )
    }, delay).unref()
  }

  worker = await start()

  const call = (request: WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<unknown> => {
    const w = worker
    if (w === null) return Promise.reject(new TransientStorageError(`${thread} stopped: ${down}`, 'WORKER_EXIT'))
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, {
        resolve: (v) => {
          if (pending.size === 0) w.unref()
          resolve(v)
        },
        reject: (e) => {
          if (pending.size === 0) w.unref()
          reject(e)
        },
      })
      w.ref()
      w.postMessage({ ...request, id } as WorkerRequest)
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
      closing = true
      const w = worker
      if (w === null) return
      await call({ op: 'close' }).catch(() => {})
      await w.terminate()
    },
  }
}
