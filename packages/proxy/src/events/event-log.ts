import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { DropCounter } from './drop-counter.js'
import type { RequestEvent } from './event.js'

/** What the event log writes to: a writable that says when it is full and emits 'drain'. */
export interface LineStream {
  write(chunk: string): boolean
  once(event: 'drain', listener: () => void): unknown
  on?(event: 'error', listener: (err: Error) => void): unknown
}

export interface EventLog {
  /** Appends one JSON line per event; never blocks, never throws. */
  write(events: RequestEvent[]): void
  /** Writes what is held and, for a file, closes it. */
  close(): Promise<void>
  readonly written: number
  readonly dropped: number
}

export interface EventLogOptions {
  stream: LineStream
  logger: FastifyBaseLogger
  /** Bytes held while the stream is full; beyond it new lines are dropped (and counted). */
  maxHeldBytes?: number
  /** Called once the stream is done (a file's close). */
  end?: () => Promise<void>
}

/**
 * One JSON line per stored row. Each batch becomes one write of whole lines, so a line is never cut
 * by another writer of the same stream (stdout shares pino's destination, see server.ts). While the
 * stream reports backpressure, lines wait in a bounded buffer; the request path never waits.
 */
export function createEventLog(o: EventLogOptions): EventLog {
  const maxHeldBytes = o.maxHeldBytes ?? 16 * 1024 * 1024
  const drops = new DropCounter(o.logger, 'event log')
  let held: string[] = []
  let heldBytes = 0
  let blocked = false
  let written = 0
  /** Why the stream cannot be written any more (a file on a failed disk, say): lines are dropped, counted. */
  let broken: string | null = null
  o.stream.on?.('error', (err) => {
    broken ??= err.message
    o.logger.error({ err: { message: err.message } }, 'event log: the output failed; events are dropped from now on (the rows are in the database)')
  })

  function flushHeld() {
    blocked = false
    if (held.length === 0) return
    const chunk = held.join('')
    held = []
    heldBytes = 0
    push(chunk)
  }

  function push(chunk: string) {
    try {
      if (!o.stream.write(chunk)) {
        blocked = true
        o.stream.once('drain', flushHeld)
      }
    } catch (err) {
      o.logger.error({ err: { message: (err as Error).message } }, 'event log: write failed')
    }
  }

  return {
    write(events) {
      if (broken !== null) return drops.add(events.length, `the output failed: ${broken}`)
      let chunk = ''
      for (const event of events) chunk += JSON.stringify(event) + '\n'
      if (!blocked) {
        written += events.length
        return push(chunk)
      }
      if (heldBytes + chunk.length > maxHeldBytes) return drops.add(events.length, 'the output is not keeping up')
      held.push(chunk)
      heldBytes += chunk.length
      written += events.length
    },
    async close() {
      if (blocked && broken === null) {
        // A reader that never drains must not hold the shutdown: give it 2 s, then hand over the rest.
        let timer: NodeJS.Timeout | undefined
        await Promise.race([once(o.stream as unknown as NodeJS.EventEmitter, 'drain').catch(() => {}), new Promise((r) => (timer = setTimeout(r, 2_000)))])
        clearTimeout(timer)
      }
      flushHeld()
      drops.close()
      await o.end?.()
    },
    get written() {
      return written
    },
    get dropped() {
      return drops.total
    },
  }
}

/** The event log of `EVENT_LOG=<path>`: the file opened in append mode (created if missing). */
export async function openEventLogFile(file: string, logger: FastifyBaseLogger): Promise<EventLog> {
  const stream = createWriteStream(file, { flags: 'a' })
  try {
    await once(stream, 'open')
  } catch (err) {
    throw new Error(`EVENT_LOG=${file}: ${(err as Error).message}`)
  }
  return createEventLog({
    stream,
    logger,
    end: () => new Promise<void>((resolve) => stream.end(resolve)),
  })
}
