import { z } from 'zod'
import { ConfigError, boolFlag, byteSize, httpUrl, logLevel, parseEnv, port, positiveInt, postgresUrl, type Env } from './env.js'

export const DEFAULT_DB_PATH = './data/metrics.db'

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
  // Off unless set: deleting data is never a default.
  RETENTION_DAYS: z.coerce.number({ error: 'expected a number of days' }).int('expected a whole number of days').positive('expected a number of days above 0').optional(),
  AUTH_MODE: z.enum(['passthrough', 'keys'], { error: 'expected passthrough or keys' }).default('passthrough'),
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: port(8003),
  ADMIN_TOKEN: z.string().min(32, 'expected at least 32 characters').optional(),
  SECRET_KEY: z.string().min(32, 'expected at least 32 characters').optional(),
  LOG_LEVEL: logLevel,
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
  retentionDays?: number
  /** `keys`: every request needs a proxy key. */
  authMode: 'passthrough' | 'keys'
  /** The admin API listens apart, on loopback by default, only when a token is set. */
  admin: { host: string; port: number; token: string } | null
  /** Encrypts keys' own upstream keys at rest. */
  secretKey?: string
  logLevel: z.infer<typeof logLevel>
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
  const backendUrl = (e.BACKEND_URL ?? `http://${e.BACKEND_HOST}:${e.BACKEND_PORT}`).replace(/\/+$/, '')
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
    retentionDays: e.RETENTION_DAYS,
    authMode: e.AUTH_MODE,
    admin: e.ADMIN_TOKEN ? { host: e.ADMIN_HOST, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN } : null,
    secretKey: e.SECRET_KEY,
    logLevel: e.LOG_LEVEL,
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
  LOG_LEVEL: logLevel,
})

export interface DashboardConfig {
  host: string
  port: number
  metricsApiUrl: string
  metricsApiToken?: string
  proxyPublicUrl: string
  logLevel: z.infer<typeof logLevel>
}

export function loadDashboardConfig(env: Env): DashboardConfig {
  const e = parseEnv(dashboardEnvSchema, env)
  return {
    host: e.DASHBOARD_HOST,
    port: e.DASHBOARD_PORT,
    metricsApiUrl: e.METRICS_API_URL.replace(/\/+$/, ''),
    metricsApiToken: e.METRICS_API_TOKEN,
    proxyPublicUrl: e.PROXY_PUBLIC_URL.replace(/\/+$/, ''),
    logLevel: e.LOG_LEVEL,
  }
}
