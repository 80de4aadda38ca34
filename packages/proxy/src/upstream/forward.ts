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

/** What every forwarded request shares; built once per proxy. */
export interface ForwardDeps {
  dispatcher: Dispatcher
  /** Base path of the backend URL (e.g. `/openai`), prepended to the client's path. */
  basePath: string
  backendApiKey?: string
  /** Abort callbacks of in-flight requests, called when the proxy gives up waiting at shutdown. */
  aborters: InFlight<() => void>
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
  const res = reply.raw
  const ex = o.exchange

  return new Promise<void>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null
    let started = false
    let sse: SseMeter | null = null
    let bodyMeter: BodyMeter | null = null
    // A compressed response: the meters read a decoded copy; the client gets the original bytes.
    let decoder: Transform | null = null
    let makeDecoder: ((first: Buffer) => Transform) | null = null
    let finishDecoding: (() => void) | null = null
    let unreadable = false
    let arrivedAt = 0
    let clientClosed = false
    let shuttingDown = false
    // What goes to the client is gathered per turn of the event loop and written once: the events
    // of one socket read from the backend become one HTTP chunk (one size line, one write) instead
    // of one each. Node corks the socket until the next tick anyway, so nothing leaves later.
    let pending: Buffer[] = []
    let pendingTick: Dispatcher.DispatchController | null = null
    // When the chunks of this turn arrived (they came in one read, together).
    let tickNow = 0
    // A stream read as it is (not compressed): the SSE meter reads the turn's bytes once, as one
    // buffer, when they are written, rather than each backend chunk (often one event) on its own.
    let meterAtFlush: SseMeter | null = null
    /** What was gathered, metered when it is a stream, as one buffer (null when nothing is left), taken out of `pending`. */
    const takePending = (): Buffer | null => {
      if (pending.length === 0) return null
      const parts = pending
      pending = []
      let data = parts.length === 1 ? parts[0] : Buffer.concat(parts)
      if (meterAtFlush !== null) data = meterAtFlush.push(data, tickNow)
      if (ex) ex.responseBytes += data.length
      return data.length > 0 ? data : null
    }
    /** Writes what was gathered; false when the client's socket asks us to wait. */
    const flush = (): boolean => {
      const data = takePending()
      return data === null || res.destroyed || res.write(data)
    }
    const flushTick = () => {
      const c = pendingTick!
      pendingTick = null
      if (!flush()) {
        // Backpressure: stop reading from the backend until the client catches up.
        c.pause()
        res.once('drain', () => c.resume())
      }
    }

    let counted = false
    const settle = (error?: ProxyError) => {
      if (counted) {
        counted = false
        deps.upstream.inflight--
      }
      deps.aborters.delete(aborter)
      if (error) reject(error)
      else resolve()
    }
    const onShutdown = () => {
      shuttingDown = true
      controller?.abort(new Error('the proxy is shutting down'))
    }
    const aborter = deps.aborters.add(onShutdown)

    const onClientClose = () => {
      if (res.writableFinished) return
      clientClosed = true
      if (ex) ex.clientGone = true
      controller?.abort(new Error('client closed the connection'))
      if (!started) {
        reply.hijack()
        settle()
      }
    }
    res.once('close', onClientClose)

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
        if (clientClosed) c.abort(new Error('client closed the connection'))
        else if (shuttingDown) c.abort(new Error('the proxy is shutting down'))
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return // 1xx informational
        started = true
        reply.hijack()
        let strip = false
        if (ex) {
          ex.statusCode = statusCode
          ex.capture?.begin(statusCode, isEventStream(headers) && statusCode < 300)
          const encoding = contentEncoding(headers['content-encoding'])
          if (encoding !== null) {
            makeDecoder = createDecoder(encoding)
            unreadable = makeDecoder === null
            if (unreadable && ex.capture) ex.capture.unreadable = true
            if (unreadable) request.log.warn({ encoding }, 'the backend answered in a content coding the proxy cannot read; no tokens for this row')
          }
          // Compressed bytes cannot be edited without re-encoding them: they pass unchanged.
          strip = o.stripUsageChunk && encoding === null
          if (unreadable) {
            // No meter: the row keeps the status (and the outcome it implies), without tokens.
          } else if (isEventStream(headers) && statusCode < 300) {
            sse = new SseMeter(strip, ex.protocol)
            ex.measureStream(sse)
            // Compressed: the decoder feeds the meter as it decodes instead.
            if (makeDecoder === null) meterAtFlush = sse
          } else {
            bodyMeter = new BodyMeter()
          }
        }
        const out = clientResponseHeaders(headers, sse !== null && strip)
        // Added to the fresh object rather than spread into another one.
        if (o.extraHeaders) for (const name in o.extraHeaders) out[name] = o.extraHeaders[name]
        res.writeHead(statusCode, out)
        // Streams: the client gets the headers now, not with the first token.
        if (sse !== null || isEventStream(headers)) res.flushHeaders()
      },
      onResponseData(c, chunk) {
        if (makeDecoder !== null) decode(chunk)
        else if (unreadable) {
          // Passed on, not measured.
        } else {
          bodyMeter?.push(chunk)
          ex?.capture?.push(chunk)
        }
        if (chunk.length === 0) return
        pending.push(chunk)
        if (pendingTick === null) {
          // The first chunk of this read: one clock read for all of them (the SSE meter's).
          if (meterAtFlush !== null) tickNow = performance.now()
          pendingTick = c
          process.nextTick(flushTick)
        }
      },
      onResponseEnd() {
        if (ex) ex.upstreamEndAt = performance.now()
        // The bytes of this last turn, metered before the meter hears of the end.
        let last = takePending()
        if (decoder !== null) {
          const meter = bodyMeter
          decoder.once('end', () => {
            if (sse !== null) sse.end(arrivedAt)
            else if (meter !== null) ex!.measureBody(meter, ex!.statusCode! >= 400)
            finishDecoding?.()
          })
          decoder.end()
        } else if (makeDecoder !== null || unreadable) {
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
        if (last !== null && !res.destroyed) res.end(last)
        else res.end()
        // A whole body is read for the row once the client has it: end() wrote it out, and the row
        // is made at 'close', which comes after this turn.
        if (bodyMeter !== null && makeDecoder === null) ex!.measureBody(bodyMeter, ex!.statusCode! >= 400)
        settle()
      },
      onResponseError(c, err: Error & { code?: string }) {
        if (decoder !== null) {
          decoder.destroy()
          finishDecoding?.()
        }
        if (clientClosed) {
          settle()
          return
        }
        if (!started) {
          const failure = shuttingDown
            ? new ProxyError(503, 'server_error', 'proxy_shutdown', 'The proxy is shutting down; retry the request.')
            : upstreamFailure(err)
          ex?.fail('network_error', failure.code, failure.message)
          settle(failure)
          return
        }
        // Mid-response: the client cannot get a status any more, so it gets the same broken
        // connection the backend gave us.
        const type = shuttingDown ? 'proxy_shutdown' : err.code === 'UND_ERR_BODY_TIMEOUT' ? 'backend_timeout' : 'backend_reset'
        ex?.fail('network_error', type, err.message)
        request.log.warn({ err }, 'backend failed mid-response')
        // Metered and counted; not written: the client's connection is cut as the backend's was.
        takePending()
        res.destroy()
        settle()
      },
    }

    /** Feeds the decoder; its output reaches the meters stamped with the arrival of the latest chunk. */
    function decode(chunk: Buffer) {
      arrivedAt = performance.now()
      if (decoder === null) {
        decoder = makeDecoder!(chunk)
        decoder.on('data', (plain: Buffer) => {
          if (sse !== null) sse.push(plain, arrivedAt)
          else bodyMeter?.push(plain)
          ex?.capture?.push(plain)
        })
        if (ex) ex.decoding = new Promise<void>((resolve) => (finishDecoding = resolve))
        decoder.on('error', (err) => {
          request.log.warn({ err }, 'could not decode the backend response for metering')
          finishDecoding?.()
        })
      }
      decoder.write(chunk)
    }

    const raw = request.raw
    if (ex) {
      ex.sentAt = performance.now()
      // Counted as it leaves, itself included: a request alone with the backend is at level 1.
      ex.inflight = ++deps.upstream.inflight
      counted = true
    }
    deps.dispatcher.dispatch(
      {
        path: deps.basePath + o.path,
        method: raw.method as Dispatcher.HttpMethod,
        headers: backendRequestHeaders(raw.headers, {
          backendApiKey: o.keyAuth ? o.keyAuth.upstreamKey : deps.backendApiKey,
          stripClientKey: o.keyAuth !== undefined,
          apiKeyHeader: ex?.protocol === 'anthropic' ? 'x-api-key' : 'authorization',
          remoteAddress: raw.socket.remoteAddress,
          protocol: request.protocol,
          bodyLength: o.body?.length ?? null,
        }),
        body: o.body,
      },
      handler,
    )
  })
}
