// The dashboard over a proxy with access keys (AUTH_MODE=keys): the key filter, the per-key table
// and the key's name in the request log, in Chromium, against real processes' data.
import { createSqliteSink, type RowSink } from '@llm-proxy/storage'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import { startMockBackend, type MockBackend } from '@llm-proxy/mock-backend'
import { buildAdminApi, buildProxy, KeyGuard } from '@llm-proxy/proxy'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { buildDashboardServer } from '../server/app'

const CHROMIUM = '/usr/bin/chromium'
const ADMIN_TOKEN = 'dashboard-e2e-admin-token-0123456789'
const staticDir = fileURLToPath(new URL('../dist/', import.meta.url))

let backend: MockBackend
let sink: RowSink
let guard: KeyGuard
let dir: string
let admin: ReturnType<typeof buildAdminApi>
let proxy: ReturnType<typeof buildProxy>
let api: ReturnType<typeof buildMetricsApi>
let dashboard: ReturnType<typeof buildDashboardServer>
let browser: Browser
let dashboardUrl: string
const keys: Record<string, { id: string; secret: string }> = {}

const url = (app: { server: { address(): unknown } }) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error('Chromium is missing: apt-get install chromium (.ci/run does)')
  if (!existsSync(join(staticDir, 'index.html'))) throw new Error('Build the dashboard first (pnpm build)')
  dir = mkdtempSync(join(tmpdir(), 'dashboard-keys-e2e-'))
  backend = await startMockBackend({ ttftMs: 5, tokensPerSecond: 1000, answerTokens: 6 })
  sink = await createSqliteSink({ file: join(dir, 'metrics.db') })
  guard = new KeyGuard(sink.keys, { syncMs: 100 })
  await guard.start()
  admin = buildAdminApi({ store: sink.keys, guard, token: ADMIN_TOKEN })
  await admin.listen({ host: '127.0.0.1', port: 0 })
  proxy = buildProxy({
    config: { backendUrl: backend.url, bodyLimit: 1e7, streamUsage: 'inject', connectTimeoutMs: 2000, headersTimeoutMs: 10_000, idleTimeoutMs: 10_000, trustProxy: false },
    sink,
    keyGuard: guard,
    flushIntervalMs: 5,
  })
  await proxy.listen({ host: '127.0.0.1', port: 0 })
  api = buildMetricsApi({ config: { dbPath: join(dir, 'metrics.db'), corsOrigins: [] } })
  await api.listen({ host: '127.0.0.1', port: 0 })
  dashboard = buildDashboardServer({ config: { metricsApiUrl: url(api), proxyPublicUrl: url(proxy) }, staticDir })
  await dashboard.listen({ host: '127.0.0.1', port: 0 })
  dashboardUrl = url(dashboard)

  for (const name of ['alice', 'bob']) {
    const res = await fetch(`${url(admin)}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
    expect(res.status).toBe(201)
    keys[name] = (await res.json()) as { id: string; secret: string }
  }
  const messages = [{ role: 'user' as const, content: 'Hello from the keys test' }]
  for (const [name, n] of [['alice', 3], ['bob', 1]] as const) {
    const client = new OpenAI({ baseURL: `${url(proxy)}/v1`, apiKey: keys[name].secret, maxRetries: 0 })
    for (let i = 0; i < n; i++) await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages })
  }
  await proxy.rows.flush()

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  })
})

afterAll(async () => {
  await browser?.close()
  await dashboard?.close()
  await api?.close()
  await proxy?.close()
  await admin?.close()
  await guard?.stop()
  await backend?.close()
  await sink?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('the key filter by name, kept in the address; the per-key table; the key in the request log and its detail', async () => {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
  await page.goto(`${dashboardUrl}/?range=1h`)
  await page.getByTestId('kpi-requests').waitFor()
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('4')

  const table = page.getByTestId('keys-table')
  await table.locator(`tr[data-key="${keys.alice.id}"]`).waitFor()
  expect(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.querySelector('td')!.textContent))).toEqual(['alice', 'bob'])
  expect(await table.locator(`tr[data-key="${keys.alice.id}"] td`).nth(1).textContent()).toBe('3')

  const filter = page.getByRole('combobox', { name: 'Key', exact: true })
  expect(await filter.locator('option').allTextContents()).toEqual(['All keys', 'alice', 'bob'])
  await filter.selectOption({ label: 'bob' })
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('1')
  expect(new URL(page.url()).searchParams.get('key')).toBe(keys.bob.id)
  const log = page.getByTestId('request-log')
  await expect.poll(() => log.locator('tbody td.c-key').allTextContents()).toEqual(['bob'])
  await log.locator('tbody tr').first().click()
  const detail = page.getByTestId('request-detail')
  await detail.waitFor()
  expect(await detail.locator('dt[title="key_name"] + dd').textContent()).toBe('bob')
  expect(await detail.locator('dt[title="key_id"] + dd').textContent()).toBe(keys.bob.id)
  await page.getByRole('button', { name: 'Close details' }).click()

  // Back: all keys again; a reload of a filtered address keeps the filter.
  await page.goBack()
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('4')
  expect(await filter.inputValue()).toBe('')
  await page.goto(`${dashboardUrl}/?range=1h&key=${keys.alice.id}`)
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('3')
  expect(await page.getByRole('combobox', { name: 'Key', exact: true }).inputValue()).toBe(keys.alice.id)
  await page.context().close()

  // A phone: the key is a line of the request's card, on screen, and nothing scrolls sideways.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage()
  await phone.goto(`${dashboardUrl}/?range=1h`)
  const card = phone.getByTestId('request-log').locator('tbody tr').first()
  await card.locator('td.c-key').waitFor()
  expect(await card.locator('td.c-key').evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"Key"')
  const box = (await card.locator('td.c-key').boundingBox())!
  expect(box.width).toBeGreaterThan(0)
  expect(box.x + box.width).toBeLessThanOrEqual(390)
  expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
  await phone.context().close()
})
