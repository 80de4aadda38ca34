import { z } from 'zod'
import { loadPricesFile, type PriceRule } from './prices.js'
import { ConfigError, boolFlag, byteSize, httpUrl, logLevel, parseEnv, port, positiveInt, postgresUrl, type Env } from './env.js'

export const DEFAULT_DB_PATH = './data/metrics.db'

/**
 * The nice value of the proxy's background threads (the row writer, the capture builder) unless
 * STORAGE_THREAD_NICE says otherwise. On two cores a writer thread busy with a batch at the requests'
 * priority made requests wait for a core: at concurrency 1 the slowest 1% were mostly requests that
 * ran while it worked. At +10 the kernel lets a request's thread in first, and the writer still gets
 * about a tenth of a core that requests keep busy (docs/technical/performance.md).
 */
export const DEFAULT_STORAGE_THREAD_NICE = 10

const days = z.coerce.number({ error: 'expected a number of days' }).int('expected a whole number of days').positive('expected a number of days above 0')

/** Whose requests' content is kept: nobody's, failed ones, or all. */
export const CAPTURE_MODES = ['off', 'errors', 'all'] as const
export type CaptureMode = (typeof CAPTURE_MODES)[number]

/** CAPTURE and its companions; `mode` is the default, a key's own policy wins. */
export interface CaptureConfig {
  mode: CaptureMode
  /** Per side (request, response); the rest is marked as cut. */
  maxBytes: number
  retentionDays?: number
  redact: 'pii' | 'off'
}

const otlpProtocol = z.enum(['http/protobuf', 'http/json'], { error: 'expected http/protobuf or http/json (gRPC is not supported)' })

/** Every variable the proxy reads, with its default. The README's table is checked against this. */
export const proxyEnvSchema = z.object({
  BACKEND_URL: httpUrl.optional(),
  BACKEND_HOST: z.string().default('localhost'),
  BACKEND_PORT: port(11434),
  BACKEND_API_KEY: z.string().optional(),
  PROXY_HOST: z.string().default('0.0.0.0'),
  PROXY_PORT: port(8001),
  DB_PATH: z.string().default(DEFAULT_DB_PATH),
  DATABASE_URL: postgresUrl.optional(),
  BODY_LIMIT: byteSize(50 * 1024 * 1024),
  BODY_TIMEOUT_MS: positiveInt(30_000),
  STREAM_USAGE: z.enum(['inject', 'passthrough'], { error: 'expected inject or passthrough' }).default('inject'),
  UPSTREAM_CONNECT_TIMEOUT_MS: positiveInt(10_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: positiveInt(600_000),
  UPSTREAM_IDLE_TIMEOUT_MS: positiveInt(300_000),
  TRUST_PROXY: boolFlag(false),
  ALLOW_OPEN_RELAY: boolFlag(false),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  // The writer and capture threads' nice value: they yield a busy core to requests (0: they do not).
  STORAGE_THREAD_NICE: z.coerce.number({ error: 'expected a number' }).int('expected a whole number').min(0, 'expected 0 to 19').max(19, 'expected 0 to 19').default(DEFAULT_STORAGE_THREAD_NICE),
  // Off unless set: deleting data is never a default.
  // Prices for local and custom models (YAML or JSON); wins over the built-in price table.
  PRICES_FILE: z.string().optional(),
  RETENTION_DAYS: days.optional(),
  // Content capture (DESIGN.md §8): off unless set; each key may override CAPTURE.
  CAPTURE: z.enum(CAPTURE_MODES, { error: 'expected off, errors or all' }).default('off'),
  CAPTURE_MAX_BYTES: byteSize(64 * 1024),
  // Its own, apart from RETENTION_DAYS: captured text is more sensitive than the numbers.
  CAPTURE_RETENTION_DAYS: days.optional(),
  REDACT: z.enum(['pii', 'off'], { error: 'expected pii or off' }).default('pii'),
  AUTH_MODE: z.enum(['passthrough', 'keys'], { error: 'expected passthrough or keys' }).default('passthrough'),
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: port(8003),
  ADMIN_TOKEN: z.string().min(32, 'expected at least 32 characters').optional(),
  SECRET_KEY: z.string().min(32, 'expected at least 32 characters').optional(),
  LOG_LEVEL: logLevel,
  // Events out (DESIGN.md §9): all off unless set.
  EVENT_LOG: z.string().optional(),
  EVENT_WEBHOOK_URL: httpUrl.optional(),
  EVENT_WEBHOOK_TOKEN: z.string().optional(),
  // The standard OpenTelemetry variables we read ourselves; the SDK reads the rest of OTEL_*
  // (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_RESOURCE_ATTRIBUTES, ...) from the environment.
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.default('http/protobuf'),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: otlpProtocol.optional(),
  OTEL_METRIC_EXPORT_INTERVAL: positiveInt(60_000),
  OTEL_SERVICE_NAME: z.string().default('llm-metrics-proxy'),
})

export interface ProxyConfig {
  /** Backend origin plus optional base path, without a trailing slash, e.g. `http://localhost:11434`. */
  backendUrl: string
  backendApiKey?: string
  host: string
  port: number
  dbPath: string
  /** PostgreSQL instead of the SQLite file when set. */
  databaseUrl?: string
  bodyLimit: number
  /** How long a client may take to send its request body (408 after). */
  bodyTimeoutMs: number
  streamUsage: 'inject' | 'passthrough'
  connectTimeoutMs: number
  headersTimeoutMs: number
  idleTimeoutMs: number
  trustProxy: boolean
  shutdownTimeoutMs: number
  /** Nice value (0–19) of the threads that write rows and build captures. */
  storageThreadNice: number
  retentionDays?: number
  /** Parsed `PRICES_FILE` rules; empty when unset. */
  prices: PriceRule[]
  /** `keys`: every request needs a proxy key. */
  authMode: 'passthrough' | 'keys'
  /** The admin API listens apart, on loopback by default, only when a token is set. */
  admin: { host: string; port: number; token: string } | null
  /** Encrypts keys' own upstream keys at rest. */
  secretKey?: string
  logLevel: z.infer<typeof logLevel>
  /** Where events go out besides the database (DESIGN.md §9); each part is off when absent. */
  events: EventsConfig
  /** Content capture (DESIGN.md §8). */
  capture: CaptureConfig
}

export interface EventsConfig {
  /** `stdout`, or a file path opened in append mode: one JSON line per stored row. */
  log?: 'stdout' | { file: string }
  /** Rows POSTed in batches as JSON arrays, with an optional bearer token. */
  webhook?: { url: string; token?: string }
  /** OpenTelemetry GenAI metrics pushed over OTLP/HTTP when an endpoint is set. */
  otel?: { endpoint: string; headers?: string; protocol: 'http/protobuf' | 'http/json'; exportIntervalMs: number; serviceName: string }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i

export function loadProxyConfig(env: Env): ProxyConfig {
  const e = parseEnv(proxyEnvSchema, env)
  // With BACKEND_API_KEY every caller spends the owner's credit: refuse to offer that to a network
  // unless the operator says so (a TLS proxy with auth in front, say).
  if (e.BACKEND_API_KEY && e.AUTH_MODE === 'passthrough' && !LOOPBACK.test(e.PROXY_HOST) && !e.ALLOW_OPEN_RELAY) {
    throw new ConfigError(
      `Invalid configuration:\n  BACKEND_API_KEY: set while PROXY_HOST=${e.PROXY_HOST} accepts connections from other machines, ` +
        'so anyone who reaches the proxy would spend this key. Listen on 127.0.0.1 behind an authenticating TLS proxy, ' +
        'use AUTH_MODE=keys to hand out keys of your own, or set ALLOW_OPEN_RELAY=true if that is what you want.',
    )
  }
  if (e.ADMIN_HOST === e.PROXY_HOST && e.ADMIN_PORT === e.PROXY_PORT) {
    throw new ConfigError('Invalid configuration:\n  ADMIN_PORT: must differ from PROXY_PORT (the admin API never shares the public port)')
  }
  if (e.EVENT_WEBHOOK_TOKEN && !e.EVENT_WEBHOOK_URL) {
    throw new ConfigError('Invalid configuration:\n  EVENT_WEBHOOK_TOKEN: set without EVENT_WEBHOOK_URL; set the URL the events go to, or unset the token.')
  }
  const backendUrl = (e.BACKEND_URL ?? `http://${e.BACKEND_HOST}:${e.BACKEND_PORT}`).replace(/\/+$/, '')
  let prices: PriceRule[] = []
  if (e.PRICES_FILE) {
    try {
      prices = loadPricesFile(e.PRICES_FILE)
    } catch (err) {
      throw new ConfigError(`Invalid configuration:\n  PRICES_FILE: ${(err as Error).message} (got ${JSON.stringify(e.PRICES_FILE)})`)
    }
  }
  return {
    backendUrl,
    backendApiKey: e.BACKEND_API_KEY,
    host: e.PROXY_HOST,
    port: e.PROXY_PORT,
    dbPath: e.DB_PATH,
    databaseUrl: e.DATABASE_URL,
    bodyLimit: e.BODY_LIMIT,
    bodyTimeoutMs: e.BODY_TIMEOUT_MS,
    streamUsage: e.STREAM_USAGE,
    connectTimeoutMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: e.UPSTREAM_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: e.UPSTREAM_IDLE_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    storageThreadNice: e.STORAGE_THREAD_NICE,
    retentionDays: e.RETENTION_DAYS,
    prices,
    authMode: e.AUTH_MODE,
    admin: e.ADMIN_TOKEN ? { host: e.ADMIN_HOST, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN } : null,
    secretKey: e.SECRET_KEY,
    logLevel: e.LOG_LEVEL,
    capture: { mode: e.CAPTURE, maxBytes: e.CAPTURE_MAX_BYTES, retentionDays: e.CAPTURE_RETENTION_DAYS, redact: e.REDACT },
    events: {
      log: e.EVENT_LOG === undefined ? undefined : e.EVENT_LOG === 'stdout' ? 'stdout' : { file: e.EVENT_LOG },
      webhook: e.EVENT_WEBHOOK_URL ? { url: e.EVENT_WEBHOOK_URL, token: e.EVENT_WEBHOOK_TOKEN } : undefined,
      otel: e.OTEL_EXPORTER_OTLP_ENDPOINT
        ? {
            endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
            headers: e.OTEL_EXPORTER_OTLP_HEADERS,
            protocol: e.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL,
            exportIntervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
            serviceName: e.OTEL_SERVICE_NAME,
          }
        : undefined,
    },
  }
}

export const metricsEnvSchema = z.object({
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: port(8002),
  DB_PATH: z.string().default(DEFAULT_DB_PATH),
  DATABASE_URL: postgresUrl.optional(),
  CORS_ORIGINS: z.string().default('http://localhost:3000,http://127.0.0.1:3000'),
  METRICS_API_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
  LOG_LEVEL: logLevel,
})

export interface MetricsApiConfig {
  host: string
  port: number
  dbPath: string
  databaseUrl?: string
  corsOrigins: string[]
  apiToken?: string
  logLevel: z.infer<typeof logLevel>
}

export function loadMetricsApiConfig(env: Env): MetricsApiConfig {
  const e = parseEnv(metricsEnvSchema, env)
  const corsOrigins = e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean)
  if (corsOrigins.includes('*')) {
    throw new ConfigError('Invalid configuration:\n  CORS_ORIGINS: "*" is not allowed; list the dashboard origins')
  }
  return {
    host: e.METRICS_HOST,
    port: e.METRICS_PORT,
    dbPath: e.DB_PATH,
    databaseUrl: e.DATABASE_URL,
    corsOrigins,
    apiToken: e.METRICS_API_TOKEN,
    logLevel: e.LOG_LEVEL,
  }
}

export const dashboardEnvSchema = z.object({
  DASHBOARD_HOST: z.string().default('127.0.0.1'),
  DASHBOARD_PORT: port(3000),
  METRICS_API_URL: httpUrl.default('http://127.0.0.1:8002'),
  METRICS_API_TOKEN: z.string().optional(),
  PROXY_PUBLIC_URL: httpUrl.default('http://localhost:8001'),
  // Sign-in (DESIGN.md §7): off unless ADMIN_PASSWORD is set.
  ADMIN_PASSWORD: z.string().min(8, 'expected at least 8 characters').optional(),
  ADMIN_USER: z.string().default('admin'),
  SESSION_TTL: z.string().regex(/^\d+[mhdw]$/, 'expected a duration such as 12h, 90m, 7d or 2w').refine((v) => Number(v.slice(0, -1)) > 0, 'expected a duration above 0').default('12h'),
  // Key management: forwarded to the proxy's admin API for signed-in users.
  ADMIN_TOKEN: z.string().min(32, 'expected at least 32 characters').optional(),
  ADMIN_API_URL: httpUrl.default('http://127.0.0.1:8003'),
  LOG_LEVEL: logLevel,
})

export interface DashboardConfig {
  host: string
  port: number
  metricsApiUrl: string
  metricsApiToken?: string
  proxyPublicUrl: string
  /** Sign-in: null when ADMIN_PASSWORD is unset (the dashboard is open, as before, with no key management). */
  signIn: { user: string; password: string; sessionTtlMs: number } | null
  /** The proxy's admin API, reached for signed-in users only; null without ADMIN_TOKEN. */
  admin: { url: string; token: string } | null
  logLevel: z.infer<typeof logLevel>
}

const DURATION_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

export function loadDashboardConfig(env: Env): DashboardConfig {
  const e = parseEnv(dashboardEnvSchema, env)
  // Key management without a sign-in would be open to anyone who reaches the dashboard.
  if (e.ADMIN_TOKEN && !e.ADMIN_PASSWORD) {
    throw new ConfigError('Invalid configuration:\n  ADMIN_TOKEN is set but ADMIN_PASSWORD is not: key management needs a sign-in. Set ADMIN_PASSWORD (and ADMIN_USER, default admin), or unset ADMIN_TOKEN.')
  }
  return {
    host: e.DASHBOARD_HOST,
    port: e.DASHBOARD_PORT,
    metricsApiUrl: e.METRICS_API_URL.replace(/\/+$/, ''),
    metricsApiToken: e.METRICS_API_TOKEN,
    proxyPublicUrl: e.PROXY_PUBLIC_URL.replace(/\/+$/, ''),
    signIn: e.ADMIN_PASSWORD
      ? { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD, sessionTtlMs: Number(e.SESSION_TTL.slice(0, -1)) * DURATION_UNITS[e.SESSION_TTL.slice(-1) as keyof typeof DURATION_UNITS] }
      : null,
    admin: e.ADMIN_TOKEN ? { url: e.ADMIN_API_URL.replace(/\/+$/, ''), token: e.ADMIN_TOKEN } : null,
    logLevel: e.LOG_LEVEL,
  }
}
