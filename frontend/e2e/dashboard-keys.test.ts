// The dashboard over a proxy with access keys (AUTH_MODE=keys): the key filter, the per-key table
// and the key's name in the request log, in Chromium, against real processes' data.
import OpenAI from 'openai'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium, requireChromiumAndBuild, startKeysStack, type KeysStack } from './helpers'

const ADMIN_TOKEN = 'dashboard-e2e-admin-token-0123456789'

let stack: KeysStack
let browser: Browser
let dashboardUrl: string
const keys: Record<string, { id: string; secret: string }> = {}

beforeAll(async () => {
  requireChromiumAndBuild()
  stack = await startKeysStack({ adminToken: ADMIN_TOKEN })
  dashboardUrl = stack.dashboardUrl

  for (const name of ['alice', 'bob']) {
    const res = await fetch(`${stack.adminUrl}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
    expect(res.status).toBe(201)
    keys[name] = (await res.json()) as { id: string; secret: string }
  }
  const messages = [{ role: 'user' as const, content: 'Hello from the keys test' }]
  for (const [name, n] of [['alice', 3], ['bob', 1]] as const) {
    const client = new OpenAI({ baseURL: `${stack.proxyUrl}/v1`, apiKey: keys[name].secret, maxRetries: 0 })
    for (let i = 0; i < n; i++) await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages })
  }
  await stack.proxy.rows.flush()

  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stack?.close()
})

test('the key filter by name, kept in the address; the per-key table; the key in the request log and its detail', async () => {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
  await page.goto(`${dashboardUrl}/?range=1h`)
  await page.getByTestId('kpi-requests').waitFor()
  await expect.poll(() => page.getByTestId('kpi-requests').textContent()).toBe('4')
  // No ADMIN_PASSWORD on this dashboard: no sign-in, no Keys page link, as before.
  expect(await page.getByRole('navigation', { name: 'Account' }).count()).toBe(0)
  expect(await page.getByRole('link', { name: /^(Keys|Sign in)$/ }).count()).toBe(0)

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
