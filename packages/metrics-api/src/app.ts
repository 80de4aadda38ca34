import cors from '@fastify/cors'
import type { MetricsApiConfig } from '@llm-proxy/core'
import { FilterQuery, RequestsQuery, TimeseriesQuery } from '@llm-proxy/core/contracts'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { StorageUnavailableError, openMetricsReader, type MetricsReader, type Snapshot } from '@llm-proxy/storage'
import { ApiProblem, badParam, parseQuery } from './errors.js'
import { getContent } from './queries/get-content.js'
import { getModels } from './queries/get-models.js'
import { getSaturation } from './queries/get-saturation.js'
import { getSummary } from './queries/get-summary.js'
import { getTimeseries, TooManyBuckets } from './queries/get-timeseries.js'
import { decodeCursor, getRequest, iterateRequests, listRequests } from './queries/list-requests.js'
import { renderPrometheus } from './queries/render-prometheus.js'
import { toCsvLines } from './csv.js'

export interface MetricsApiOptions {
  config: Pick<MetricsApiConfig, 'dbPath' | 'databaseUrl' | 'corsOrigins' | 'apiToken'>
  /** Given in tests that share one reader; otherwise opened from the config (and closed with the app). */
  reader?: MetricsReader
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger
  /** The clock; tests pin it. */
  now?: () => number
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** Strict filters: an unknown parameter is a mistake worth reporting, not ignoring. */
const Filters = FilterQuery.strict()
const TimeseriesFilters = TimeseriesQuery.strict()
const RequestsFilters = RequestsQuery.strict()

function checkRange(q: { start?: number; end?: number }) {
  if (q.start !== undefined && q.end !== undefined && q.end < q.start) throw badParam('end', 'must not be before start')
}

export function buildMetricsApi(options: MetricsApiOptions): FastifyInstance {
  const { config } = options
  const now = options.now ?? Date.now
  const isLogger = options.logger && typeof options.logger === 'object' && 'child' in options.logger
  const app = Fastify({
    ...(isLogger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: options.logger ?? false }),
    // The dashboard polls several endpoints every few seconds: log failures, not every answer.
    logController: new LogController({ disableRequestLogging: true }),
  })
  const reader = options.reader ?? openMetricsReader(config)
  /** One consistent snapshot per answer: a batch the proxy is writing is seen whole or not at all. */
  const read = <T>(fn: (db: Snapshot | null) => Promise<T>): Promise<T> => reader.read(fn)

  app.register(cors, { origin: config.corsOrigins, methods: ['GET'] })

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const problem =
      err instanceof ApiProblem ? err
      : err instanceof StorageUnavailableError ? new ApiProblem(503, 'server_error', 'storage_unavailable', `The metrics database cannot be read right now: ${err.message}`)
      : err instanceof TooManyBuckets ? badParam('bucket', err.message.replace(/^bucket: /, ''))
      : (err.statusCode ?? 500) < 500 ? new ApiProblem(err.statusCode!, 'invalid_request_error', 'bad_request', err.message)
      : new ApiProblem(500, 'server_error', 'internal_error', 'The metrics API failed to answer.')
    if (problem.statusCode >= 500) request.log.error({ err: { message: err.message, code: (err as { code?: string }).code } }, 'request failed')
    return reply.code(problem.statusCode).send(problem.toBody())
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new ApiProblem(404, 'invalid_request_error', 'unknown_url', `Invalid URL (${request.method} ${request.url.split('?')[0]})`).toBody()),
  )

  if (config.apiToken) {
    const expected = Buffer.from(`Bearer ${config.apiToken}`)
    app.addHook('onRequest', async (request) => {
      if (request.url === '/health' || request.method === 'OPTIONS') return
      const given = Buffer.from(request.headers.authorization ?? '')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ApiProblem(401, 'invalid_request_error', 'invalid_api_key', 'Missing or wrong bearer token (METRICS_API_TOKEN).')
      }
    })
  }

  app.get('/health', async () => {
    let version: number | null = null
    try {
      version = await reader.schemaVersion()
    } catch {}
    return { status: 'ok' as const, database: { engine: reader.engine, readable: version !== null, schema_version: version }, version: VERSION }
  })

  /** An endpoint over a time window: validated filters, one consistent read. */
  const windowed = <Q extends { start?: number; end?: number }>(path: string, parse: (query: unknown) => Q, answer: (db: Snapshot | null, q: Q) => Promise<unknown>) =>
    app.get(path, async (request) => {
      const q = parse(request.query)
      checkRange(q)
      return read((db) => answer(db, q))
    })
  windowed('/metrics', (query) => parseQuery(Filters, query), (db, q) => getSummary(db, q, now()))
  windowed('/metrics/timeseries', (query) => parseQuery(TimeseriesFilters, query), (db, q) => getTimeseries(db, q, now()))
  windowed('/metrics/models', (query) => parseQuery(Filters, query), (db, q) => getModels(db, q, now()))
  windowed('/metrics/saturation', (query) => parseQuery(Filters, query), (db, q) => getSaturation(db, q, now()))

  app.get('/metrics/requests', async (request) => {
    const q = parseQuery(RequestsFilters, request.query)
    checkRange(q)
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor)
    if (cursor === null) throw badParam('cursor', 'not a cursor this API returned; pass next_cursor back unchanged')
    return read((db) => listRequests(db, { ...q, cursor }))
  })

  app.get('/metrics/requests.csv', async (request, reply) => {
    const q = parseQuery(Filters, request.query)
    checkRange(q)
    reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="requests.csv"')
    return reply.send(Readable.from(toCsvLines(iterateRequests(reader, q)), { objectMode: false }))
  })

  app.get<{ Params: { id: string } }>('/metrics/requests/:id', async (request) => {
    const row = await read((db) => getRequest(db, request.params.id))
    if (!row) throw new ApiProblem(404, 'invalid_request_error', 'not_found', `No request with id '${request.params.id}'.`, 'id')
    return row
  })

  // Captured content (CAPTURE): behind the same token as every other endpoint.
  app.get<{ Params: { id: string } }>('/metrics/requests/:id/content', async (request) => {
    const content = await read((db) => getContent(db, request.params.id))
    if (!content) throw new ApiProblem(404, 'invalid_request_error', 'not_found', `Nothing was captured for request '${request.params.id}'.`, 'id')
    return content
  })

  app.get('/metrics/prometheus', async (_request, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
    return read((db) => renderPrometheus(db, now()))
  })

  if (!options.reader) app.addHook('onClose', async () => reader.close())
  return app
}
