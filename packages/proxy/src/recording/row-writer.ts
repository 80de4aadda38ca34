import type { RequestRow } from '@llm-proxy/core'
import type { FastifyBaseLogger } from 'fastify'

/** Where rows go: one call per batch, one transaction per call (SQLite today, PostgreSQL one day). */
export interface RowSink {
  insertBatch(rows: readonly RequestRow[]): void
}

export interface RowWriterOptions {
  sink: RowSink
  logger: FastifyBaseLogger
  /** Rows per transaction. */
  batchSize?: number
  /** How long a row may wait for its batch. */
  flushIntervalMs?: number
  /** Rows kept while storage fails; beyond it the oldest are dropped (and counted). */
  maxPending?: number
  /** Called for each row once it is queued (tests await rows through it). */
  onRecorded?: (row: RequestRow) => void
}

export interface RowWriter {
  /** Queues a row; never throws and never writes on the caller's stack. */
  record(row: RequestRow): void
  /** Writes everything queued now. Resolves false if storage still fails. */
  flush(): boolean
  /** Flushes with a few retries and stops the timers. */
  close(): Promise<void>
  readonly pending: number
  readonly dropped: number
}

const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL|READONLY)/

/**
 * Batches rows off the request path: requests only push to an array; a timer (or a full batch)
 * writes them in one transaction. Storage trouble is logged and retried with backoff; it never
 * reaches a client.
 */
export function createRowWriter(o: RowWriterOptions): RowWriter {
  const batchSize = o.batchSize ?? 500
  const flushIntervalMs = o.flushIntervalMs ?? 100
  const maxPending = o.maxPending ?? 100_000
  let queue: RequestRow[] = []
  let timer: NodeJS.Timeout | null = null
  let failures = 0
  let dropped = 0
  let closed = false

  function schedule(delay: number) {
    if (timer !== null || closed) return
    timer = setTimeout(() => {
      timer = null
      if (flush()) {
        if (queue.length > 0) schedule(flushIntervalMs)
      } else {
        schedule(Math.min(5_000, flushIntervalMs * 2 ** failures))
      }
    }, delay)
    timer.unref()
  }

  function writeBatch(batch: RequestRow[]): void {
    try {
      o.sink.insertBatch(batch)
    } catch (err) {
      if (TRANSIENT.test((err as { code?: string }).code ?? '')) throw err
      // A row the database refuses would block every later batch: write the rest one by one.
      for (const row of batch) {
        try {
          o.sink.insertBatch([row])
        } catch (rowErr) {
          if (TRANSIENT.test((rowErr as { code?: string }).code ?? '')) throw rowErr
          dropped++
          o.logger.error({ err: rowErr, rowId: row.id }, 'dropped a row the database refused')
        }
      }
    }
  }

  function flush(): boolean {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize)
      try {
        writeBatch(batch)
      } catch (err) {
        failures++
        o.logger.warn({ err, pending: queue.length, attempt: failures }, 'storing rows failed; will retry')
        return false
      }
      queue = queue.slice(batch.length)
      failures = 0
    }
    return true
  }

  return {
    record(row) {
      queue.push(row)
      if (queue.length > maxPending) {
        const excess = queue.length - maxPending
        queue.splice(0, excess)
        dropped += excess
        o.logger.error({ dropped: excess }, 'row queue full while storage fails; dropped the oldest rows')
      }
      o.onRecorded?.(row)
      // A full batch goes out on the next turn of the loop; otherwise within flushIntervalMs.
      if (queue.length >= batchSize && failures === 0) {
        if (timer !== null) clearTimeout(timer)
        timer = null
        schedule(0)
      } else schedule(flushIntervalMs)
    },
    flush,
    async close() {
      closed = true
      if (timer !== null) clearTimeout(timer)
      timer = null
      for (let attempt = 0; attempt < 5 && !flush(); attempt++) {
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt))
      }
      if (queue.length > 0) o.logger.error({ lost: queue.length }, 'could not store rows before exit')
    },
    get pending() {
      return queue.length
    },
    get dropped() {
      return dropped
    },
  }
}
