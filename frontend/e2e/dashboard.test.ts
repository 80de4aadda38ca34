import { createSqliteSink, type RowSink } from '@llm-proxy/storage'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import { startMockBackend, type MockBackend } from '@llm-proxy/mock-backend'
import { buildProxy } from '@llm-proxy/proxy'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { buildDashboardServer } from '../server/app'

const CHROMIUM = '/usr/bin/chromium'
// The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; otherwise they go to a temp dir.
const screenshots = process.env.UPDATE_SCREENSHOTS ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : join(tmpdir(), 'dashboard-screenshots')
const staticDir = fileURLToPath(new URL('../dist/', import.meta.url))

let backend: MockBackend
let sink: RowSink
let recorded = 0
let onRow: () => void = () => {}
let dir: string
let proxy: ReturnType<typeof buildProxy>
let api: ReturnType<typeof buildMetricsApi>
let dashboard: ReturnType<typeof buildDashboardServer>
let browser: Browser
let dashboardUrl: string
let apiUrl: string

const url = (app: { server: { address(): unknown } }) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error('Chromium is missing: apt-get install chromium (.ci/run does)')
  if (!existsSync(join(staticDir, 'index.html'))) throw new Error('Build the dashboard first (pnpm build)')
  dir = mkdtempSync(join(tmpdir(), 'dashboard-e2e-'))
  backend = await startMockBackend({ ttftMs: 30, tokensPerSecond: 200, answerTokens: 12 })
  sink = await createSqliteSink({ file: join(dir, 'metrics.db') })
  proxy = buildProxy({
    config: { backendUrl: backend.url, bodyLimit: 1e7, streamUsage: 'inject', connectTimeoutMs: 2000, headersTimeoutMs: 10_000, idleTimeoutMs: 10_000, trustProxy: false },
    sink,
    onRecorded: () => {
      recorded++
      onRow()
    },
    flushIntervalMs: 5,
  })
  await proxy.listen({ host: '127.0.0.1', port: 0 })
  api = buildMetricsApi({ config: { dbPath: join(dir, 'metrics.db'), corsOrigins: [] } })
  await api.listen({ host: '127.0.0.1', port: 0 })
  apiUrl = url(api)
  dashboard = buildDashboardServer({ config: { metricsApiUrl: apiUrl, proxyPublicUrl: url(proxy) }, staticDir })
  await dashboard.listen({ host: '127.0.0.1', port: 0 })
  dashboardUrl = url(dashboard)

  // Traffic through the proxy with the SDK: successes, a failure, streamed requests.
  const client = new OpenAI({ baseURL: `${url(proxy)}/v1`, apiKey: 'sk-e2e', maxRetries: 0 })
  const messages = [{ role: 'user' as const, content: 'Hello from the browser test' }]
  for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages, user: 'alice' })
  await client.chat.completions.create({ model: 'mock-qwen2.5-7b', messages, user: 'bob' })
  await client.chat.completions.create({ model: 'mock-qwen2.5-7b', messages }, { headers: { 'x-mock-scenario': 'error-500' } }).catch(() => {})
  for (let i = 0; i < 2; i++) {
    const s = await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages, stream: true })
    for await (const _ of s);
  }
  // Every row is queued when its response closes; write them now rather than wait for the timer.
  if (recorded < 8) await new Promise<void>((r) => (onRow = () => recorded >= 8 && r()))
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
  await backend?.close()
  await sink?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function open(viewport: { width: number; height: number }, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme })
  const page = await context.newPage()
  await page.goto(dashboardUrl)
  await page.getByTestId('kpi-requests').waitFor()
  return page
}

test('the dashboard shows what the API returns, switches theme, opens a request, fits a phone', async () => {
  const summary = await (await fetch(`${apiUrl}/metrics?start=${Date.now() - 3_600_000}`)).json()
  expect(summary.requests.total).toBe(8)

  const page = await open({ width: 1440, height: 1000 })
  // First visit follows the system preference (light here), and keeps following it until a theme is chosen.
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme)
  expect(await theme()).toBe('light')
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect.poll(theme).toBe('dark')
  await page.emulateMedia({ colorScheme: 'light' })
  await expect.poll(theme).toBe('light')
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe(String(summary.requests.total))
  const rate = `${(summary.requests.success_rate * 100).toFixed(1)}%`
  expect(await page.getByTestId('kpi-success').textContent()).toBe(rate)
  const llama = summary.by_model.find((m: { model: string }) => m.model === 'mock-llama-3.2-1b')
  const row = page.locator('[data-testid="models-table"] tr[data-model="mock-llama-3.2-1b"] td')
  await row.first().waitFor()
  expect(await row.nth(1).textContent()).toBe(String(llama.requests))
  await page.locator('.recharts-surface').first().waitFor()

  mkdirSync(screenshots, { recursive: true })
  await page.screenshot({ path: join(screenshots, 'dashboard-light.png'), fullPage: true })

  // A request's detail panel shows every recorded field.
  await page.locator('[data-testid="request-log"] tbody tr').first().click()
  const detail = page.getByTestId('request-detail')
  await detail.waitFor()
  for (const field of ['id', 'ttft_ms', 'completion_tokens', 'outcome', 'user_agent']) expect(await detail.textContent()).toContain(field)
  await page.screenshot({ path: join(screenshots, 'dashboard-detail.png') })
  await page.keyboard.press('Escape')
  await detail.waitFor({ state: 'detached' })

  // Charts are reachable by keyboard: arrow keys walk the tooltip through the points.
  await page.locator('.chart.wide svg[role="application"]').focus()
  await page.keyboard.press('ArrowRight')
  await page.locator('.chart.wide .recharts-tooltip-wrapper .recharts-default-tooltip').waitFor()

  // A click on a chart narrows the range to that bucket; Back returns to the last hour.
  const chart = page.locator('.chart.wide svg[role="application"]')
  const box = (await chart.boundingBox())!
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4)
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.4)
  await page.getByLabel('From').waitFor()
  expect(await page.getByLabel('Time range').inputValue()).toBe('custom')
  await page.getByRole('button', { name: 'Zoom out to the previous range' }).click()
  await page.getByLabel('From').waitFor({ state: 'detached' })
  expect(await page.getByLabel('Time range').inputValue()).toBe('1h')
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe(String(summary.requests.total))

  // Themes: chosen in the header, remembered across visits.
  for (const theme of ['dark', 'terminal'] as const) {
    await page.getByTestId('theme').selectOption(theme)
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme)
    await page.screenshot({ path: join(screenshots, `dashboard-${theme}.png`), fullPage: true })
  }
  await page.reload()
  await page.getByTestId('kpi-requests').waitFor()
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('terminal')
  await page.context().close()

  // A phone: no horizontal scrolling of the page.
  const phone = await open({ width: 390, height: 844 }, 'dark')
  expect(await phone.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
  await phone.locator('.recharts-surface').first().waitFor()
  expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
  await phone.screenshot({ path: join(screenshots, 'dashboard-phone.png'), fullPage: true })
  await phone.context().close()
})

test('the metrics API going away is reported with its URL and the last data stays', async () => {
  const page = await open({ width: 1200, height: 900 })
  await page.getByTestId('theme').selectOption('light')
  await api.close()
  await page.getByRole('button', { name: 'Refresh now' }).click()
  const banner = page.getByTestId('error-banner')
  await banner.waitFor()
  expect(await banner.textContent()).toContain(apiUrl)
  expect(await page.getByTestId('kpi-requests').textContent()).toBe('8')
  await page.context().close()
})
