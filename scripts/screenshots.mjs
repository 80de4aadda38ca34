// Refreshes the README's screenshots with two days of realistic synthetic traffic:
// node scripts/screenshots.mjs   (after pnpm build; needs Debian's chromium)
import { createSqliteStore as createRequestStore, openWriterDb } from '@llm-proxy/storage'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { makeRowFactory } from '../packages/metrics-api/bench/rows.mjs'
import { buildDashboardServer } from '../frontend/dist-server/app.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'screenshots-'))
const db = openWriterDb(join(dir, 'metrics.db'))
const store = createRequestStore(db)
const makeRow = makeRowFactory(5)
const now = Date.now()
// Concurrency that follows the load, and a backend that slows down past 4 requests at once like a
// GPU server (the simulated backend's --capacity), so the saturation panel shows a real knee.
const CAPACITY = 4
const make = (t, load) => {
  const row = makeRow(t)
  const inflight = 1 + Math.floor(Math.random() * (2 + load * 14))
  const slow = Math.max(1, inflight / CAPACITY)
  row.inflight = inflight
  if (row.stream && row.ttft_ms !== null) {
    row.ttft_ms *= slow
    row.tpot_ms *= slow
    row.ttlt_ms = row.ttft_ms + row.tpot_ms * (row.completion_tokens - 1)
    row.total_ms = row.ttlt_ms + 2
    row.output_tps = 1000 / row.tpot_ms
  } else {
    row.total_ms *= slow
    row.output_tps = row.completion_tokens / (row.total_ms / 1000)
  }
  return row
}
// A day with a daily rhythm: busier in the afternoon, quieter at night.
const rows = []
// Two days, so the previous window of the 24-hour view has data too.
for (let t = now - 2 * 86_400_000; t < now; t += 1000) {
  const hour = new Date(t).getUTCHours()
  const load = 0.15 + 0.85 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI))
  if (Math.random() < load * 0.35) rows.push(make(t, load))
  if (rows.length >= 5000) store.insertBatch(rows.splice(0))
}
store.insertBatch(rows)
db.close()

const api = buildMetricsApi({ config: { dbPath: join(dir, 'metrics.db'), corsOrigins: [] } })
await api.listen({ host: '127.0.0.1', port: 0 })
const dashboard = buildDashboardServer({
  config: { metricsApiUrl: `http://127.0.0.1:${api.server.address().port}`, proxyPublicUrl: 'http://localhost:8001' },
  staticDir: join(root, 'frontend/dist'),
})
await dashboard.listen({ host: '127.0.0.1', port: 0 })
const url = `http://127.0.0.1:${dashboard.server.address().port}`
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
})
for (const theme of ['light', 'dark', 'terminal']) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' })
  await context.addInitScript((t) => localStorage.setItem('theme', t), theme)
  const page = await context.newPage()
  await page.goto(`${url}/?range=24h`)
  await page.locator('.recharts-surface').first().waitFor()
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="request-log"] tbody tr').length > 5)
  await page.waitForTimeout(500) // let the charts settle
  await page.screenshot({ path: join(root, `docs/screenshots/dashboard-${theme}.png`), fullPage: true })
  if (theme === 'light') {
    await page.locator('[data-testid="saturation"] svg[role="application"]').waitFor()
    await page.locator('[data-testid="saturation"]').screenshot({ path: join(root, 'docs/screenshots/dashboard-saturation.png') })
  }
  if (theme === 'dark') {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(root, 'docs/screenshots/dashboard-phone.png'), fullPage: true })
  }
  await context.close()
}
await browser.close()
await dashboard.close()
await api.close()
rmSync(dir, { recursive: true, force: true })
console.log('screenshots written to docs/screenshots/')
