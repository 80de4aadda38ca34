import { METERED_ENDPOINTS, type ProxyConfig, type RequestRow } from '@llm-proxy/core'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Dispatcher } from 'undici'
import { ProxyError, errorBody, methodNotAllowed, toProxyError, unknownUrl } from './errors.js'
import { Exchange, type Pricer } from './metering/exchange.js'
import { createPricer } from './metering/pricing.js'
import { createRowWriter, type RowSink, type RowWriter } from './recording/row-writer.js'
import { meteredRoute } from './routes/metered.js'
import { passthroughRoute } from './routes/passthrough.js'
import { createBackendDispatcher } from './upstream/dispatcher.js'

export type ProxyAppConfig = Pick<
  ProxyConfig,
  'backendUrl' | 'backendApiKey' | 'bodyLimit' | 'streamUsage' | 'connectTimeoutMs' | 'headersTimeoutMs' | 'idleTimeoutMs' | 'trustProxy'
> & Partial<Pick<ProxyConfig, 'prices'>>

export interface ProxyOptions {
  config: ProxyAppConfig
  /** Where rows are written in batches (createRequestStore(openWriterDb(file)) in production). */
  store: RowSink
  /** Injected in tests; otherwise one pooled keep-alive dispatcher for the backend. */
  dispatcher?: Dispatcher
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger
  /** Prices each row's tokens (cost_usd) when the row is made; by default PRICES_FILE then the bundled table; null: no cost. */
  pricer?: Pricer | null
  /** Called for each row as it is queued. */
  onRecorded?: (row: RequestRow) => void
  /** Row batching; defaults suit production. */
  batchSize?: number
  flushIntervalMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    rows: RowWriter
    /** Resolves once no metered request is in flight, or after `timeoutMs`; then aborts the rest. */
    drain(timeoutMs: number): Promise<void>
  }
  interface FastifyRequest {
    exchange: Exchange | null
  }
}

/** Splits BACKEND_URL into the origin undici connects to and a base path prepended to every request. */
export function splitBackendUrl(backendUrl: string): { origin: string; basePath: string } {
  const url = new URL(backendUrl)
  // Clients already send /v1/...; a base URL ending in /v1 (as SDKs are configured) would double it.
  const basePath = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')
  return { origin: url.origin, basePath }
}

/** Every path the proxy serves, with its methods; other methods on these paths get a 405. */
function allowedMethods(path: string): readonly string[] | null {
  if ((METERED_ENDPOINTS as readonly string[]).includes(path)) return ['POST']
  if (path === '/v1/models' || path.startsWith('/v1/models/') || path === '/health') return ['GET', 'HEAD']
  return null
}

/** The path as the router sees it: percent-decoded, without the query. */
function routedPath(url: string): string {
  const path = url.split('?')[0]
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

const isAnthropicPath = (path: string) => path === '/v1/messages' || path.startsWith('/v1/messages/')

export function buildProxy(options: ProxyOptions): FastifyInstance {
  const { config } = options
  const isLogger = options.logger && typeof options.logger === 'object' && 'child' in options.logger
  const app = Fastify({
    ...(isLogger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: options.logger ?? false }),
    // One line per request is written when its row is made (see onResponse below for the rest).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Bytes that are not HTTP (e.g. a body after a DELETE sent without a length) get an error in
    // OpenAI's shape too, not Fastify's own; the connection is closed after it, as Node requires.
    clientErrorHandler: (err: Error & { code?: string }, socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy(err)
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
      const status = tooLarge ? 431 : 400
      const body = JSON.stringify(
        new ProxyError(status, 'invalid_request_error', tooLarge ? 'headers_too_large' : 'bad_request', tooLarge ? 'The request headers are too large.' : 'The request is not valid HTTP.').toBody(),
      )
      socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    },
    // A URL the router cannot decode (e.g. a lone `%`) gets the same 404 as any unknown URL.
    frameworkErrors: (err, request, reply) => {
      const status = err.code === 'FST_ERR_BAD_URL' ? 404 : 400
      const error = status === 404 ? unknownUrl(request.method, request.url) : toProxyError(err, config.bodyLimit)
      return (reply as unknown as FastifyReply).code(error.statusCode).send(errorBody(error, isAnthropicPath(request.url.split('?')[0])))
    },
  })

  const { origin, basePath } = splitBackendUrl(config.backendUrl)
  const ownsDispatcher = !options.dispatcher
  const dispatcher = options.dispatcher ?? createBackendDispatcher(origin, config)
  const rows = createRowWriter({
    sink: options.store,
    logger: app.log,
    onRecorded: options.onRecorded,
    batchSize: options.batchSize,
    flushIntervalMs: options.flushIntervalMs,
  })
  const aborters = new Set<() => void>()
  const inflight = new Set<Promise<void>>()

  app.decorate('rows', rows)
  app.decorateRequest('exchange', null)
  app.decorate('drain', async (timeoutMs: number) => {
    if (inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))
      await Promise.race([Promise.allSettled([...inflight]), timeout])
      clearTimeout(timer)
    }
    for (const abort of [...aborters]) abort()
    await Promise.allSettled([...inflight])
  })

  // The body is kept as bytes: it is forwarded unchanged, and parsed once by the route.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  app.setErrorHandler((err: Error, request, reply) => {
    const error = toProxyError(err, config.bodyLimit)
    if (error.statusCode >= 500) request.log.error({ err }, 'request failed')
    // Failures talking to the backend were already recorded as network errors; the first reason wins.
    request.exchange?.fail(error.statusCode >= 500 ? 'backend_error' : 'client_error', error.code, error.message)
    return reply.code(error.statusCode).send(errorBody(error, request.exchange?.protocol === 'anthropic'))
  })
  // Unknown paths get a 404 and known paths asked with another method a 405 with `Allow`, in the
  // shape of the path's protocol; neither is a row (nothing was metered).
  app.setNotFoundHandler((request, reply) => {
    const path = routedPath(request.url)
    const allow = allowedMethods(path)
    const anthropic = isAnthropicPath(path)
    if (allow !== null) {
      return reply.code(405).header('allow', allow.join(', ')).send(errorBody(methodNotAllowed(request.method, path, allow), anthropic))
    }
    return reply.code(404).send(errorBody(unknownUrl(request.method, request.url), anthropic))
  })

  // Unmetered requests get their log line here; metered ones when their row is made.
  app.addHook('onResponse', (request, reply, done) => {
    if (!request.exchange && request.url !== '/health') request.log.info({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed')
    done()
  })

  const pricer = options.pricer === undefined ? createPricer(config.prices ?? []) : options.pricer
  const forwardDeps = { dispatcher, basePath, backendApiKey: config.backendApiKey, aborters }
  for (const endpoint of METERED_ENDPOINTS) {
    app.register(meteredRoute, { endpoint, streamUsage: config.streamUsage, forwardDeps, rows, inflight, pricer })
  }
  app.register(passthroughRoute, { forwardDeps })
  app.get('/health', async () => ({ status: 'ok' }))

  app.addHook('onClose', async () => {
    await rows.close()
    if (ownsDispatcher) await dispatcher.close()
  })
  return app
}

export { ProxyError }
