import type { EventsConfig, RequestRow } from '@llm-proxy/core'
import type { FastifyBaseLogger } from 'fastify'
import { toEvent } from './event.js'
import { createEventLog, openEventLogFile, type EventLog, type LineStream } from './event-log.js'
import type { OtelMetrics } from './otel.js'
import { createWebhook, type Webhook, type WebhookOptions } from './webhook.js'

/** Everything rows go to once stored, besides the database (DESIGN.md §9). */
export interface EventOutputs {
  /** The row writer's onStored: hands each stored batch to every output; never throws. */
  onStored(rows: RequestRow[]): void
  /** Flushes and stops every output (after the row writer has stored its last rows). */
  close(): Promise<void>
  readonly log: EventLog | null
  readonly webhook: Webhook | null
  readonly otel: OtelMetrics | null
}

export interface EventOutputOptions {
  logger: FastifyBaseLogger
  /** The backend URL (OpenTelemetry's server.address/port). */
  backendUrl: string
  /** Where `EVENT_LOG=stdout` writes: the logger's own destination, so lines never interleave. */
  stdout?: LineStream
  /** The name of a key by its id (AUTH_MODE=keys), for the events' `key_name`. */
  keyName?: (keyId: string) => string | null | undefined
  /** Tuning of the webhook sender (tests make its queue small). */
  webhook?: Partial<Omit<WebhookOptions, 'url' | 'token' | 'logger'>>
}

/** Starts the outputs the config asks for; null when there are none (then the proxy does no extra work). */
export async function startEventOutputs(config: EventsConfig, o: EventOutputOptions): Promise<EventOutputs | null> {
  if (!config.log && !config.webhook && !config.otel) return null
  const logger = o.logger
  let log: EventLog | null = null
  if (config.log === 'stdout') {
    if (!o.stdout) throw new Error('EVENT_LOG=stdout needs the log destination')
    log = createEventLog({ stream: o.stdout, logger })
  } else if (config.log) {
    log = await openEventLogFile(config.log.file, logger)
  }
  const webhook = config.webhook ? createWebhook({ ...o.webhook, url: config.webhook.url, token: config.webhook.token, logger }) : null
  // Imported only when asked for: the SDK costs nothing to a proxy that does not use it.
  const otel = config.otel ? await (await import('./otel.js')).startOtelMetrics({ ...config.otel, backendUrl: o.backendUrl, logger }) : null

  const each = (what: string, fn: () => void) => {
    try {
      fn()
    } catch (err) {
      logger.error({ err: { message: (err as Error).message }, output: what }, 'an event output failed')
    }
  }
  return {
    log,
    webhook,
    otel,
    onStored(rows) {
      if (log || webhook) {
        const events = rows.map((row) => toEvent(row, row.key_id !== null && o.keyName ? (o.keyName(row.key_id) ?? null) : null))
        if (log) each('event log', () => log.write(events))
        if (webhook) each('event webhook', () => webhook.send(events))
      }
      if (otel) each('otlp', () => otel.record(rows))
    },
    async close() {
      await Promise.allSettled([log?.close(), webhook?.close(), otel?.close()])
    },
  }
}
