// Shared by the Chromium tests: the browser, the built app, and the real services of a proxy
// (mock backend, proxy, metrics API, dashboard server; with access keys also KeyGuard and the admin API).
import { createSqliteSink, type RowSink } from '@llm-proxy/storage'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import { startMockBackend, type MockBackend, type MockBackendOptions } from '@llm-proxy/mock-backend'
import type { CaptureConfig } from '@llm-proxy/core'
import { buildAdminApi, buildProxy, KeyGuard } from '@llm-proxy/proxy'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { buildDashboardServer, type DashboardServerOptions } from '../server/app'

export const CHROMIUM = '/usr/bin/chromium'
export const staticDir = fileURLToPath(new URL('../dist/', import.meta.url))

export const url = (app: { server: { address(): unknown } }) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

/** Fails early, with what to do, when Chromium or the built app is missing. */
export function requireChromiumAndBuild() {
  if (!existsSync(CHROMIUM)) throw new Error('Chromium is missing: apt-get install chromium (.ci/run does)')
  if (!existsSync(join(staticDir, 'index.html'))) throw new Error('Build the dashboard first (pnpm build)')
}

/** Headless Chromium with a fresh profile (playwright makes a temporary user-data-dir per launch). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  })
}

/** The real services of one test file: mock backend, proxy, metrics API, a dashboard server, and in keys mode the admin API. */
export interface Stack {
  dir: string
  backend: MockBackend
  sink: RowSink
  /** Null without keys (AUTH_MODE=passthrough). */
  guard: KeyGuard | null
  admin: ReturnType<typeof buildAdminApi> | null
  proxy: ReturnType<typeof buildProxy>
  api: ReturnType<typeof buildMetricsApi>
  dashboard: ReturnType<typeof buildDashboardServer>
  adminUrl: string | null
  proxyUrl: string
  apiUrl: string
  dashboardUrl: string
  /** Rows the proxy has recorded (queued for the sink) so far. */
  readonly recorded: number
  /** Waits until the proxy has recorded at least n rows, then writes them to the sink (rather than wait for the timer). */
  flushRows(n: number): Promise<void>
  /** Another dashboard server over the same services (a different configuration). */
  startDashboard(config?: Partial<DashboardServerOptions['config']>, extra?: Partial<DashboardServerOptions>): Promise<{ app: ReturnType<typeof buildDashboardServer>; url: string }>
  close(): Promise<void>
}

/** A stack in keys mode: the guard and admin API are there. */
export interface KeysStack extends Stack {
  guard: KeyGuard
  admin: ReturnType<typeof buildAdminApi>
  adminUrl: string
}

export interface StackOptions {
  /** Keys mode (AUTH_MODE=keys) with the admin API behind this token; absent: passthrough, no admin API. */
  adminToken?: string
  backend?: MockBackendOptions
  dashboard?: Partial<DashboardServerOptions['config']>
  /** Content capture on the proxy (CAPTURE and REDACT as the proxy reads them). */
  capture?: CaptureConfig
  /** The metrics API's token (API_TOKEN); each dashboard gets it as METRICS_API_TOKEN. */
  apiToken?: string
  /** Prefix of the temporary directory that holds the database. */
  tmpPrefix?: string
}

export function startStack(o: StackOptions & { adminToken: string }): Promise<KeysStack>
export function startStack(o?: StackOptions): Promise<Stack>
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), o.tmpPrefix ?? 'dashboard-e2e-'))
  const extraDashboards: ReturnType<typeof buildDashboardServer>[] = []
  let recorded = 0
  let onRow: () => void = () => {}
  const backend = await startMockBackend(o.backend ?? { ttftMs: 5, tokensPerSecond: 1000, answerTokens: 6 })
  const sink = await createSqliteSink({ file: join(dir, 'metrics.db') })
  let guard: KeyGuard | null = null
  let admin: ReturnType<typeof buildAdminApi> | null = null
  if (o.adminToken !== undefined) {
    guard = new KeyGuard(sink.keys, { syncMs: 100 })
    await guard.start()
    admin = buildAdminApi({ store: sink.keys, guard, token: o.adminToken })
    await admin.listen({ host: '127.0.0.1', port: 0 })
  }
  const proxy = buildProxy({
    config: { backendUrl: backend.url, bodyLimit: 1e7, streamUsage: 'inject', connectTimeoutMs: 2000, headersTimeoutMs: 10_000, idleTimeoutMs: 10_000, trustProxy: false },
    sink,
    ...(guard ? { keyGuard: guard } : {}),
    onRecorded: () => {
      recorded++
      onRow()
    },
    flushIntervalMs: 5,
    capture: o.capture ? { config: o.capture, store: sink.captures } : null,
  })
  await proxy.listen({ host: '127.0.0.1', port: 0 })
  const api = buildMetricsApi({ config: { dbPath: join(dir, 'metrics.db'), corsOrigins: [], apiToken: o.apiToken } })
  await api.listen({ host: '127.0.0.1', port: 0 })
  const startDashboard: Stack['startDashboard'] = async (config = {}, extra = {}) => {
    const app = buildDashboardServer({ config: { metricsApiUrl: url(api), metricsApiToken: o.apiToken, proxyPublicUrl: url(proxy), ...config }, staticDir, ...extra })
    await app.listen({ host: '127.0.0.1', port: 0 })
    extraDashboards.push(app)
    return { app, url: url(app) }
  }
  const { app: dashboard } = await startDashboard(o.dashboard)
  return {
    dir, backend, sink, guard, admin, proxy, api, dashboard,
    adminUrl: admin ? url(admin) : null, proxyUrl: url(proxy), apiUrl: url(api), dashboardUrl: url(dashboard),
    get recorded() {
      return recorded
    },
    async flushRows(n) {
      if (recorded < n) await new Promise<void>((r) => (onRow = () => recorded >= n && r()))
      onRow = () => {}
      await proxy.rows.flush()
    },
    startDashboard,
    async close() {
      for (const d of extraDashboards) await d.close()
      await api.close()
      await proxy.close()
      await admin?.close()
      await guard?.stop()
      await backend.close()
      await sink.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A proxy in keys mode (AUTH_MODE=keys) with its admin API, the metrics API and a dashboard. */
export function startKeysStack(o: Omit<StackOptions, 'adminToken'> & { adminToken: string }): Promise<KeysStack> {
  return startStack({ tmpPrefix: 'dashboard-keys-e2e-', ...o })
}
