import type { RequestRow } from '@llm-proxy/core'
import { isTransient, type RowSink } from '@llm-proxy/storage/sink'
import type { FastifyBaseLogger } from 'fastify'

export interface RowWriterOptions {
  sink: Pick<RowSink, 'insertBatch'>
  logger: FastifyBaseLogger
  /** Rows per transaction. */
  batchSize?: number
  /** How long a row may wait for its batch (at most this is lost to a SIGKILL). */
  flushIntervalMs?: number
  /** Rows kept while storage fails; beyond it the oldest are dropped (and counted). */
  maxPending?: number
  /** How long close() keeps retrying a failing store before it gives the rest up. */
  closeTimeoutMs?: number
  /** Called for each row once it is queued (tests await rows through it). */
  onRecorded?: (row: RequestRow) => void
  /**
   * Called with the rows of each batch once the sink has stored them (rows the database refused are
   * left out). Runs on the writer's turn of the loop, never a request's; it must not block, and an
   * exception it throws is logged and ignored (the rows are stored whatever it does).
   */
  onStored?: (rows: RequestRow[]) => void
}

export interface RowWriter {
  /** Queues a row; never throws and never writes on the caller's stack. */
  record(row: RequestRow): void
  /** Writes everything queued now. Resolves false if storage still fails. */
  flush(): Promise<boolean>
  /** Flushes, retrying for up to closeTimeoutMs, and stops. Resolves with the rows it could not store. */
  close(): Promise<{ lost: number }>
  readonly pending: number
  readonly dropped: number
}

/**
 * Batches rows off the request path: requests only push to an array; a timer (or a full batch)
 * hands them to the sink, one batch at a time, one transaction per batch. Storage trouble is logged
 * and retried with backoff; it never reaches a client.
 */
export function createRowWriter(o: RowWriterOptions): RowWriter {
  const batchSize = o.batchSize ?? 500
  const flushIntervalMs = o.flushIntervalMs ?? 100
  const maxPending = o.maxPending ?? 100_000
  const closeTimeoutMs = o.closeTimeoutMs ?? 5_000
  let queue: RequestRow[] = []
  /** The batch the sink is writing now: out of the queue, back at its front if the write fails. */
  let writing: Promise<boolean> | null = null
  let timer: NodeJS.Timeout | null = null
  let failures = 0
  let dropped = 0
  let closed = false
  let closing: Promise<{ lost: number }> | null = null

  function schedule(delay: number) {
    if (timer !== null || writing !== null) return
    timer = setTimeout(() => {
      timer = null
      void writeQueued(false).then((ok) => {
        if (closed) return
        if (!ok) schedule(Math.min(5_000, flushIntervalMs * 2 ** failures))
        else if (queue.length > 0) schedule(queue.length >= batchSize ? 0 : flushIntervalMs)
      })
    }, delay)
    // Pending rows must not keep a stopped process alive; shutdown calls close(), which writes them.
    timer.unref()
  }

  function stored(rows: RequestRow[]) {
    if (!o.onStored || rows.length === 0) return
    try {
      o.onStored(rows)
    } catch (err) {
      o.logger.error({ err }, 'passing stored rows on failed')
    }
  }

  async function writeBatch(batch: RequestRow[]): Promise<void> {
    try {
      await o.sink.insertBatch(batch)
      stored(batch)
    } catch (err) {
      if (isTransient(err) || batch.length === 1) throw err
      // A row the database refuses would block every later batch: write the rest one by one.
      for (const row of batch) {
        try {
          await o.sink.insertBatch([row])
          stored([row])
        } catch (rowErr) {
          if (isTransient(rowErr)) throw rowErr
          dropped++
          o.logger.error({ err: rowErr, rowId: row.id }, 'dropped a row the database refused')
        }
      }
    }
  }

  /**
   * Writes batches (true) or stops when storage fails (false). One writer at a time. With `drain`,
   * until the queue is empty (flush, close); otherwise the rows queued when it starts, then only
   * full batches: rows that arrive while a batch is being written wait for the next flush, so that
   * batches stay large under load (one message to the writer and one transaction per batch; written
   * back to back, each batch would hold only the rows of one round trip).
   */
  function writeQueued(drain = true): Promise<boolean> {
    if (writing) return writing.then(() => (queue.length > 0 && drain ? writeQueued() : true))
    writing = (async () => {
      let due = drain ? Infinity : queue.length
      while (queue.length > 0 && (due > 0 || queue.length >= batchSize)) {
        const batch = queue.splice(0, batchSize)
        due -= batch.length
        try {
          await writeBatch(batch)
          if (failures > 0) o.logger.info({ attempts: failures }, 'storing rows works again')
          failures = 0
        } catch (err) {
          if (!isTransient(err) && batch.length === 1) {
            dropped++
            o.logger.error({ err, rowId: batch[0].id }, 'dropped a row the database refused')
            continue
          }
          queue = batch.concat(queue)
          failures++
          trim()
          o.logger.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, pending: queue.length, attempt: failures }, 'storing rows failed; will retry')
          return false
        }
      }
      return true
    })().finally(() => (writing = null))
    return writing
  }

  function trim() {
    if (queue.length <= maxPending) return
    const excess = queue.length - maxPending
    queue.splice(0, excess)
    dropped += excess
    o.logger.error({ dropped: excess }, 'row queue full while storage fails; dropped the oldest rows')
  }

  return {
    record(row) {
      queue.push(row)
      trim()
      o.onRecorded?.(row)
      if (closed) {
        // Only rows of requests that ended during close() get here; close() writes them too.
        return
      }
      // A full batch goes out on the next turn of the loop; otherwise within flushIntervalMs.
      if (queue.length >= batchSize && failures === 0 && timer !== null) {
        clearTimeout(timer)
        timer = null
        schedule(0)
      } else schedule(queue.length >= batchSize && failures === 0 ? 0 : flushIntervalMs)
    },
    flush: () => writeQueued(),
    close() {
      // Idempotent: the app's onClose hook and the server's shutdown both ask for the outcome.
      return (closing ??= closeOnce())
    },
    get pending() {
      return queue.length
    },
    get dropped() {
      return dropped
    },
  }

  async function closeOnce(): Promise<{ lost: number }> {
    closed = true
    if (timer !== null) clearTimeout(timer)
    timer = null
    const until = Date.now() + closeTimeoutMs
    for (let attempt = 0; ; attempt++) {
      if (await writeQueued()) break
      const wait = Math.min(100 * 2 ** attempt, until - Date.now())
      if (wait <= 0) break
      await new Promise((r) => setTimeout(r, wait))
    }
    const lost = queue.length + dropped
    if (queue.length > 0) o.logger.error({ lost: queue.length }, 'could not store rows before exit')
    queue = []
    return { lost }
  }
}
