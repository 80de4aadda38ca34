import { METERED_ENDPOINTS, type CaptureConfig, type ProxyConfig, type RequestRow } from '@llm-proxy/core'
import type { CaptureStore, RowSink } from '@llm-proxy/storage/sink'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { createCaptureWriter, type CaptureWriter } from './capture/writer.js'
import { ProxyError, bodyTimeout, clientErrorBody, errorBody, methodNotAllowed, toProxyError, unknownUrl } from './errors.js'
import { redactUrl } from './log-redaction.js'
import type { EventOutputs } from './events/outputs.js'
import { Exchange, type Pricer } from './metering/exchange.js'
import { createPricer } from './metering/pricing.js'
import { createRowWriter, type RowWriter } from './recording/row-writer.js'
import type { KeyGuard, LiveKey } from './keys/guard.js'
import { presentedSecret } from './keys/secrets.js'
import { InFlight } from './in-flight.js'
import type { Abortable } from './upstream/forward.js'
import { meteredRoute, type MeteredInFlight } from './routes/metered.js'
import { passthroughRoute } from './routes/passthrough.js'
import { createBackendDispatcher } from './upstream/dispatcher.js'

export type ProxyAppConfig = Pick<
  ProxyConfig,
  'backendUrl' | 'backendApiKey' | 'bodyLimit' | 'streamUsage' | 'connectTimeoutMs' | 'headersTimeoutMs' | 'idleTimeoutMs' | 'trustProxy'
> & Partial<Pick<ProxyConfig, 'bodyTimeoutMs' | 'prices' | 'storageThreadNice'>>

export interface ProxyOptions {
  config: ProxyAppConfig
  /** Where rows are written in batches (openRowSink() in production; the caller closes it). */
  sink: Pick<RowSink, 'insertBatch'>
  /** Injected in tests; otherwise one pooled keep-alive dispatcher for the backend. */
  dispatcher?: Dispatcher
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger
  /** Prices each row's tokens (cost_usd) when the row is made; by default PRICES_FILE then the bundled table; null: no cost. */
  pricer?: Pricer | null
  /** Called for each row as it is queued. */
  onRecorded?: (row: RequestRow) => void
  /** AUTH_MODE=keys: the keys in memory and their limits (started by the caller). */
  keyGuard?: KeyGuard
  /** Event log, webhook and OpenTelemetry (startEventOutputs); fed each batch once stored, closed after the rows. */
  events?: EventOutputs | null
  /** Content capture (CAPTURE, DESIGN.md §8) and where captures go; absent or mode off without keys: nothing is captured. */
  capture?: { config: CaptureConfig; store: CaptureStore } | null
  /** Row batching; defaults suit production. */
  batchSize?: number
  flushIntervalMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    rows: RowWriter
    /** Captured content waiting to be built and stored; null when nothing is captured. */
    captures: CaptureWriter | null
    /** Resolves once no metered request is in flight, or after `timeoutMs`; then aborts the rest. */
    drain(timeoutMs: number): Promise<void>
  }
  interface FastifyRequest {
    exchange: Exchange | null
    /** The proxy key of the request (AUTH_MODE=keys), once authenticated. */
    key: LiveKey | null
    rateHeaders: Record<string, string> | null
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
function allowedMethods(path: string, keys: boolean): readonly string[] | null {
  if ((METERED_ENDPOINTS as readonly string[]).includes(path)) return ['POST']
  if (path === '/v1/models' || path.startsWith('/v1/models/') || path === '/health' || (keys && path === '/v1/key')) return ['GET', 'HEAD']
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
    // Node's own limit stays as a backstop behind BODY_TIMEOUT_MS, which answers in OpenAI's shape.
    requestTimeout: (config.bodyTimeoutMs ?? 30_000) * 2,
    clientErrorHandler(err: Error & { code?: string }, socket: Socket) {
      // Node's HTTP parser refused the request (a bad chunk size, say): tell the client in OpenAI's
      // shape, and the row of a metered request says what the client was told.
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      const answer = clientErrorBody(err)
      const ex = exchangeOfSocket.get(socket)
      if (ex) {
        ex.statusCode = answer.status
        ex.responseBytes = answer.bytes.length
        ex.fail('client_error', answer.code, answer.message)
      }
      if (socket.writable) socket.write(answer.bytes)
      socket.destroy(err)
    },
    // A URL the router cannot decode (e.g. a lone `%`) gets the same 404 as any unknown URL.
    frameworkErrors: (err, request, reply) => {
      const status = err.code === 'FST_ERR_BAD_URL' ? 404 : 400
      const error = status === 404 ? unknownUrl(request.method, redactUrl(request.url)) : toProxyError(err, config.bodyLimit)
      return (reply as unknown as FastifyReply).code(error.statusCode).send(errorBody(error, isAnthropicPath(request.url.split('?')[0])))
    },
  })
  const exchangeOfSocket = new WeakMap<Socket, Exchange>()

  const { origin, basePath } = splitBackendUrl(config.backendUrl)
  const ownsDispatcher = !options.dispatcher
  const dispatcher = options.dispatcher ?? createBackendDispatcher(origin, config)
  const rows = createRowWriter({
    sink: options.sink,
    logger: app.log,
    onRecorded: options.onRecorded,
    onStored: options.events?.onStored,
    batchSize: options.batchSize,
    flushIntervalMs: options.flushIntervalMs,
  })
  const aborters = new InFlight<Abortable>()
  /** Metered requests in flight, each with a promise that settles once its row is recorded. */
  const inflight = new InFlight<MeteredInFlight>()
  const recorded = () => inflight.values().map((r) => r.recorded)

  app.decorate('rows', rows)
  app.decorateRequest('exchange', null)
  app.decorateRequest('key', null)
  app.decorateRequest('rateHeaders', null)
  app.decorate('drain', async (timeoutMs: number) => {
    if (inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))
      await Promise.race([Promise.allSettled(recorded()), timeout])
      clearTimeout(timer)
    }
    if (inflight.size === 0) return
    // Whatever is still running is cut now, whatever the client does (a body trickling in included);
    // each cut request still gets its row, marked proxy_shutdown.
    for (const { ex } of inflight.values()) ex.fail('network_error', 'proxy_shutdown', 'The proxy shut down before the request finished.')
    for (const f of aborters.values()) f.abortForShutdown()
    app.server.closeAllConnections()
    await Promise.allSettled(recorded())
  })

  // The body is kept as bytes: it is forwarded unchanged, and parsed once by the route.
  app.removeAllContentTypeParsers()
  const asBytes = (_req: unknown, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body)
  // Registered by name as well: Fastify remembers which parser a Content-Type header gets only for
  // types registered by name; with the catch-all alone it parses the header on every request (~3 µs).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, asBytes)
  app.addContentTypeParser('*', { parseAs: 'buffer' }, asBytes)

  // A body that trickles in is cut at BODY_TIMEOUT_MS with a 408 (and its row).
  const bodyTimeoutMs = config.bodyTimeoutMs ?? 30_000
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (request.exchange) {
      const socket = request.raw.socket
      exchangeOfSocket.set(socket, request.exchange)
      request.raw.once('close', () => exchangeOfSocket.delete(socket))
    }
    // An error on the body stream ends parsing with a 408 (destroying it would reset the socket
    // before the client hears why); the connection is closed after the answer.
    const timer = setTimeout(() => {
      payload.pause()
      payload.emit('error', bodyTimeout(bodyTimeoutMs))
    }, bodyTimeoutMs)
    const clear = () => clearTimeout(timer)
    payload.once('end', clear).once('close', clear).once('error', clear)
    done(null, payload)
  })

  app.setErrorHandler((err: Error, request, reply) => {
    const error = toProxyError(err, config.bodyLimit)
    if (error.statusCode >= 500) request.log.error({ err }, 'request failed')
    // Failures talking to the backend were already recorded as network errors; the first reason wins.
    request.exchange?.fail(error.statusCode >= 500 ? 'backend_error' : 'client_error', error.code, error.message)
    if (error.statusCode === 408) reply.header('connection', 'close')
    return reply.code(error.statusCode).send(errorBody(error, request.exchange?.protocol === 'anthropic'))
  })
  // Unknown paths get a 404 and known paths asked with another method a 405 with `Allow`, in the
  // shape of the path's protocol; neither is a row (nothing was metered).
  app.setNotFoundHandler((request, reply) => {
    const path = routedPath(request.url)
    const allow = allowedMethods(path, options.keyGuard !== undefined)
    const anthropic = isAnthropicPath(path)
    if (allow !== null) {
      return reply.code(405).header('allow', allow.join(', ')).send(errorBody(methodNotAllowed(request.method, path, allow), anthropic))
    }
    return reply.code(404).send(errorBody(unknownUrl(request.method, redactUrl(request.url)), anthropic))
  })

  // Unmetered requests get their log line here; metered ones when their row is made.
  app.addHook('onResponse', (request, reply, done) => {
    if (!request.exchange && request.url !== '/health') request.log.info({ method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed')
    done()
  })

  const pricer = options.pricer === undefined ? createPricer(config.prices ?? []) : options.pricer
  const forwardDeps = { dispatcher, basePath, backendApiKey: config.backendApiKey, aborters, upstream: { inflight: 0 } }
  const guard = options.keyGuard ?? null
  // With CAPTURE=off a key may still capture its own requests; without keys nothing ever can.
  const cap = options.capture
  const captures = cap && (cap.config.mode !== 'off' || guard !== null) ? createCaptureWriter({ store: cap.store, redact: cap.config.redact, logger: app.log, nice: config.storageThreadNice }) : null
  app.decorate('captures', captures)
  const capture = captures && cap ? { mode: cap.config.mode, maxBytes: cap.config.maxBytes, writer: captures } : null
  for (const endpoint of METERED_ENDPOINTS) {
    app.register(meteredRoute, { endpoint, streamUsage: config.streamUsage, forwardDeps, rows, inflight, guard, pricer, capture })
  }
  app.register(passthroughRoute, { forwardDeps, guard })
  if (guard) {
    // A key holder reads their own key's limits and what is left of its budget; nothing else.
    app.get('/v1/key', async (request) => {
      const auth = guard.authenticate(presentedSecret(request.headers), request.raw.socket)
      if ('error' in auth) throw auth.error
      return guard.usage(auth.key)
    })
  }
  app.get('/health', async () => ({ status: 'ok' }))

  app.addHook('onClose', async () => {
    // Rows of requests cut at shutdown are recorded as their sockets close: wait for them first.
    await Promise.allSettled(recorded())
    await rows.close()
    await captures?.close()
    // Every row that will ever be stored is stored now: let the outputs deliver the last of them.
    await options.events?.close()
    if (ownsDispatcher) await dispatcher.close()
  })
  return app
}

export { ProxyError }
// AUTH_MODE=keys, for callers that assemble a proxy themselves (server.ts, the dashboard's end-to-end test).
export { KeyGuard } from './keys/guard.js'
export { buildAdminApi } from './keys/admin.js'
