import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium, requireChromiumAndBuild, startStack, type Stack } from './helpers'

// The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; otherwise they go to a temp dir.
const screenshots = process.env.UPDATE_SCREENSHOTS ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : join(tmpdir(), 'dashboard-screenshots')

let stack: Stack
let browser: Browser
let dashboardUrl: string
let apiUrl: string
let api: Stack['api']

beforeAll(async () => {
  requireChromiumAndBuild()
  stack = await startStack({ backend: { ttftMs: 30, tokensPerSecond: 200, answerTokens: 12 } })
  api = stack.api
  apiUrl = stack.apiUrl
  dashboardUrl = stack.dashboardUrl

  // Traffic through the proxy with the SDK: successes, a failure, streamed requests.
  const client = new OpenAI({ baseURL: `${stack.proxyUrl}/v1`, apiKey: 'sk-e2e', maxRetries: 0 })
  const messages = [{ role: 'user' as const, content: 'Hello from the browser test' }]
  for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages, user: 'alice' })
  await client.chat.completions.create({ model: 'mock-qwen2.5-7b', messages, user: 'bob' })
  await client.chat.completions.create({ model: 'mock-qwen2.5-7b', messages }, { headers: { 'x-mock-scenario': 'error-500' } }).catch(() => {})
  for (let i = 0; i < 2; i++) {
    const s = await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages, stream: true })
    for await (const _ of s);
  }
  // Malformed JSON: a request without a model.
  const bad = await fetch(`${stack.proxyUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' })
  expect(bad.status).toBe(400)
  // Every row is queued when its response closes; write them now rather than wait for the timer.
  await stack.flushRows(9)

  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stack?.close()
})

async function open(viewport: { width: number; height: number }, colorScheme: 'light' | 'dark' = 'light', path = '/'): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme, locale: 'en-US' })
  const page = await context.newPage()
  await page.goto(dashboardUrl + path)
  await page.getByTestId('kpi-requests').waitFor()
  return page
}

test('the dashboard shows what the API returns, switches theme, opens a request, fits a phone', async () => {
  const summary = await (await fetch(`${apiUrl}/metrics?start=${Date.now() - 3_600_000}`)).json()
  expect(summary.requests.total).toBe(9)

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
  // The saturation panel: this traffic came one request at a time, so one level only, said in words.
  await expect.poll(() => page.getByTestId('saturation').textContent()).toContain('mock-llama-3.2-1b: not enough data yet')
  // A proxy without keys (AUTH_MODE=passthrough): no key filter, no per-key table, no key column.
  expect(await page.getByLabel('Key', { exact: true }).count()).toBe(0)
  expect(await page.getByTestId('keys-table').count()).toBe(0)
  expect(await page.locator('[data-testid="request-log"] td.c-key').count()).toBe(0)

  mkdirSync(screenshots, { recursive: true })
  await page.screenshot({ path: join(screenshots, 'dashboard-light.png'), fullPage: true })

  // A request's detail panel shows every recorded field, in words.
  await page.locator('[data-testid="request-log"] tbody tr').first().click()
  const detail = page.getByTestId('request-detail')
  await detail.waitFor()
  for (const field of ['Request ID', 'Time to first token', 'Completion tokens', 'Outcome', 'User agent']) expect(await detail.textContent()).toContain(field)
  expect(await detail.textContent()).not.toContain('ttft_ms')
  await page.screenshot({ path: join(screenshots, 'dashboard-detail.png') })
  await page.keyboard.press('Escape')
  await detail.waitFor({ state: 'detached' })

  // Charts are reachable by keyboard: arrow keys walk the tooltip through the points.
  await page.locator('.chart.wide svg[role="application"]').focus()
  await page.keyboard.press('ArrowRight')
  await page.locator('.chart.wide .recharts-tooltip-wrapper [data-testid="chart-tooltip"]').waitFor()

  // A fresh install (all requests seconds old) opens on the shortest range, which shows them.
  expect(await page.getByLabel('Time range').inputValue()).toBe('15m')
  // A click on a chart narrows the range to that bucket (one bucket: the Tokens chart still has its
  // bars); Back returns to the range before. The click lands on the last bar, where the data is: a
  // fixed spot (the chart's right edge) can be a bucket begun after the traffic on a slow run.
  const tokens = page.locator('figure.chart', { hasText: 'Tokens' }).last()
  const lastBar = tokens.locator('.recharts-bar-rectangle path').last()
  await lastBar.waitFor()
  const target = (await lastBar.boundingBox())!
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2)
  await page.mouse.click(target.x + target.width / 2, target.y + target.height / 2)
  await page.getByLabel('From').waitFor()
  expect(await page.getByLabel('Time range').inputValue()).toBe('custom')
  expect(new URL(page.url()).searchParams.get('from')).toMatch(/Z$/)
  await expect.poll(() => tokens.locator('.recharts-bar-rectangle').count()).toBeGreaterThan(0)
  const bar = (await tokens.locator('.recharts-bar-rectangle path').first().boundingBox())!
  expect(bar.width).toBeGreaterThan(4)
  expect(bar.height).toBeGreaterThan(4)
  await page.screenshot({ path: join(screenshots, 'dashboard-one-bucket.png'), fullPage: true })
  await page.getByRole('button', { name: 'Zoom out to the previous range' }).click()
  await page.getByLabel('From').waitFor({ state: 'detached' })
  expect(await page.getByLabel('Time range').inputValue()).toBe('15m')
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe(String(summary.requests.total))

  // The view is in the address: the browser's Back and Forward walk through the choices.
  expect(new URL(page.url()).searchParams.get('range')).toBe('15m')
  await page.getByRole('combobox', { name: 'Model', exact: true }).selectOption({ label: '(no model)' })
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('1')
  expect(new URL(page.url()).search).toBe('?range=15m&model=')
  expect(await page.locator('[data-testid="models-table"] tr[data-model=""] td').first().textContent()).toBe('(no model)')
  await page.goBack()
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe(String(summary.requests.total))
  expect(await page.getByRole('combobox', { name: 'Model', exact: true }).inputValue()).toBe('all')
  await page.goForward()
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('1')
  await page.getByRole('combobox', { name: 'Model', exact: true }).selectOption({ label: 'All models' })

  // Themes: chosen in the header, remembered across visits.
  for (const theme of ['dark', 'solarized', 'vivid', 'terminal'] as const) {
    await page.getByTestId('theme').selectOption(theme)
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme)
    await page.screenshot({ path: join(screenshots, `dashboard-${theme}.png`), fullPage: true })
  }
  await page.reload()
  await page.getByTestId('kpi-requests').waitFor()
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('terminal')
  await page.context().close()

  // A shared address opens the same view.
  const shared = await open({ width: 1200, height: 900 }, 'light', '/?range=6h&model=mock-qwen2.5-7b&stream=false')
  expect(await shared.getByLabel('Time range').inputValue()).toBe('6h')
  expect(await shared.getByRole('combobox', { name: 'Model', exact: true }).inputValue()).toBe('m:mock-qwen2.5-7b')
  await expect.poll(() => shared.getByTestId('kpi-requests').textContent()).toBe('2')
  await shared.context().close()

  // A phone: no horizontal scrolling of the page, and the request log fits: every row's outcome,
  // status and latency are on screen without scrolling inside the card.
  const phone = await open({ width: 390, height: 844 }, 'dark')
  expect(await phone.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
  await phone.locator('.recharts-surface').first().waitFor()
  expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
  const log = phone.getByTestId('request-log')
  await log.locator('tbody tr').first().waitFor()
  expect(await phone.evaluate(() => { const s = document.querySelector('[data-testid="request-log"]')!.parentElement!; return s.scrollWidth <= s.clientWidth })).toBe(true)
  for (const cell of ['.c-outcome', '.c-status', '.c-latency', '.c-tokens']) {
    const b = (await log.locator(`tbody tr ${cell}`).first().boundingBox())!
    expect(b.x + b.width, cell).toBeLessThanOrEqual(390)
    expect(b.width, cell).toBeGreaterThan(0)
  }
  await phone.screenshot({ path: join(screenshots, 'dashboard-phone.png'), fullPage: true })
  // The detail panel on a phone: labels in words, the request id whole on its own line.
  await log.locator('tbody tr').first().click()
  const phoneDetail = phone.getByTestId('request-detail')
  await phoneDetail.waitFor()
  const id = phoneDetail.locator('code.request-id')
  const idBox = (await id.boundingBox())!
  expect(idBox.x + idBox.width).toBeLessThanOrEqual(390)
  expect(idBox.height).toBeLessThan(24) // one line
  await phone.screenshot({ path: join(screenshots, 'dashboard-phone-detail.png') })
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
  expect(await page.getByTestId('kpi-requests').textContent()).toBe('9')
  await page.context().close()
})
