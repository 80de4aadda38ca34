import type { FastifyBaseLogger } from 'fastify'
import { Agent, request } from 'undici'
import { DropCounter } from './drop-counter.js'
import type { RequestEvent } from './event.js'

export interface WebhookOptions {
  url: string
  /** Sent as `Authorization: Bearer …`; never logged. */
  token?: string
  logger: FastifyBaseLogger
  /** Events per POST. */
  batchSize?: number
  /** Events waiting for delivery (besides the batch in flight); beyond it the oldest are dropped (and counted). */
  maxQueue?: number
  /** Connect, headers and body timeout of one POST. */
  timeoutMs?: number
  /** First retry delay; doubles per failure up to backoffMaxMs (with jitter). */
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** How long close() keeps delivering before it drops the rest. */
  closeTimeoutMs?: number
}

export interface Webhook {
  /** Queues events for delivery; never blocks, never throws. */
  send(events: RequestEvent[]): void
  /** Delivers what it can within closeTimeoutMs, drops the rest, logs the outcome. */
  close(): Promise<void>
  readonly delivered: number
  readonly dropped: number
  readonly pending: number
}

/** The receiver without path, query or credentials: what logs may say about it. */
const describe = (url: string) => new URL(url).origin

/**
 * Delivers events to `EVENT_WEBHOOK_URL` as JSON arrays, one POST at a time. A failing receiver gets
 * retries with exponential backoff while events wait in a bounded queue; the rows are in the database
 * already, so nothing here can fail or slow a request.
 */
export function createWebhook(o: WebhookOptions): Webhook {
  const batchSize = o.batchSize ?? 100
  const maxQueue = o.maxQueue ?? 10_000
  const timeoutMs = o.timeoutMs ?? 10_000
  const backoffBaseMs = o.backoffBaseMs ?? 500
  const backoffMaxMs = o.backoffMaxMs ?? 30_000
  const closeTimeoutMs = o.closeTimeoutMs ?? 5_000
  const target = describe(o.url)
  const drops = new DropCounter(o.logger, 'event webhook')
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 10_000 })
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'llm-metrics-proxy' }
  if (o.token) headers.authorization = `Bearer ${o.token}`

  let queue: RequestEvent[] = []
  let inFlight = 0
  let sending: Promise<void> | null = null
  let retryTimer: NodeJS.Timeout | null = null
  let failures = 0
  let delivered = 0
  let closing = false
  const abort = new AbortController()

  /**
   * Keeps the newest maxQueue events waiting (a batch in flight comes on top, so memory stays within
   * maxQueue + batchSize); a failed batch comes back at the front, so the oldest are dropped first.
   */
  function trim() {
    const excess = queue.length - maxQueue
    if (excess <= 0) return
    queue.splice(0, excess)
    drops.add(excess, 'the queue is full while the receiver fails or lags')
  }

  function kick() {
    if (sending || retryTimer || queue.length === 0 || abort.signal.aborted) return
    sending = deliverOne().finally(() => {
      sending = null
      if (!closing) kick()
    })
  }

  /** Sends the oldest batch once; on failure puts it back and schedules a retry. */
  async function deliverOne(): Promise<void> {
    const batch = queue.splice(0, batchSize)
    inFlight = batch.length
    let status = 0
    let error: string | null = null
    try {
      const res = await request(o.url, { method: 'POST', headers, body: JSON.stringify(batch), dispatcher: agent, signal: abort.signal })
      status = res.statusCode
      await res.body.dump()
    } catch (err) {
      error = (err as { code?: string }).code ?? (err as Error).name
    }
    // Out of flight before anything else looks at the queue's bound.
    inFlight = 0
    if (error !== null) return failed(batch, error)
    if (status >= 200 && status < 300) {
      delivered += batch.length
      if (failures > 0) o.logger.info({ target, attempts: failures }, 'event webhook: delivering again')
      failures = 0
      return
    }
    // The receiver refuses these events for good: retrying would block every later batch.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      o.logger.error({ target, status, events: batch.length }, 'event webhook: the receiver refused a batch')
      return drops.add(batch.length, `the receiver answered ${status}`)
    }
    failed(batch, `HTTP ${status}`)
  }

  function failed(batch: RequestEvent[], reason: string) {
    queue = batch.concat(queue)
    trim()
    failures++
    // 1, 2, 4, 8, ... failures in a row: enough to see it, not a line per retry.
    if ((failures & (failures - 1)) === 0) o.logger.warn({ target, reason, attempt: failures, pending: queue.length }, 'event webhook: delivery failed; will retry')
    if (closing) return
    const delay = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (failures - 1)) * (0.75 + Math.random() * 0.25)
    retryTimer = setTimeout(() => {
      retryTimer = null
      kick()
    }, delay)
    retryTimer.unref()
  }

  return {
    send(events) {
      if (abort.signal.aborted) return drops.add(events.length, 'the proxy is stopping')
      for (const event of events) queue.push(event)
      trim()
      kick()
    },
    async close() {
      closing = true
      const deadline = Date.now() + closeTimeoutMs
      const cut = setTimeout(() => abort.abort(), closeTimeoutMs)
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, Math.min(ms, deadline - Date.now()))))
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = null
      for (let attempt = 0; (queue.length > 0 || sending) && !abort.signal.aborted; ) {
        if (sending) {
          await sending
          continue
        }
        const before = failures
        kick()
        if (sending) await sending
        if (failures > before) await sleep(100 * 2 ** attempt++)
      }
      clearTimeout(cut)
      abort.abort()
      if (retryTimer) clearTimeout(retryTimer)
      const left = queue.length
      queue = []
      if (left > 0) drops.add(left, 'the receiver did not take them before shutdown')
      drops.close()
      const log = drops.total > 0 ? o.logger.warn.bind(o.logger) : o.logger.info.bind(o.logger)
      log({ target, delivered, dropped: drops.total }, `event webhook: ${delivered} events delivered, ${drops.total} dropped`)
      await agent.close().catch(() => {})
    },
    get delivered() {
      return delivered
    },
    get dropped() {
      return drops.total
    },
    get pending() {
      return queue.length + inFlight
    },
  }
}
