// The dashboard server's sign-in, sessions, CSRF checks and the session-gated forwards (key
// management, captured content), over real sockets against stand-in upstreams that record what
// reached them.
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest'
import { buildDashboardServer, type DashboardServerOptions } from '../server/app'

const PASSWORD = 'correct horse battery staple'
const ADMIN_TOKEN = 'sign-in-test-admin-token-0123456789abcdef'
const METRICS_TOKEN = 'sign-in-test-metrics-token-0123'

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }
let upstream: Server
let upstreamUrl: string
const seen: Seen[] = []
let staticDir: string

beforeAll(async () => {
  // Stands in for both the admin API and the metrics API: answers with what it was asked.
  upstream = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      if (req.method === 'DELETE') return res.writeHead(204).end()
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, path: req.url, body: body ? JSON.parse(body) : null }))
    })
  })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  staticDir = mkdtempSync(join(tmpdir(), 'dashboard-signin-static-'))
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>LLM metrics</title>')
})
afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((r) => upstream.close(r))
  rmSync(staticDir, { recursive: true, force: true })
})

interface StartOptions {
  signIn?: boolean
  admin?: boolean
  ttlMs?: number
  loginLimits?: DashboardServerOptions['loginLimits']
  now?: () => number
}
async function start(s: StartOptions = {}) {
  const app = buildDashboardServer({
    config: {
      metricsApiUrl: upstreamUrl,
      metricsApiToken: METRICS_TOKEN,
      proxyPublicUrl: 'http://proxy.example:8001',
      signIn: s.signIn === false ? null : { user: 'admin', password: PASSWORD, sessionTtlMs: s.ttlMs ?? 3_600_000 },
      admin: s.admin === false ? null : { url: upstreamUrl, token: ADMIN_TOKEN },
    },
    staticDir,
    loginLimits: s.loginLimits,
    now: s.now,
  })
  onTestFinished(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { base, origin: base }
}

interface Res { status: number; headers: IncomingHttpHeaders; text: string; json(): any }
/** A plain HTTP call (node:http, so the client address and every header are ours to choose). */
function call(base: string, method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body)
    const req = httpRequest(`${base}${path}`, {
      method,
      localAddress: o.localAddress,
      agent: false,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** What the dashboard page's fetch sends: its own origin and Sec-Fetch-Site. */
const sameOrigin = (base: string, cookie?: string) => ({ origin: base, 'sec-fetch-site': 'same-origin', ...(cookie ? { cookie } : {}) })

async function signIn(base: string, password = PASSWORD, extra: Record<string, string> = {}, localAddress?: string) {
  const res = await call(base, 'POST', '/auth/login', { body: { user: 'admin', password }, headers: { ...sameOrigin(base), ...extra }, localAddress })
  const setCookie = res.headers['set-cookie']?.[0] ?? ''
  return { res, setCookie, cookie: setCookie.split(';')[0] }
}

describe('sign-in', () => {
  test('the right password: a session cookie that is HttpOnly, SameSite=Strict, for the whole site, for SESSION_TTL', async () => {
    const { base } = await start({ ttlMs: 2 * 3_600_000 })
    expect((await call(base, 'GET', '/auth/session')).json()).toEqual({ enabled: true, user: null, expires_at: null, keys: true })
    const { res, setCookie, cookie } = await signIn(base)
    expect(res.status).toBe(200)
    expect(res.json().user).toBe('admin')
    const attrs = setCookie.split(';').map((a) => a.trim())
    expect(attrs[0]).toMatch(/^lmp_session=[A-Za-z0-9_-]{43}$/)
    expect(attrs).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${2 * 3600}`]))
    // Plain HTTP: not Secure (the browser would drop it); over TLS (a reverse proxy says so): Secure.
    expect(attrs).not.toContain('Secure')
    expect((await signIn(base, PASSWORD, { 'x-forwarded-proto': 'https' })).setCookie.split(';').map((a) => a.trim())).toContain('Secure')
    const session = (await call(base, 'GET', '/auth/session', { headers: { cookie } })).json()
    expect(session.user).toBe('admin')
    expect(Date.parse(session.expires_at)).toBeGreaterThan(Date.now() + 3_600_000)
    expect(res.text).not.toContain(PASSWORD)
  })

  test('a wrong password or user: 401, no cookie, no session; sign-out ends a session', async () => {
    const { base } = await start()
    const wrong = await signIn(base, 'not the password')
    expect(wrong.res.status).toBe(401)
    expect(wrong.res.json().error.code).toBe('invalid_credentials')
    expect(wrong.res.headers['set-cookie']).toBeUndefined()
    const user = await call(base, 'POST', '/auth/login', { body: { user: 'root', password: PASSWORD }, headers: sameOrigin(base) })
    expect(user.status).toBe(401)
    expect((await call(base, 'POST', '/auth/login', { body: { user: 'admin' }, headers: sameOrigin(base) })).status).toBe(401)

    const { cookie } = await signIn(base)
    expect((await call(base, 'GET', '/admin/keys', { headers: { cookie } })).status).toBe(200)
    const out = await call(base, 'POST', '/auth/logout', { headers: sameOrigin(base, cookie) })
    expect(out.status).toBe(204)
    expect(out.headers['set-cookie']?.[0]).toMatch(/^lmp_session=; .*Max-Age=0/)
    // The old cookie, kept by a client that ignored the clearing: dead on the server too.
    expect((await call(base, 'GET', '/auth/session', { headers: { cookie } })).json().user).toBeNull()
    expect((await call(base, 'GET', '/admin/keys', { headers: { cookie } })).status).toBe(401)
  })

  test('attempts are limited per address (429 with retry-after, even for the right password) and overall', async () => {
    const { base } = await start({ loginLimits: { perIp: 3, overall: 5, windowMs: 60_000 } })
    for (let i = 0; i < 3; i++) expect((await signIn(base, `guess ${i}`)).res.status).toBe(401)
    const limited = await signIn(base)
    expect(limited.res.status).toBe(429)
    expect(Number(limited.res.headers['retry-after'])).toBeGreaterThan(0)
    expect(Number(limited.res.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(limited.res.json().error.code).toBe('too_many_sign_in_attempts')
    expect(limited.setCookie).toBe('')
    // Another address still may, until everyone together has used the overall allowance.
    expect((await signIn(base, 'guess a', {}, '127.0.0.2')).res.status).toBe(401)
    expect((await signIn(base, 'guess b', {}, '127.0.0.3')).res.status).toBe(401)
    const overall = await signIn(base, PASSWORD, {}, '127.0.0.4')
    expect(overall.res.status).toBe(429)
    expect(overall.res.headers['retry-after']).toBeDefined()
  })

  test('a successful sign-in gives its attempt back: a user who signs in often is not locked out', async () => {
    const { base } = await start({ loginLimits: { perIp: 2, overall: 100, windowMs: 60_000 } })
    for (let i = 0; i < 5; i++) expect((await signIn(base)).res.status).toBe(200)
  })

  test('a session ends SESSION_TTL after sign-in (absolute): the cookie no longer opens anything', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z')
    const { base } = await start({ ttlMs: 60_000, now: () => clock })
    const { cookie } = await signIn(base)
    clock += 30_000
    expect((await call(base, 'GET', '/auth/session', { headers: { cookie } })).json()).toMatchObject({ user: 'admin', expires_at: '2026-01-01T00:01:00.000Z' })
    expect((await call(base, 'GET', '/admin/keys', { headers: { cookie } })).status).toBe(200)
    clock += 30_000
    expect((await call(base, 'GET', '/auth/session', { headers: { cookie } })).json().user).toBeNull()
    const gone = await call(base, 'GET', '/admin/keys', { headers: { cookie } })
    expect(gone.status).toBe(401)
    expect(gone.json().error.code).toBe('not_signed_in')
  })
})

describe('CSRF', () => {
  test('a state-changing call from another origin, with a valid session cookie, is refused and changes nothing', async () => {
    const { base } = await start()
    const { cookie } = await signIn(base)
    const before = seen.length
    const refused: Record<string, string>[] = [
      { origin: 'http://evil.example', cookie },
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', cookie },
      { origin: base, 'sec-fetch-site': 'same-site', cookie },
      { 'sec-fetch-site': 'cross-site', cookie },
      { origin: 'null', cookie },
      // Neither header: not sent by a page of this dashboard (curl, a script).
      { cookie },
    ]
    for (const headers of refused) {
      const create = await call(base, 'POST', '/admin/keys', { body: { name: 'csrf' }, headers })
      expect(create.status, JSON.stringify(headers)).toBe(403)
      expect(create.json().error.code).toBe('cross_site_request')
      expect((await call(base, 'DELETE', '/admin/keys/key_1', { headers })).status).toBe(403)
      expect((await call(base, 'POST', '/auth/logout', { headers })).status).toBe(403)
    }
    expect(seen.length).toBe(before)
    // Still signed in: the refused sign-out did nothing.
    expect((await call(base, 'GET', '/auth/session', { headers: { cookie } })).json().user).toBe('admin')
    // Sign-in itself (login CSRF) is checked the same way.
    expect((await call(base, 'POST', '/auth/login', { body: { user: 'admin', password: PASSWORD }, headers: { origin: 'http://evil.example' } })).status).toBe(403)
    // The same call from the dashboard's page goes through.
    expect((await call(base, 'POST', '/admin/keys', { body: { name: 'ok' }, headers: sameOrigin(base, cookie) })).status).toBe(201)
  })
})

describe('key management through the dashboard server', () => {
  test("signed in: forwarded with the proxy's ADMIN_TOKEN; the token is in no answer; the cookie never reaches the admin API", async () => {
    const { base } = await start()
    const { cookie } = await signIn(base)
    const h = sameOrigin(base, cookie)
    const calls: [string, string, unknown?][] = [
      ['GET', '/admin/keys'],
      ['POST', '/admin/keys', { name: 'alice', limits: { rpm: 60 } }],
      ['GET', '/admin/keys/key_1'],
      ['PATCH', '/admin/keys/key_1', { name: 'alice2' }],
      ['POST', '/admin/keys/key_1/rotate', {}],
      ['POST', '/admin/keys/key_1/revoke', {}],
      ['GET', '/admin/keys/key_1/usage'],
      ['DELETE', '/admin/keys/key_1'],
    ]
    for (const [method, path, body] of calls) {
      const res = await call(base, method, path, { body, headers: h })
      expect(res.status, `${method} ${path}`).toBe(method === 'DELETE' ? 204 : method === 'POST' ? 201 : 200)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.text + JSON.stringify(res.headers)).not.toContain(ADMIN_TOKEN)
      const last = seen.at(-1)!
      expect([last.method, last.url]).toEqual([method, path])
      expect(last.headers.authorization).toBe(`Bearer ${ADMIN_TOKEN}`)
      expect(last.headers.cookie).toBeUndefined()
      if (body) expect(JSON.parse(last.body)).toEqual(body)
    }
  })

  test('not signed in: 401; sign-in off: 403; no ADMIN_TOKEN: 503 naming what to set; a refused token: 502', async () => {
    const before = seen.length
    const on = await start()
    const anon = await call(on.base, 'GET', '/admin/keys')
    expect(anon.status).toBe(401)
    expect(anon.json().error.code).toBe('not_signed_in')
    expect((await call(on.base, 'POST', '/admin/keys', { body: { name: 'x' }, headers: sameOrigin(on.base, 'lmp_session=forged') })).status).toBe(401)

    const off = await start({ signIn: false, admin: false })
    const refused = await call(off.base, 'GET', '/admin/keys')
    expect(refused.status).toBe(403)
    expect(refused.json().error.code).toBe('sign_in_not_configured')
    expect(refused.json().error.message).toContain('ADMIN_PASSWORD')
    expect((await call(off.base, 'GET', '/auth/session')).json()).toEqual({ enabled: false, user: null, expires_at: null, keys: false })
    expect((await call(off.base, 'POST', '/auth/login', { body: { user: 'admin', password: PASSWORD }, headers: sameOrigin(off.base) })).status).toBe(403)
    expect(seen.length).toBe(before)

    const noAdmin = await start({ admin: false })
    const { cookie } = await signIn(noAdmin.base)
    expect((await call(noAdmin.base, 'GET', '/auth/session', { headers: { cookie } })).json().keys).toBe(false)
    const missing = await call(noAdmin.base, 'GET', '/admin/keys', { headers: { cookie } })
    expect(missing.status).toBe(503)
    expect(missing.json().error.message).toContain('ADMIN_TOKEN')

    // An admin API that refuses the dashboard's token: not a 401 (that would read as "signed out").
    const strict = createServer((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_admin_token"}}'))
    strict.listen(0, '127.0.0.1')
    await once(strict, 'listening')
    onTestFinished(() => new Promise<void>((r) => strict.close(() => r())))
    const app = buildDashboardServer({
      config: { metricsApiUrl: upstreamUrl, proxyPublicUrl: 'http://p', signIn: { user: 'admin', password: PASSWORD, sessionTtlMs: 60_000 }, admin: { url: `http://127.0.0.1:${(strict.address() as AddressInfo).port}`, token: ADMIN_TOKEN } },
      staticDir,
    })
    onTestFinished(() => app.close())
    await app.listen({ host: '127.0.0.1', port: 0 })
    const b = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const s = await signIn(b)
    const bad = await call(b, 'GET', '/admin/keys', { headers: { cookie: s.cookie } })
    expect(bad.status).toBe(502)
    expect(bad.json().error.code).toBe('admin_token_refused')
  })
})

describe('captured content', () => {
  test('GET /api/requests/:id/content: 403 when sign-in is off, 401 when not signed in, forwarded with the metrics token when signed in', async () => {
    const before = seen.length
    const off = await start({ signIn: false, admin: false })
    for (const path of ['/api/requests/req_1/content', '/api/metrics/requests/req_1/content']) {
      const res = await call(off.base, 'GET', path)
      expect(res.status, path).toBe(403)
      expect(res.json().error.code).toBe('sign_in_not_configured')
      expect(res.json().error.message).toMatch(/signed-in.*ADMIN_PASSWORD/)
    }
    const on = await start()
    // The generic /api forward must not hand it out either.
    for (const path of ['/api/requests/req_1/content', '/api/metrics/requests/req_1/content']) {
      const res = await call(on.base, 'GET', path, { headers: { cookie: 'lmp_session=forged' } })
      expect(res.status, path).toBe(401)
      expect(res.json().error.code).toBe('not_signed_in')
    }
    // Nor the same path spelled otherwise.
    for (const path of ['/api/metrics/requests/req_1/content/', '/api//metrics/requests/req_1/content', '/api/metrics/requests/req_1/%63ontent', '/api/metrics/requests/req_1/content?x=1', '/api/metrics//requests/req_1//content']) {
      const res = await call(on.base, 'GET', path)
      expect(res.status, path).toBe(401)
    }
    expect(seen.length).toBe(before)
    // The rest of /api is as open as before.
    expect((await call(on.base, 'GET', '/api/metrics/requests/req_1')).status).toBe(200)

    const { cookie } = await signIn(on.base)
    const res = await call(on.base, 'GET', '/api/requests/req%2F1/content', { headers: { cookie } })
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json().path).toBe('/metrics/requests/req%2F1/content')
    expect(seen.at(-1)!.headers.authorization).toBe(`Bearer ${METRICS_TOKEN}`)
    expect(seen.at(-1)!.headers.cookie).toBeUndefined()
  })
})
