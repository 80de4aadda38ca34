import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import { ProxyError, upstreamFailure } from '../errors.js'
import { BodyMeter } from '../metering/body-meter.js'
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
  aborters: Set<() => void>
}

export interface ForwardOptions extends ForwardDeps {
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

const isEventStream = (headers: IncomingHttpHeaders) => String(headers['content-type'] ?? '').startsWith('text/event-stream')

/**
 * Sends the request to the backend and the response back to the client as it arrives, byte for
 * byte, reading a copy for the metrics. Resolves once the response is over; rejects with a
 * ProxyError when the backend failed before sending anything (the error handler answers then).
 */
export function forward(request: FastifyRequest, reply: FastifyReply, o: ForwardOptions): Promise<void> {
  const res = reply.raw
  const ex = o.exchange

  return new Promise<void>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null
    let started = false
    let sse: SseMeter | null = null
    let bodyMeter: BodyMeter | null = null
    let clientClosed = false
    let shuttingDown = false

    const settle = (error?: ProxyError) => {
      o.aborters.delete(onShutdown)
      if (error) reject(error)
      else resolve()
    }
    const onShutdown = () => {
      shuttingDown = true
      controller?.abort(new Error('the proxy is shutting down'))
    }
    o.aborters.add(onShutdown)

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
        if (ex) {
          ex.statusCode = statusCode
          if (isEventStream(headers) && statusCode < 300) {
            sse = new SseMeter(o.stripUsageChunk)
            ex.measureStream(sse)
          } else {
            bodyMeter = new BodyMeter()
          }
        }
        const out = clientResponseHeaders(headers, sse !== null && o.stripUsageChunk)
        res.writeHead(statusCode, o.extraHeaders ? { ...out, ...o.extraHeaders } : out)
        // Streams: the client gets the headers now, not with the first token.
        if (sse !== null || isEventStream(headers)) res.flushHeaders()
      },
      onResponseData(c, chunk) {
        let out = chunk
        if (sse !== null) out = sse.push(chunk, performance.now())
        else bodyMeter?.push(chunk)
        if (out.length === 0) return
        if (ex) ex.responseBytes += out.length
        if (!res.write(out)) {
          // Backpressure: stop reading from the backend until the client catches up.
          c.pause()
          res.once('drain', () => c.resume())
        }
      },
      onResponseEnd() {
        if (sse !== null) {
          const rest = sse.end(performance.now())
          if (rest.length > 0) {
            ex!.responseBytes += rest.length
            res.write(rest)
          }
        } else if (bodyMeter !== null) {
          ex!.measureBody(bodyMeter.summarize(ex!.statusCode! >= 400))
        }
        res.end()
        settle()
      },
      onResponseError(c, err: Error & { code?: string }) {
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
        res.destroy()
        settle()
      },
    }

    const raw = request.raw
    o.dispatcher.dispatch(
      {
        path: o.basePath + raw.url,
        method: raw.method as Dispatcher.HttpMethod,
        headers: backendRequestHeaders(raw.headers, {
          backendApiKey: o.keyAuth ? o.keyAuth.upstreamKey : o.backendApiKey,
          stripClientKey: o.keyAuth !== undefined,
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
