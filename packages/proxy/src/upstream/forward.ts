import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Transform } from 'node:stream'
import type { Dispatcher } from 'undici'
import { ProxyError, upstreamFailure } from '../errors.js'
import type { InFlight } from '../in-flight.js'
import { BodyMeter } from '../metering/body-meter.js'
import { contentEncoding, createDecoder } from '../metering/decode.js'
import type { Exchange } from '../metering/exchange.js'
import { SseMeter } from '../metering/sse-meter.js'
import { backendRequestHeaders, clientResponseHeaders } from './headers.js'

/** A forwarded request as shutdown sees it. */
export interface Abortable {
  abortForShutdown(): void
}

/** What every forwarded request shares; built once per proxy. */
export interface ForwardDeps {
  dispatcher: Dispatcher
  /** Base path of the backend URL (e.g. `/openai`), prepended to the client's path. */
  basePath: string
  backendApiKey?: string
  /** In-flight requests, aborted when the proxy gives up waiting at shutdown. */
  aborters: InFlight<Abortable>
  /** Metered requests sent to the backend whose response has not ended yet (each row's `inflight`). */
  upstream: { inflight: number }
}

/**
 * One forwarded request, passed apart from the deps. Not `{ ...deps, path, ... }`: with that spread
 * object per request, what it referenced (the exchange, its meters, the socket reads they held)
 * survived scavenges and died in the old generation: ~1.5 KB promoted per request at concurrency 1,
 * ten times what a plain literal costs (`--trace-gc-nvp`), and the socket reads' memory grew the
 * malloc arena by ~40 MB under load. A plain literal (this) is collected young.
 */
export interface ForwardOptions {
  /** The path sent upstream (before the base path): the one that was routed, plus the query. */
  path: string
  body: Buffer | null
  /** The measurements to fill in; null for unmetered routes. */
  exchange: Exchange | null
  /** Remove the usage-only chunk the proxy asked for on the client's behalf. */
  stripUsageChunk: boolean
  /** AUTH_MODE=keys: the client's proxy key is dropped; this key (the key's own, or BACKEND_API_KEY) goes upstream. */
  keyAuth?: { upstreamKey: string | undefined }
  /** Added to the response (the x-ratelimit-* headers of a key's limits). */
  extraHeaders?: Record<string, string>
}

/** The query string of a raw URL, with its `?`, or ''. */
export const queryOf = (url: string) => {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q)
}

const isEventStream = (headers: IncomingHttpHeaders) => String(headers['content-type'] ?? '').startsWith('text/event-stream')

/**
 * Sends the request to the backend and the response back to the client as it arrives, byte for
 * byte, reading a copy for the metrics. Resolves once the response is over; rejects with a
 * ProxyError when the backend failed before sending anything (the error handler answers then).
 */
export function forward(request: FastifyRequest, reply: FastifyReply, deps: ForwardDeps, o: ForwardOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => new Forwarding(request, reply, deps, o, resolve, reject).start())
}

/** Why the backend request is aborted: said when it happens, or when the request starts after it. */
const CLIENT_CLOSED = 'client closed the connection'
const SHUTTING_DOWN = 'the proxy is shutting down'

/** process.nextTick's callback: one function for every request (its argument says which). */
function flushTickOf(f: Forwarding): void {
  f.flushTick()
}

/**
 * One request on its way: the undici handler and its state. A class, not a dozen closures made per
 * request: V8 compiled those closures' code again and again over a process's life (`--trace-opt`:
 * `onResponseData` nine times, `takePending` five, `onResponseEnd` four); methods on a prototype
 * are compiled once or twice, and a request allocates one object instead of the closures.
 */
class Forwarding implements Dispatcher.DispatchHandler, Abortable {
  private readonly res: FastifyReply['raw']
  private readonly ex: Exchange | null
  private controller: Dispatcher.DispatchController | null = null
  private started = false
  private sse: SseMeter | null = null
  private bodyMeter: BodyMeter | null = null
  // A compressed response: the meters read a decoded copy; the client gets the original bytes.
  private decoder: Transform | null = null
  private makeDecoder: ((first: Buffer) => Transform) | null = null
  private finishDecoding: (() => void) | null = null
  private unreadable = false
  private arrivedAt = 0
  private clientClosed = false
  private shuttingDown = false
  // What goes to the client is gathered per turn of the event loop and written once: the events
  // of one socket read from the backend become one HTTP chunk (one size line, one write) instead
  // of one each. Node corks the socket until the next tick anyway, so nothing leaves later.
  private pending: Buffer[] = []
  private pendingTick: Dispatcher.DispatchController | null = null
  // When the chunks of this turn arrived (they came in one read, together).
  private tickNow = 0
  // A stream read as it is (not compressed): the SSE meter reads the turn's bytes once, as one
  // buffer, when they are written, rather than each backend chunk (often one event) on its own.
  private meterAtFlush: SseMeter | null = null
  private counted = false
  private readonly aborter: ReturnType<InFlight<Abortable>['add']>

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly deps: ForwardDeps,
    private readonly o: ForwardOptions,
    private readonly resolve: () => void,
    private readonly reject: (err: ProxyError) => void,
  ) {
    this.res = reply.raw
    this.ex = o.exchange
    this.aborter = deps.aborters.add(this)
  }

  start(): void {
    this.res.once('close', () => this.onClientClose())
    const raw = this.request.raw
    const ex = this.ex
    if (ex) {
      ex.sentAt = performance.now()
      // Counted as it leaves, itself included: a request alone with the backend is at level 1.
      ex.inflight = ++this.deps.upstream.inflight
      this.counted = true
    }
    const o = this.o
    this.deps.dispatcher.dispatch(
      {
        path: this.deps.basePath + o.path,
        method: raw.method as Dispatcher.HttpMethod,
        headers: backendRequestHeaders(raw.headers, {
          backendApiKey: o.keyAuth ? o.keyAuth.upstreamKey : this.deps.backendApiKey,
          stripClientKey: o.keyAuth !== undefined,
          apiKeyHeader: ex?.protocol === 'anthropic' ? 'x-api-key' : 'authorization',
          remoteAddress: raw.socket.remoteAddress,
          protocol: this.request.protocol,
          bodyLength: o.body?.length ?? null,
        }),
        body: o.body,
      },
      this,
    )
  }

  /** What was gathered, metered when it is a stream, as one buffer (null when nothing is left), taken out of `pending`. */
  private takePending(): Buffer | null {
    if (this.pending.length === 0) return null
    const parts = this.pending
    this.pending = []
    let data = parts.length === 1 ? parts[0] : Buffer.concat(parts)
    if (this.meterAtFlush !== null) data = this.meterAtFlush.push(data, this.tickNow)
    if (this.ex) this.ex.responseBytes += data.length
    return data.length > 0 ? data : null
  }

  /** Writes what was gathered; false when the client's socket asks us to wait. */
  private flush(): boolean {
    const data = this.takePending()
    return data === null || this.res.destroyed || this.res.write(data)
  }

  flushTick(): void {
    const c = this.pendingTick!
    this.pendingTick = null
    if (!this.flush()) {
      // Backpressure: stop reading from the backend until the client catches up.
      c.pause()
      this.res.once('drain', () => c.resume())
    }
  }

  private settle(error?: ProxyError): void {
    if (this.counted) {
      this.counted = false
      this.deps.upstream.inflight--
    }
    this.deps.aborters.delete(this.aborter)
    if (error) this.reject(error)
    else this.resolve()
  }

  abortForShutdown(): void {
    this.shuttingDown = true
    this.controller?.abort(new Error(SHUTTING_DOWN))
  }

  private onClientClose(): void {
    if (this.res.writableFinished) return
    this.clientClosed = true
    if (this.ex) this.ex.clientGone = true
    this.controller?.abort(new Error(CLIENT_CLOSED))
    if (!this.started) {
      this.reply.hijack()
      this.settle()
    }
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c
    if (this.clientClosed) c.abort(new Error(CLIENT_CLOSED))
    else if (this.shuttingDown) c.abort(new Error(SHUTTING_DOWN))
  }

  onResponseStart(c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return // 1xx informational
    // undici's controller keeps the head's raw bytes (a Buffer per name and value, and the socket read
    // they were cut from) for the life of the request; the parsed headers are all we read.
    c.rawHeaders = null
    this.started = true
    this.reply.hijack()
    let strip = false
    const ex = this.ex
    if (ex) {
      ex.statusCode = statusCode
      ex.capture?.begin(statusCode, isEventStream(headers) && statusCode < 300)
      const encoding = contentEncoding(headers['content-encoding'])
      if (encoding !== null) {
        this.makeDecoder = createDecoder(encoding)
        this.unreadable = this.makeDecoder === null
        if (this.unreadable && ex.capture) ex.capture.unreadable = true
        if (this.unreadable) this.request.log.warn({ encoding }, 'the backend answered in a content coding the proxy cannot read; no tokens for this row')
      }
      // Compressed bytes cannot be edited without re-encoding them: they pass unchanged.
      strip = this.o.stripUsageChunk && encoding === null
      if (this.unreadable) {
        // No meter: the row keeps the status (and the outcome it implies), without tokens.
      } else if (isEventStream(headers) && statusCode < 300) {
        this.sse = new SseMeter(strip, ex.protocol)
        ex.measureStream(this.sse)
        // Compressed: the decoder feeds the meter as it decodes instead.
        if (this.makeDecoder === null) this.meterAtFlush = this.sse
      } else {
        this.bodyMeter = new BodyMeter()
      }
    }
    const out = clientResponseHeaders(headers, this.sse !== null && strip)
    // Added to the fresh object rather than spread into another one.
    const extra = this.o.extraHeaders
    if (extra) for (const name in extra) out[name] = extra[name]
    this.res.writeHead(statusCode, out)
    // Streams: the client gets the headers now, not with the first token.
    if (this.sse !== null || isEventStream(headers)) this.res.flushHeaders()
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.makeDecoder !== null) this.decode(chunk)
    else if (this.unreadable) {
      // Passed on, not measured.
    } else {
      this.bodyMeter?.push(chunk)
      this.ex?.capture?.push(chunk)
    }
    if (chunk.length === 0) return
    this.pending.push(chunk)
    if (this.pendingTick === null) {
      // The first chunk of this read: one clock read for all of them (the SSE meter's).
      if (this.meterAtFlush !== null) this.tickNow = performance.now()
      this.pendingTick = c
      process.nextTick(flushTickOf, this)
    }
  }

  onResponseEnd(): void {
    const ex = this.ex
    if (ex) ex.upstreamEndAt = performance.now()
    // The bytes of this last turn, metered before the meter hears of the end.
    let last = this.takePending()
    const sse = this.sse
    if (this.decoder !== null) {
      const meter = this.bodyMeter
      this.decoder.once('end', () => {
        if (sse !== null) sse.end(this.arrivedAt)
        else if (meter !== null) ex!.measureBody(meter, ex!.statusCode! >= 400)
        this.finishDecoding?.()
      })
      this.decoder.end()
    } else if (this.makeDecoder !== null || this.unreadable) {
      // Nothing to decode (an empty body).
    } else if (sse !== null) {
      // An event left without its closing blank line (already metered, sent as it is).
      const rest = sse.end(performance.now())
      if (rest.length > 0) {
        ex!.responseBytes += rest.length
        last = last === null ? rest : Buffer.concat([last, rest])
      }
    }
    // The last bytes go with the end: one call, and for a body in one read one write in all.
    if (last !== null && !this.res.destroyed) this.res.end(last)
    else this.res.end()
    // A whole body is read for the row once the client has it: end() wrote it out, and the row
    // is made at 'close', which comes after this turn.
    if (this.bodyMeter !== null && this.makeDecoder === null) ex!.measureBody(this.bodyMeter, ex!.statusCode! >= 400)
    this.settle()
  }

  onResponseError(c: Dispatcher.DispatchController, err: Error & { code?: string }): void {
    if (this.decoder !== null) {
      this.decoder.destroy()
      this.finishDecoding?.()
    }
    if (this.clientClosed) {
      this.settle()
      return
    }
    if (!this.started) {
      const failure = this.shuttingDown
        ? new ProxyError(503, 'server_error', 'proxy_shutdown', 'The proxy is shutting down; retry the request.')
        : upstreamFailure(err)
      this.ex?.fail('network_error', failure.code, failure.message)
      this.settle(failure)
      return
    }
    // Mid-response: the client cannot get a status any more, so it gets the same broken
    // connection the backend gave us.
    const type = this.shuttingDown ? 'proxy_shutdown' : err.code === 'UND_ERR_BODY_TIMEOUT' ? 'backend_timeout' : 'backend_reset'
    this.ex?.fail('network_error', type, err.message)
    this.request.log.warn({ err }, 'backend failed mid-response')
    // Metered and counted; not written: the client's connection is cut as the backend's was.
    this.takePending()
    this.res.destroy()
    this.settle()
  }

  /** Feeds the decoder; its output reaches the meters stamped with the arrival of the latest chunk. */
  private decode(chunk: Buffer): void {
    this.arrivedAt = performance.now()
    if (this.decoder === null) {
      const decoder = (this.decoder = this.makeDecoder!(chunk))
      decoder.on('data', (plain: Buffer) => {
        if (this.sse !== null) this.sse.push(plain, this.arrivedAt)
        else this.bodyMeter?.push(plain)
        this.ex?.capture?.push(plain)
      })
      if (this.ex) this.ex.decoding = new Promise<void>((resolve) => (this.finishDecoding = resolve))
      decoder.on('error', (err) => {
        this.request.log.warn({ err }, 'could not decode the backend response for metering')
        this.finishDecoding?.()
      })
    }
    this.decoder.write(chunk)
  }
}
