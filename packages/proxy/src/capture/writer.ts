import type { RequestRow } from '@llm-proxy/core'
import type { CaptureRecord, CaptureStore } from '@llm-proxy/storage'
import type { FastifyBaseLogger } from 'fastify'
import { buildCapture } from './build.js'
import type { CaptureTap } from './tap.js'

export interface CaptureWriter {
  /** Queues a finished request; its parsing and redaction run later, one request per turn of the loop. */
  enqueue(tap: CaptureTap, row: RequestRow): void
  /** Resolves once everything queued so far is built and stored (tests, shutdown). */
  flush(): Promise<void>
  readonly dropped: number
}

/**
 * Builds captures off the request path (setImmediate, one at a time, so a burst never holds the
 * loop long) and stores them in batches. Bounded: past `maxPending` requests or `maxPendingBytes`
 * new captures are dropped, counted and logged; a failing store is logged, never retried forever (content is not the metrics).
 */
export function createCaptureWriter(o: { store: CaptureStore; redact: 'pii' | 'off'; logger: FastifyBaseLogger; maxPending?: number; maxPendingBytes?: number; batchSize?: number }): CaptureWriter {
  const maxPending = o.maxPending ?? 1_000
  // Waiting requests keep their bodies alive: large ones (images) are bounded by bytes too.
  const maxPendingBytes = o.maxPendingBytes ?? 256 * 1024 * 1024
  let pendingBytes = 0
  let lastDropLog = 0
  const batchSize = o.batchSize ?? 50
  const queue: { tap: CaptureTap; row: RequestRow; bytes: number }[] = []
  let built: CaptureRecord[] = []
  let scheduled = false
  let writing: Promise<void> = Promise.resolve()
  let idle: (() => void)[] = []
  let dropped = 0

  const store = () => {
    if (built.length === 0) return
    const batch = built
    built = []
    writing = writing.then(() => o.store.insert(batch)).catch((err) => o.logger.warn({ err, captures: batch.length }, 'storing captured content failed; it is lost'))
  }

  const step = () => {
    scheduled = false
    const next = queue.shift()
    if (next) {
      pendingBytes -= next.bytes
      try {
        const record = buildCapture(next.tap, next.row, o.redact)
        if (record) built.push(record)
      } catch (err) {
        o.logger.warn({ err, id: next.row.id }, 'capturing content failed')
      }
    }
    if (built.length >= batchSize || queue.length === 0) store()
    if (queue.length > 0) schedule()
    else {
      const waiting = idle
      idle = []
      void writing.then(() => waiting.forEach((r) => r()))
    }
  }
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(step)
  }

  return {
    enqueue(tap, row) {
      const bytes = tap.heldBytes
      if (queue.length >= maxPending || pendingBytes + bytes > maxPendingBytes) {
        dropped++
        if (Date.now() - lastDropLog > 30_000) {
          lastDropLog = Date.now()
          o.logger.warn({ dropped }, 'content capture is behind: captures dropped (the rows are kept)')
        }
        return
      }
      pendingBytes += bytes
      queue.push({ tap, row, bytes })
      schedule()
    },
    flush() {
      if (queue.length === 0 && !scheduled) return writing
      return new Promise<void>((resolve) => idle.push(resolve))
    },
    get dropped() {
      return dropped
    },
  }
}
