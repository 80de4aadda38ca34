import { DEFAULT_STORAGE_THREAD_NICE, type RequestRow } from '@llm-proxy/core'
import type { CaptureRecord, CaptureStore } from '@llm-proxy/storage/sink'
import type { FastifyBaseLogger } from 'fastify'
import { Worker } from 'node:worker_threads'
import type { BuildReply, BuildRequest } from './build-worker.js'
import { jobOf } from './job.js'
import type { CaptureTap } from './tap.js'

export interface CaptureWriter {
  /** Queues a finished request; everything else happens later, off the request's path. */
  enqueue(tap: CaptureTap, row: RequestRow): void
  /** Resolves once everything queued so far is built and stored (tests, shutdown). */
  flush(): Promise<void>
  /** Flushes, then stops the capture thread. */
  close(): Promise<void>
  readonly dropped: number
}

// The built thread: from src/ (the tests) the compiled file is used, as the storage's writer thread is.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? '../../dist/capture/build-worker.js' : './build-worker.js', import.meta.url)

/**
 * Builds captures off the request path and stores them in batches (up to `batchSize`, or what
 * `flushIntervalMs` gathered). On the event loop, one request per turn (setImmediate): the end of a
 * stream's reassembly and a copy of its bytes; in a thread of its own: images, redaction, cutting.
 * Bounded: past `maxPending` requests or `maxPendingBytes` new captures are dropped, counted and
 * logged; a failing store is logged, never retried forever (content is not the metrics).
 */
export function createCaptureWriter(o: {
  store: CaptureStore
  redact: 'pii' | 'off'
  logger: FastifyBaseLogger
  maxPending?: number
  maxPendingBytes?: number
  batchSize?: number
  flushIntervalMs?: number
  /** The capture thread's nice value; DEFAULT_STORAGE_THREAD_NICE when absent. */
  nice?: number
}): CaptureWriter {
  const maxPending = o.maxPending ?? 1_000
  // Waiting requests keep their bodies alive: large ones (images) are bounded by bytes too.
  const maxPendingBytes = o.maxPendingBytes ?? 256 * 1024 * 1024
  const batchSize = o.batchSize ?? 50
  // Like the rows: a capture waits up to this long for others to share its transaction.
  const flushIntervalMs = o.flushIntervalMs ?? 100
  const queue: { tap: CaptureTap; row: RequestRow; bytes: number }[] = []
  /** Sent to the thread, not back yet: id → bytes held. */
  const building = new Map<number, number>()
  let nextId = 1
  let pendingBytes = 0
  let built: CaptureRecord[] = []
  let scheduled = false
  let timer: NodeJS.Timeout | null = null
  let writing: Promise<void> = Promise.resolve()
  let idle: (() => void)[] = []
  let dropped = 0
  let lastDropLog = 0
  let worker: Worker | null = null

  const drop = (n: number, why: string) => {
    dropped += n
    if (Date.now() - lastDropLog > 30_000) {
      lastDropLog = Date.now()
      o.logger.warn({ dropped }, `content capture: captures dropped (${why}; the rows are kept)`)
    }
  }

  const store = () => {
    if (timer !== null) {
      clearTimeout(timer)
      timer = null
    }
    if (built.length === 0) return
    const batch = built
    built = []
    writing = writing.then(() => o.store.insert(batch)).catch((err) => o.logger.warn({ err, captures: batch.length }, 'storing captured content failed; it is lost'))
  }

  const settleIfIdle = () => {
    if (queue.length > 0 || scheduled || building.size > 0) return
    const waiting = idle
    idle = []
    waiting.forEach((r) => r())
  }

  const done = (id: number) => {
    pendingBytes -= building.get(id) ?? 0
    building.delete(id)
  }

  const thread = (): Worker => {
    if (worker) return worker
    const w = new Worker(WORKER_URL, { workerData: { nice: o.nice ?? DEFAULT_STORAGE_THREAD_NICE } })
    w.on('message', (m: BuildReply) => {
      done(m.id)
      if (m.ok) built.push(m.record)
      else o.logger.warn({ err: { message: m.message } }, 'capturing content failed')
      if (built.length >= batchSize) store()
      else if (built.length > 0 && timer === null) {
        timer = setTimeout(store, flushIntervalMs)
        // Shutdown calls flush(), which writes what waits; a timer must not hold a stopped process.
        timer.unref()
      }
      if (building.size === 0) w.unref()
      settleIfIdle()
    })
    const lost = (err: Error) => {
      if (worker !== w) return
      worker = null
      o.logger.error({ err }, 'the capture thread stopped; captures in it are lost, a new one starts with the next')
      drop(building.size, 'the capture thread stopped')
      for (const id of [...building.keys()]) done(id)
      settleIfIdle()
    }
    w.on('error', lost)
    w.on('exit', (code) => lost(new Error(`exit code ${code}`)))
    w.unref()
    return (worker = w)
  }

  const step = () => {
    scheduled = false
    const next = queue.shift()
    if (next) {
      pendingBytes -= next.bytes
      try {
        const job = jobOf(next.tap, next.row, o.redact)
        if (job) {
          const id = nextId++
          const bytes = (job.request?.length ?? 0) + (job.body?.length ?? 0)
          building.set(id, bytes)
          pendingBytes += bytes
          const w = thread()
          w.ref()
          w.postMessage({ id, job } satisfies BuildRequest, [job.request, job.body].filter((b) => b !== null).map((b) => b.buffer as ArrayBuffer))
        }
      } catch (err) {
        o.logger.warn({ err, id: next.row.id }, 'capturing content failed')
      }
    }
    if (queue.length > 0) schedule()
    else settleIfIdle()
  }
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(step)
  }

  const flush = async () => {
    if (queue.length > 0 || scheduled || building.size > 0) await new Promise<void>((resolve) => idle.push(resolve))
    store()
    await writing
  }

  return {
    enqueue(tap, row) {
      const bytes = tap.heldBytes
      if (queue.length + building.size >= maxPending || pendingBytes + bytes > maxPendingBytes) return drop(1, 'capture is behind')
      pendingBytes += bytes
      queue.push({ tap, row, bytes })
      schedule()
    },
    flush,
    async close() {
      await flush()
      const w = worker
      worker = null
      await w?.terminate()
    },
    get dropped() {
      return dropped
    },
  }
}
