// Sign-in and the Keys page in Chromium, over a proxy with access keys and its admin API: sign in,
// create a key and call the proxy with it (OpenAI SDK), its usage, edit, rotate, revoke, delete,
// sign out, and a session that runs out. Every answer the browser gets is checked for ADMIN_TOKEN.
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { formatExact } from '../src/lib/format'
import { launchChromium, requireChromiumAndBuild, startKeysStack, type KeysStack } from './helpers'

const ADMIN_TOKEN = 'sign-in-e2e-admin-token-0123456789abcdef'
const PASSWORD = 'e2e correct horse battery'
const messages = [{ role: 'user' as const, content: 'Hello from the sign-in test' }]

// Screenshots for a look by eye; not compared.
const shots = join(tmpdir(), 'dashboard-sign-in-screenshots')
let stack: KeysStack
let browser: Browser
/** Every response any page received: its URL, headers and body, scanned for the token at the end. */
const received: Promise<{ url: string; text: string }>[] = []

beforeAll(async () => {
  requireChromiumAndBuild()
  mkdirSync(shots, { recursive: true })
  // Each test starts its own dashboard server over these services, with sign-in and the admin API.
  stack = await startKeysStack({ adminToken: ADMIN_TOKEN })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stack?.close()
})

function record(context: BrowserContext) {
  context.on('response', (res: Response) => {
    received.push(
      res.body().then(
        (b) => ({ url: res.url(), text: JSON.stringify(res.headers()) + b.toString('latin1') }),
        () => ({ url: res.url(), text: JSON.stringify(res.headers()) }),
      ),
    )
  })
}

async function newPage(base: string, path = '/'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  record(context)
  const page = await context.newPage()
  await page.goto(base + path)
  return page
}

async function signIn(page: Page, password: string) {
  const form = page.getByTestId('sign-in-form')
  await form.waitFor()
  await form.getByLabel('User').fill('admin')
  await form.getByLabel('Password').fill(password)
  await form.getByRole('button', { name: 'Sign in' }).click()
}

const client = (secret: string) => new OpenAI({ baseURL: `${stack.proxyUrl}/v1`, apiKey: secret, maxRetries: 0 })
/** The status the proxy answers a chat completion with this secret. */
async function statusWith(secret: string): Promise<number> {
  try {
    await client(secret).chat.completions.create({ model: 'mock-llama-3.2-1b', messages })
    return 200
  } catch (err) {
    return (err as { status?: number }).status ?? -1
  }
}

const activeId = (page: Page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || '')
/** What has keyboard focus: 'body' when nothing does, else its accessible label, id or text. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const a = document.activeElement
    return !a || a === document.body ? 'body' : a.getAttribute('aria-label') || a.id || a.textContent || ''
  })

test('sign in, create a key, use it, see its usage, edit, rotate, revoke, delete, sign out; the admin token never reaches the browser', async () => {
  const { url: base } = await stack.startDashboard(
    { signIn: { user: 'admin', password: PASSWORD, sessionTtlMs: 10 * 60_000 }, admin: { url: stack.adminUrl, token: ADMIN_TOKEN } },
  )
  const page = await newPage(base)
  // Signed out: the dashboard as always, a "Sign in" link, no Keys link.
  const account = page.getByRole('navigation', { name: 'Account' })
  await account.getByRole('link', { name: 'Sign in' }).waitFor()
  expect(await page.getByRole('link', { name: 'Keys' }).count()).toBe(0)
  await account.getByRole('link', { name: 'Sign in' }).click()

  // A wrong password: a message, the password field emptied and focused; no session.
  await signIn(page, 'not the password')
  const alert = page.getByTestId('sign-in-form').getByRole('alert')
  await alert.waitFor()
  await page.screenshot({ path: join(shots, 'sign-in.png') })
  expect(await alert.textContent()).toBe('Wrong user name or password.')
  expect(await page.getByLabel('Password').inputValue()).toBe('')
  expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).name)).toBe('password')

  await signIn(page, PASSWORD)
  await account.getByRole('link', { name: 'Keys' }).click()
  await page.getByRole('heading', { name: 'Access keys' }).waitFor()
  expect(new URL(page.url()).pathname).toBe('/keys')
  await page.getByTestId('no-keys').waitFor()

  // Create: a labelled form in a modal dialog, focus on its first field; then the secret, once.
  const createButton = page.getByRole('button', { name: 'Create key' })
  await createButton.click()
  const form = page.getByTestId('key-form-dialog')
  await form.waitFor()
  expect(await activeId(page)).toBe('key-name')
  await form.getByRole('button', { name: 'Create key' }).click()
  expect(await form.getByRole('alert').textContent()).toBe('Enter a name.')
  await form.getByLabel('Name').fill('alice')
  await form.getByLabel('Owner or team (optional)').fill('research')
  await form.getByLabel('Requests per minute').fill('60')
  await form.getByLabel('Token budget').fill('100000')
  await form.getByLabel('Allowed models').fill('mock-*')
  await form.getByRole('button', { name: 'Create key' }).click()
  const secretDialog = page.getByTestId('secret-dialog')
  await secretDialog.waitFor()
  const secret = await secretDialog.getByTestId('secret').inputValue()
  await page.screenshot({ path: join(shots, 'keys-secret.png') })
  expect(secret).toMatch(/^lmp-[A-Za-z0-9_-]{43,}$/)
  await secretDialog.getByRole('button', { name: 'Copy' }).click()
  await secretDialog.getByText('Copied to the clipboard.').waitFor()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
  await secretDialog.getByRole('button', { name: 'Done' }).click()
  await secretDialog.waitFor({ state: 'detached' })
  // Focus back where the dialog was opened from; the secret is nowhere on the page any more.
  expect(await activeId(page)).toBe('Create key')
  expect(await page.content()).not.toContain(secret)

  const table = page.getByTestId('admin-keys-table')
  const row = table.locator('tbody tr', { hasText: 'alice' })
  await row.waitFor()
  expect(await row.locator('.c-status').textContent()).toBe('active')
  expect(await row.locator('.c-limits').textContent()).toBe('60 rpm · 100K tokens/month')
  expect(await row.textContent()).toContain('mock-*')
  expect(await row.locator('.c-requests').textContent()).toBe('0')

  // The key works with the OpenAI SDK, and the Keys page shows what it used.
  const answer = await client(secret).chat.completions.create({ model: 'mock-llama-3.2-1b', messages })
  expect(answer.choices[0].message.content).toBeTruthy()
  const used = answer.usage!.total_tokens
  await expect.poll(async () => {
    await page.getByRole('button', { name: 'Refresh keys' }).click()
    return row.locator('.c-requests').textContent()
  }, { timeout: 10_000 }).toBe('1')
  expect(await row.locator('.c-tokens').textContent()).toBe(String(used))
  await page.screenshot({ path: join(shots, 'keys-page.png') })
  expect(await row.locator('.c-left').textContent()).toBe(`${formatExact(100_000 - used)} tokens`)

  // Edit: the form comes filled in; a new limit shows in the list.
  await page.getByRole('button', { name: 'Edit alice' }).click()
  await form.waitFor()
  expect(await form.getByLabel('Requests per minute').inputValue()).toBe('60')
  expect(await form.getByLabel('Name').inputValue()).toBe('alice')
  await form.getByLabel('Requests per minute').fill('120')
  await form.getByRole('button', { name: 'Save' }).click()
  await form.waitFor({ state: 'detached' })
  await expect.poll(() => row.locator('.c-limits').textContent()).toBe('120 rpm · 100K tokens/month')

  // Rotate: a new secret, shown once; the old one is refused at once, the new one works.
  await page.getByRole('button', { name: 'Rotate alice' }).click()
  await secretDialog.waitFor()
  const rotated = await secretDialog.getByTestId('secret').inputValue()
  expect(rotated).toMatch(/^lmp-/)
  expect(rotated).not.toBe(secret)
  expect(await secretDialog.getByRole('heading').textContent()).toBe('New secret for alice')
  await page.keyboard.press('Escape')
  await secretDialog.waitFor({ state: 'detached' })
  expect(await statusWith(secret)).toBe(401)
  expect(await statusWith(rotated)).toBe(200)

  // Revoke: a confirmation with Cancel focused; Escape leaves the key alone.
  await page.getByRole('button', { name: 'Revoke alice' }).click()
  const confirm = page.getByTestId('confirm-dialog')
  await confirm.waitFor()
  expect(await confirm.getByRole('heading').textContent()).toBe('Revoke alice?')
  expect(await activeId(page)).toBe('Cancel')
  await page.screenshot({ path: join(shots, 'keys-revoke.png') })
  await page.keyboard.press('Escape')
  await confirm.waitFor({ state: 'detached' })
  expect(await activeId(page)).toBe('Revoke')
  expect(await row.locator('.c-status').textContent()).toBe('active')
  expect(await statusWith(rotated)).toBe(200)
  await page.getByRole('button', { name: 'Revoke alice' }).click()
  await confirm.getByRole('button', { name: 'Revoke key' }).click()
  const revokedAt = Date.now()
  await confirm.waitFor({ state: 'detached' })
  await expect.poll(async () => statusWith(rotated), { timeout: 2000, interval: 100 }).toBe(401)
  expect(Date.now() - revokedAt).toBeLessThan(2000)
  await expect.poll(() => row.locator('.c-status').textContent()).toBe('revoked')
  expect(await page.getByRole('button', { name: 'Rotate alice' }).isDisabled()).toBe(true)
  // The Revoke button is disabled now: focus stays on the row's actions, not lost to the page.
  await expect.poll(() => focused(page)).toBe('Edit alice')

  // Delete, with confirmation: gone from the list; focus on the next key's actions, then, with
  // no key left, on the list's heading (never on the body).
  const bob = await fetch(`${stack.adminUrl}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bob' }) })
  expect(bob.status).toBe(201)
  await page.getByRole('button', { name: 'Refresh keys' }).click()
  await table.locator('tbody tr', { hasText: 'bob' }).waitFor()
  await page.getByRole('button', { name: 'Delete alice' }).click()
  await confirm.waitFor()
  await confirm.getByRole('button', { name: 'Delete key' }).click()
  await row.waitFor({ state: 'detached' })
  await expect.poll(() => focused(page)).toBe('Edit bob')
  await page.keyboard.press('Tab')
  expect(await focused(page)).toBe('Rotate bob')
  await page.getByRole('button', { name: 'Delete bob' }).click()
  await confirm.waitFor()
  await confirm.getByRole('button', { name: 'Delete key' }).click()
  await page.getByTestId('no-keys').waitFor()
  await expect.poll(() => focused(page)).toBe('admin-keys-title')

  // Sign out: the sign-in form; the Keys page and the key routes are closed.
  await account.getByRole('button', { name: 'Sign out' }).click()
  await page.getByTestId('sign-in-form').waitFor()
  await page.getByText('You are signed out.').waitFor()
  expect(await page.evaluate(async () => (await fetch('/admin/keys')).status)).toBe(401)
  await page.goto(`${base}/keys`)
  await page.getByTestId('sign-in-form').waitFor()
  // The cookie is HttpOnly: page scripts cannot read it.
  expect(await page.evaluate(() => document.cookie)).toBe('')
  await page.context().close()

  const all = await Promise.all(received)
  expect(all.length).toBeGreaterThan(20)
  expect(all.some((r) => r.url.endsWith('/admin/keys'))).toBe(true)
  for (const r of all) expect(r.text, r.url).not.toContain(ADMIN_TOKEN)
})

test('a session that runs out (short SESSION_TTL) sends the Keys page back to the sign-in form', async () => {
  const { url: base } = await stack.startDashboard(
    { signIn: { user: 'admin', password: PASSWORD, sessionTtlMs: 3000 }, admin: { url: stack.adminUrl, token: ADMIN_TOKEN } },
  )
  const page = await newPage(base, '/keys')
  await signIn(page, PASSWORD)
  await page.getByRole('heading', { name: 'Access keys' }).waitFor()
  const signedInAt = Date.now()
  await page.getByTestId('sign-in-form').waitFor({ timeout: 10_000 })
  expect(Date.now() - signedInAt).toBeLessThan(6000)
  await page.getByText('Your session has ended. Sign in again.').waitFor()
  expect(await page.evaluate(async () => (await fetch('/admin/keys')).status)).toBe(401)
  // Signing in again leads back to the Keys page.
  await signIn(page, PASSWORD)
  await page.getByRole('heading', { name: 'Access keys' }).waitFor()
  expect(new URL(page.url()).pathname).toBe('/keys')
  await page.context().close()
  for (const r of await Promise.all(received)) expect(r.text, r.url).not.toContain(ADMIN_TOKEN)
})
