// The dashboard in Chromium in each of its languages (at a phone's width) and each of its themes
// (WCAG AA contrast of the text as rendered), and on a touch screen (a tap shows values, no zoom);
// the sign-in form and the Keys page (with its dialogs) in each language at a phone's width too.
import { mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import type { Browser, BrowserContextOptions, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { THEMES } from '../src/features/header/Header'
import { launchChromium, requireChromiumAndBuild, startKeysStack, startStack, type KeysStack, type Stack } from './helpers'

// Each language's phone screenshot, to look at (not compared).
const screenshots = join(tmpdir(), 'dashboard-screenshots')
const locale = (code: string) => JSON.parse(readFileSync(new URL(`../src/i18n/locales/${code}.json`, import.meta.url), 'utf8'))
// Each language and a browser locale that should select it.
const LANGUAGES = [['en', 'en-US', 'en'], ['es', 'es-ES', 'es'], ['fr', 'fr-FR', 'fr'], ['de', 'de-DE', 'de'], ['ja', 'ja-JP', 'ja'], ['zh', 'zh-CN', 'zh-CN'], ['ru', 'ru-RU', 'ru'], ['ko', 'ko-KR', 'ko']] as const

let stack: Stack
let browser: Browser
let dashboardUrl: string
/** A proxy with access keys and a dashboard with sign-in over it, for the sign-in form and the Keys page. */
let keysStack: KeysStack
let signInUrl: string
const ADMIN_TOKEN = 'i18n-e2e-admin-token-0123456789abcdef'
const PASSWORD = 'i18n e2e correct horse battery'

beforeAll(async () => {
  requireChromiumAndBuild()
  stack = await startStack({ backend: { ttftMs: 5, tokensPerSecond: 1000, answerTokens: 8 }, tmpPrefix: 'dashboard-i18n-e2e-' })
  dashboardUrl = stack.dashboardUrl

  // Every outcome the log and charts colour: successes, a streamed one, a backend error, a client error.
  const client = new OpenAI({ baseURL: `${stack.proxyUrl}/v1`, apiKey: 'sk-e2e', maxRetries: 0 })
  const messages = [{ role: 'user' as const, content: 'Hello' }]
  for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'mock-llama-3.2-1b', messages, user: 'alice' })
  const s = await client.chat.completions.create({ model: 'mock-qwen2.5-7b', messages, stream: true })
  for await (const _ of s);
  await client.chat.completions.create({ model: 'mock-qwen2.5-7b', messages }, { headers: { 'x-mock-scenario': 'error-500' } }).catch(() => {})
  const bad = await fetch(`${stack.proxyUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' })
  expect(bad.status).toBe(400)
  await stack.flushRows(6)

  keysStack = await startKeysStack({ adminToken: ADMIN_TOKEN, tmpPrefix: 'dashboard-i18n-keys-e2e-' })
  // One wrong password per language: more than the default five attempts per address.
  signInUrl = (await keysStack.startDashboard(
    { signIn: { user: 'admin', password: PASSWORD, sessionTtlMs: 10 * 60_000 }, admin: { url: keysStack.adminUrl, token: ADMIN_TOKEN } },
    { loginLimits: { perIp: 100, overall: 100, windowMs: 60_000 } },
  )).url
  // A key with something in every column, so the row and its actions are as wide as they get.
  const created = await fetch(`${keysStack.adminUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'research-team', owner: 'research', expires_in: '30d', limits: { rpm: 60, tpm: 100_000, budget_tokens: 1_000_000, budget_usd: 25, budget_period: 'month' }, models: ['mock-*'] }),
  })
  expect(created.status).toBe(201)

  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stack?.close()
  await keysStack?.close()
})

/** A fresh context (fresh storage: the language is detected, no theme saved), the page loaded with its data. */
async function open(options: BrowserContextOptions): Promise<Page> {
  const context = await browser.newContext(options)
  const page = await context.newPage()
  await page.goto(dashboardUrl)
  await page.getByTestId('kpi-requests').waitFor()
  await page.locator('.recharts-surface').first().waitFor()
  await page.locator('[data-testid="request-log"] tbody tr.clickable').first().waitFor()
  return page
}

// Every namespace of the strings: a raw key on screen is one of these and a dot and a name.
const NAMESPACES = Object.keys(locale('en'))

/** Runs in the page: raw i18n keys (namespace.name) in the visible text, labels, titles and data-labels. */
function rawKeys(namespaces: string[]): string[] {
  const re = new RegExp(`\\b(?:${namespaces.join('|')})\\.[A-Za-z0-9_]+\\b`)
  const attrs = [...document.querySelectorAll('[aria-label], [title], [data-label], [placeholder]')].flatMap((e) => ['aria-label', 'title', 'data-label', 'placeholder'].map((a) => e.getAttribute(a) ?? ''))
  return [document.body.innerText, ...attrs].filter((t) => re.test(t)).map((t) => t.match(re)![0])
}

/**
 * Runs in the page: the page wider than the screen, and anything in one of the boxes that sticks
 * out of it or is cut off (an ellipsis, a scrolled block).
 */
function overflowing({ width, boxes }: { width: number; boxes: string[] }): string[] {
  const bad: string[] = []
  if (document.documentElement.scrollWidth > width) bad.push(`page ${document.documentElement.scrollWidth}px wide`)
  const name = (e: Element) => `${e.tagName.toLowerCase()}.${String(e.getAttribute('class') ?? '').replace(/\s+/g, '.')} "${(e.textContent ?? '').trim().slice(0, 24)}"`
  const found = boxes.flatMap((s) => [...document.querySelectorAll(s)])
  const ctx = document.createElement('canvas').getContext('2d')!
  // Room Chromium keeps for a select's arrow, inside its padding.
  const ARROW = 16
  if (found.length === 0) bad.push(`none of ${boxes.join(', ')} on the page`)
  for (const box of found) {
    const b = box.getBoundingClientRect()
    if (box.scrollWidth > box.clientWidth + 1) bad.push(`${name(box)} scrolls sideways (${box.scrollWidth} > ${box.clientWidth})`)
    for (const e of box.querySelectorAll('*')) {
      const r = e.getBoundingClientRect()
      if (r.width === 0) continue
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5) bad.push(`${name(e)} out of ${name(box)}`)
      // Text cut short (an ellipsis) in a block that holds text.
      const st = getComputedStyle(e)
      if (st.display !== 'inline' && e.tagName !== 'SELECT' && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) bad.push(`${name(e)} cut off (${e.scrollWidth} > ${e.clientWidth})`)
      // A select's chosen option cut short: its text wider than the select less its padding and arrow.
      if (e instanceof HTMLSelectElement && e.selectedOptions[0]) {
        ctx.font = st.font
        const text = ctx.measureText(e.selectedOptions[0].text).width
        const room = e.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - ARROW
        if (text > room + 0.5) bad.push(`${name(e)} option "${e.selectedOptions[0].text}" cut off (${Math.ceil(text)} > ${Math.floor(room)})`)
      }
    }
  }
  return bad
}

/**
 * Runs in the page: visible text, labels, titles and placeholders that are exactly an English
 * string the page's language has in other words (text left in English). `english` holds those.
 */
function untranslated(english: string[]): string[] {
  const set = new Set(english)
  const out: string[] = []
  for (const e of document.querySelectorAll('body *')) {
    // Hidden text is skipped; text for screen readers only (.sr-only) counts.
    if (e.tagName !== 'OPTION' && !e.checkVisibility()) continue
    const own = [...e.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent ?? '').join('').trim()
    for (const t of [own, ...['aria-label', 'title', 'placeholder'].map((a) => e.getAttribute(a)?.trim() ?? '')]) if (t && set.has(t)) out.push(t)
  }
  return [...new Set(out)]
}

/** The English strings (no placeholders) that `code` says differently; in English, none. */
function englishOnly(code: string): string[] {
  if (code === 'en') return []
  const flat = (o: Record<string, unknown>, prefix = ''): [string, string][] =>
    Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v] as [string, string]] : flat(v as Record<string, unknown>, `${prefix}${k}.`)))
  const theirs = new Map(flat(locale(code)))
  return flat(locale('en')).filter(([k, v]) => !v.includes('{{') && v.length > 1 && theirs.get(k) !== v).map(([, v]) => v)
}

/**
 * Runs in the page: every visible text (HTML text nodes, form controls, SVG text such as chart axes
 * and the legend) whose contrast with what is behind it is under WCAG AA: 4.5:1, or 3:1 for large
 * text (24px, or 18.66px bold). Behind it: the first ancestor backgrounds down to an opaque one.
 * Decoration (aria-hidden) is exempt, as WCAG exempts it.
 */
function contrastOffenders(): string[] {
  type RGBA = [number, number, number, number]
  const parse = (c: string): RGBA => {
    const m = c.match(/rgba?\(([^)]+)\)/)
    if (!m) return [0, 0, 0, 0]
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number)
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]
  }
  const over = (top: RGBA, under: RGBA): RGBA => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1) as RGBA
  const lum = ([r, g, b]: RGBA) => {
    const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
  }
  function background(el: Element): RGBA {
    const layers: RGBA[] = []
    for (let e: Element | null = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor)
      if (bg[3] > 0) layers.push(bg)
      if (bg[3] >= 1) break
    }
    return layers.reduceRight<RGBA>((acc, l) => over(l, acc), [255, 255, 255, 1])
  }
  const opacity = (el: Element) => {
    let o = 1
    for (let e: Element | null = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity)
    return o
  }
  const out: string[] = []
  const candidates = [...document.querySelectorAll('body *')].filter(
    (el) => ['SELECT', 'INPUT', 'BUTTON'].includes(el.tagName) || [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== ''),
  )
  for (const el of candidates) {
    if (el.tagName === 'OPTION' || el.closest('[aria-hidden="true"]') || el.closest('.sr-only')) continue
    const r = el.getBoundingClientRect()
    const st = getComputedStyle(el)
    if (r.width < 2 || r.height < 2 || st.visibility !== 'visible') continue
    const svg = el instanceof SVGElement
    const fg = parse(svg ? st.fill : st.color)
    fg[3] *= (svg ? Number(st.fillOpacity) : 1) * opacity(el)
    const bg = background(el)
    const l1 = lum(over(fg, bg))
    const l2 = lum(bg)
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)
    const size = parseFloat(st.fontSize)
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700)
    if (ratio < (large ? 3 : 4.5)) {
      const text = (el as HTMLElement).innerText ?? el.textContent ?? ''
      out.push(`${el.tagName.toLowerCase()}.${String(el.getAttribute('class') ?? '').replace(/\s+/g, '.')} "${text.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1 (${svg ? st.fill : st.color} on rgb(${bg.slice(0, 3).map(Math.round).join(', ')}))`)
    }
  }
  return out
}

test('every theme passes WCAG AA contrast for its text: page, chart axes and legend, tooltip, detail panel', async () => {
  const page = await open({ viewport: { width: 1280, height: 900 }, locale: 'en-US' })
  const failures: Record<string, string[]> = {}
  for (const theme of THEMES) {
    await page.getByTestId('theme').selectOption(theme)
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme)
    // The axes and the legend are SVG and HTML inside the charts: make sure they are there.
    expect(await page.locator('.recharts-cartesian-axis-tick-value').count()).toBeGreaterThan(0)
    expect(await page.locator('.legend-text').count()).toBeGreaterThan(0)
    const offenders = await page.evaluate(contrastOffenders)
    // A tooltip, over a chart.
    await page.locator('.chart.wide svg[role="application"]').focus()
    await page.keyboard.press('ArrowRight')
    await page.locator('.chart.wide [data-testid="chart-tooltip"]').waitFor()
    offenders.push(...(await page.evaluate(contrastOffenders)))
    // A request's detail panel.
    await page.locator('[data-testid="request-log"] tbody tr.clickable').first().click()
    await page.getByTestId('request-detail').waitFor()
    offenders.push(...(await page.evaluate(contrastOffenders)))
    await page.keyboard.press('Escape')
    await page.getByTestId('request-detail').waitFor({ state: 'detached' })
    if (offenders.length) failures[theme] = [...new Set(offenders)]
  }
  expect(failures).toEqual({})
  await page.context().close()
})

test('each language: detected from the browser, every string translated, nothing wider than a 390 px phone', async () => {
  for (const [code, browserLocale, htmlLang] of LANGUAGES) {
    const strings = locale(code)
    const page = await open({ viewport: { width: 390, height: 844 }, locale: browserLocale, colorScheme: 'light' })
    expect(await page.evaluate(() => document.documentElement.lang), code).toBe(htmlLang)
    expect(await page.locator('h1').textContent(), code).toBe(strings.app.title)
    expect(await page.getByTestId('language').inputValue(), code).toBe(code)
    await page.getByLabel(strings.header.timeRange).waitFor()
    // No key was looked up that no language has, and no raw key is on screen (text, labels, titles).
    expect(await page.evaluate(() => window.__i18nMissing ?? []), code).toEqual([])
    expect(await page.evaluate(rawKeys, NAMESPACES), code).toEqual([])
    // No horizontal scrolling, and nothing in the header or the figures' cards sticks out of its box or is cut off.
    const overflow = await page.evaluate(overflowing, { width: 390, boxes: ['.header', '.card.kpi'] })
    expect(overflow, code).toEqual([])
    mkdirSync(screenshots, { recursive: true })
    await page.screenshot({ path: join(screenshots, `dashboard-phone-${code}.png`), fullPage: true })
    await page.context().close()
  }
})

test('each language: the sign-in form, the Keys page and its dialogs translated, nothing wider than a 390 px phone', async () => {
  for (const [code, browserLocale, htmlLang] of LANGUAGES) {
    const strings = locale(code)
    const english = englishOnly(code)
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: browserLocale, colorScheme: 'light' })
    const page = await context.newPage()
    /** The checks the dashboard page gets, on whatever is on screen now, within these boxes. */
    const check = async (what: string, boxes: string[]) => {
      const at = `${code} ${what}`
      expect(await page.evaluate(() => document.documentElement.lang), at).toBe(htmlLang)
      expect(await page.evaluate(() => window.__i18nMissing ?? []), at).toEqual([])
      expect(await page.evaluate(rawKeys, NAMESPACES), at).toEqual([])
      expect(await page.evaluate(untranslated, english), at).toEqual([])
      expect(await page.evaluate(overflowing, { width: 390, boxes }), at).toEqual([])
      mkdirSync(screenshots, { recursive: true })
      await page.screenshot({ path: join(screenshots, `${what.replace(/\W+/g, '-')}-phone-${code}.png`), fullPage: true })
    }

    // The sign-in form, and its message for a wrong password.
    await page.goto(`${signInUrl}/sign-in?next=/keys`)
    const form = page.getByTestId('sign-in-form')
    await form.waitFor()
    expect(await form.locator('h1').textContent(), code).toBe(strings.auth.title)
    await check('sign-in', ['.sign-in-card'])
    await form.locator('input[name="password"]').fill('not the password')
    await form.locator('button[type="submit"]').click()
    await form.getByRole('alert').waitFor()
    // The server's answer, in the page's language.
    expect(await form.getByRole('alert').textContent(), code).toBe(strings.auth.wrongCredentials)
    await check('sign-in wrong password', ['.sign-in-card'])

    // Signed in: the Keys page with its one key.
    await form.locator('input[name="password"]').fill(PASSWORD)
    await form.locator('button[type="submit"]').click()
    await page.getByRole('heading', { name: strings.keys.title }).waitFor()
    await page.getByTestId('admin-keys-table').locator('tbody tr').waitFor()
    // The usage columns are filled in a moment after the list.
    await expect.poll(() => page.locator('[data-testid="admin-keys-table"] tbody td.c-requests').textContent(), { message: code }).toBe('0')
    // The table scrolls sideways inside its card on a phone; the header and the card's head must fit.
    await check('keys', ['.header', '.card-head'])

    // The create form and a confirmation, in the dialog.
    await page.locator('.card-head button.primary').click()
    await page.getByTestId('key-form-dialog').waitFor()
    await check('keys create', ['.modal'])
    await page.keyboard.press('Escape')
    await page.getByTestId('key-form-dialog').waitFor({ state: 'detached' })
    await page.locator('[data-testid="admin-keys-table"] .row-actions button.danger').click()
    await page.getByTestId('confirm-dialog').waitFor()
    await check('keys delete', ['.modal'])
    await page.keyboard.press('Escape')
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' })
    await context.close()
  }
})

test('the language chosen in the header is remembered over the browser’s', async () => {
  const page = await open({ viewport: { width: 1200, height: 900 }, locale: 'en-US' })
  await page.getByTestId('language').selectOption('ko')
  await page.getByText(locale('ko').header.refreshButton).waitFor()
  await page.reload()
  await page.getByTestId('kpi-requests').waitFor()
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('ko')
  expect(await page.locator('h1').textContent()).toBe(locale('ko').app.title)
  await page.context().close()
})

test('on a touch screen a tap shows the tooltip and does not zoom; the tooltip’s bucket zooms with a button', async () => {
  const page = await open({ viewport: { width: 390, height: 844 }, locale: 'en-US', hasTouch: true, isMobile: true })
  const range = page.getByLabel('Time range')
  const before = await range.inputValue()
  const chart = page.locator('.chart.wide svg[role="application"]')
  await chart.scrollIntoViewIfNeeded()
  const box = (await chart.boundingBox())!
  await page.touchscreen.tap(box.x + box.width * 0.9, box.y + box.height * 0.4)
  await page.locator('.chart.wide [data-testid="chart-tooltip"]').waitFor()
  const zoom = page.locator('.chart.wide').getByRole('button', { name: /^Zoom to / })
  await zoom.waitFor()
  // Not zoomed: same range, no From/To, nothing in the address.
  expect(await range.inputValue()).toBe(before)
  expect(await page.getByLabel('From').count()).toBe(0)
  expect(new URL(page.url()).searchParams.has('from')).toBe(false)
  // The deliberate gesture: the button zooms to that bucket.
  await zoom.tap()
  await page.getByLabel('From').waitFor()
  expect(await range.inputValue()).toBe('custom')
  expect(new URL(page.url()).searchParams.get('from')).toMatch(/Z$/)
  await page.context().close()
})
