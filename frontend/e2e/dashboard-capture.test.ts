// Captured content in the request detail, in Chromium, over a real proxy that captures one key's
// requests: shown to a signed-in user (the conversation, the redaction marked, the tool call's
// arguments), never without a session, and nothing at all for a request that was not captured.
import OpenAI from 'openai'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium, requireChromiumAndBuild, startKeysStack, type KeysStack } from './helpers'

const ADMIN_TOKEN = 'capture-e2e-admin-token-0123456789abcdef'
const API_TOKEN = 'capture-e2e-metrics-api-token-0123456789'
const PASSWORD = 'e2e capture battery staple'
let stack: KeysStack
let browser: Browser
let dashboardUrl: string
const ids: { captured: string; plain: string } = { captured: '', plain: '' }

async function createKey(name: string, capture: 'all' | 'inherit'): Promise<string> {
  const res = await fetch(`${stack.adminUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, capture }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { secret: string }).secret
}

/** The id of the newest row for a key, once the proxy has stored it (and its capture). */
async function newestId(keyName: string): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const res = await fetch(`${stack.apiUrl}/metrics/requests?limit=20`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
    const body = (await res.json()) as { data: { id: string; key_name: string | null }[] }
    const row = body.data.find((r) => r.key_name === keyName)
    if (row) return row.id
    if (Date.now() > deadline) throw new Error(`no row for ${keyName}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  requireChromiumAndBuild()
  // CAPTURE=off for everyone; one key captures all of its requests (its own policy wins).
  stack = await startKeysStack({ adminToken: ADMIN_TOKEN, apiToken: API_TOKEN, capture: { mode: 'off', maxBytes: 65_536, redact: 'pii' } })
  const audited = await createKey('audited', 'all')
  const plain = await createKey('plain', 'inherit')
  const { url } = await stack.startDashboard({ signIn: { user: 'admin', password: PASSWORD, sessionTtlMs: 3_600_000 } })
  dashboardUrl = url
  await stack.guard.sync()

  const ask = (secret: string) =>
    new OpenAI({ baseURL: `${stack.proxyUrl}/v1`, apiKey: secret, maxRetries: 0, defaultHeaders: { 'x-mock-scenario': 'tool-call' } }).chat.completions.create({
      model: 'mock-llama-3.2-1b',
      messages: [{ role: 'user', content: 'What is the weather in Paris? Write to jane.doe@example.com' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    })
  await ask(audited)
  ids.captured = await newestId('audited')
  await ask(plain)
  ids.plain = await newestId('plain')
  // The capture is built off the request's path: wait until the API has it.
  for (const deadline = Date.now() + 10_000; ; ) {
    const res = await fetch(`${stack.apiUrl}/metrics/requests/${ids.captured}/content`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
    if (res.status === 200) break
    if (Date.now() > deadline) throw new Error(`capture of ${ids.captured} never arrived (${res.status})`)
    await new Promise((r) => setTimeout(r, 50))
  }
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stack?.close()
})

async function openRequest(page: Page, id: string) {
  await page.getByTestId('request-log').locator(`[data-request-id="${id}"]`).first().click()
  await page.getByTestId('request-detail').waitFor()
}

test('a signed-in user sees the conversation, redactions marked and tool arguments formatted; signed out, nothing', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' })
  const page = await context.newPage()
  // The dashboard server adds the metrics API's token and forwards the captured content to a session only.
  const before = await page.request.get(`${dashboardUrl}/api/requests/${ids.captured}/content`)
  expect(before.status()).toBe(401)

  await page.goto(`${dashboardUrl}/sign-in`)
  const form = page.getByTestId('sign-in-form')
  await form.getByLabel('User').fill('admin')
  await form.getByLabel('Password').fill(PASSWORD)
  await form.getByRole('button', { name: 'Sign in' }).click()
  await page.getByTestId('request-log').waitFor()
  const forwarded = await page.evaluate(async (id) => {
    const res = await fetch(`/api/requests/${id}/content`)
    return { status: res.status, body: await res.json() }
  }, ids.captured)
  expect(forwarded.status).toBe(200)
  expect(forwarded.body).toMatchObject({ request_id: ids.captured, redaction: 'pii' })

  await openRequest(page, ids.captured)
  const conversation = page.getByTestId('request-detail').getByTestId('conversation')
  await conversation.waitFor()
  expect(await conversation.textContent()).toContain('What is the weather in Paris?')
  // The e-mail address was redacted before it was written, and the placeholder is marked as such.
  const mark = conversation.locator('.placeholder.redacted')
  expect(await mark.first().textContent()).toBe('[EMAIL]')
  expect(await conversation.textContent()).not.toContain('jane.doe@example.com')
  // The tool call: its name and its arguments as formatted JSON.
  expect(await conversation.textContent()).toContain('get_weather')
  expect(await conversation.locator('pre').filter({ hasText: '"city": "Paris"' }).count()).toBeGreaterThan(0)

  // A request whose key did not capture: no conversation, no heading, no error.
  await page.keyboard.press('Escape')
  const answered = page.waitForResponse((r) => r.url().includes(`/api/requests/${ids.plain}/content`))
  await openRequest(page, ids.plain)
  expect((await answered).status()).toBe(404)
  expect(await page.getByTestId('request-detail').getByTestId('captured-content').count()).toBe(0)

  // Signed out: the request opens without any of it, and the route refuses.
  await page.keyboard.press('Escape')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByTestId('sign-in-form').waitFor()
  await page.goto(dashboardUrl)
  await page.getByTestId('request-log').waitFor()
  await openRequest(page, ids.captured)
  expect(await page.getByTestId('request-detail').getByTestId('captured-content').count()).toBe(0)
  expect(await page.evaluate(async (id) => (await fetch(`/api/requests/${id}/content`)).status, ids.captured)).toBe(401)
  await context.close()
})
