import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, onTestFinished, test } from 'vitest'
import { buildDashboardServer } from '../server/app'

// The production server: the factory in-process, and dist-server/server.js as a real process.
const serverJs = fileURLToPath(new URL('../dist-server/server.js', import.meta.url))

let upstream: Server
let upstreamUrl: string
const seen: { url: string; headers: IncomingHttpHeaders }[] = []
let staticDir: string

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push({ url: req.url!, headers: req.headers })
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }))
  })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  staticDir = mkdtempSync(join(tmpdir(), 'dashboard-static-'))
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>LLM metrics</title>')
})
afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((r) => upstream.close(r))
  rmSync(staticDir, { recursive: true, force: true })
})

async function start(config: { metricsApiUrl: string; metricsApiToken?: string }) {
  const app = buildDashboardServer({ config: { ...config, proxyPublicUrl: 'http://proxy.example:8001' }, staticDir })
  onTestFinished(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

test('/api/* goes to the metrics API with the server-side token; the browser never sends one', async () => {
  const base = await start({ metricsApiUrl: upstreamUrl, metricsApiToken: 's3cret' })
  const res = await fetch(`${base}/api/metrics/requests?limit=5&model=a%2Fb`, { headers: { authorization: 'Bearer from-browser', cookie: 'sid=1' } })
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ path: '/metrics/requests?limit=5&model=a%2Fb' })
  const last = seen.at(-1)!
  expect(last.headers.authorization).toBe('Bearer s3cret')
  expect(last.headers.cookie).toBeUndefined()

  const open = await start({ metricsApiUrl: upstreamUrl })
  await fetch(`${open}/api/health`, { headers: { authorization: 'Bearer from-browser' } })
  expect(seen.at(-1)!.url).toBe('/health')
  expect(seen.at(-1)!.headers.authorization).toBeUndefined()
  // Read-only: nothing but GET and HEAD is forwarded.
  const post = await fetch(`${open}/api/metrics`, { method: 'POST', body: '{}' })
  expect(post.status).toBe(404)
  expect(seen.at(-1)!.url).toBe('/health')
})

test('an unreachable metrics API is a 502 naming its URL, in the OpenAI error shape', async () => {
  const gone = createServer()
  gone.listen(0, '127.0.0.1')
  await once(gone, 'listening')
  const deadUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`
  await new Promise((r) => gone.close(r))
  const base = await start({ metricsApiUrl: deadUrl })
  const res = await fetch(`${base}/api/metrics`)
  expect(res.status).toBe(502)
  const body = await res.json()
  expect(body.error.code).toBe('metrics_api_unreachable')
  expect(body.error.message).toContain(deadUrl)
})

test('the app for every page, /config.json with the proxy URL', async () => {
  const base = await start({ metricsApiUrl: upstreamUrl })
  for (const path of ['/', '/some/deep/link']) {
    const res = await fetch(base + path)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<title>LLM metrics</title>')
  }
  expect(await (await fetch(`${base}/config.json`)).json()).toMatchObject({ proxyUrl: 'http://proxy.example:8001' })
})

test('a rebuild under the running server: new assets are served, a missing build is one clear 503, never a loop of 404s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-rebuild-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const dist = join(dir, 'dist')
  const build = (hash: string) => {
    const out = join(dir, `next-${hash}`)
    mkdirSync(join(out, 'assets'), { recursive: true })
    writeFileSync(join(out, 'index.html'), `<!doctype html><script src="/assets/index-${hash}.js"></script>`)
    writeFileSync(join(out, 'assets', `index-${hash}.js`), `console.log('${hash}')`)
    return out
  }
  renameSync(build('aaa'), dist)
  const warnings: string[] = []
  const app = buildDashboardServer({
    config: { metricsApiUrl: upstreamUrl, proxyPublicUrl: 'http://proxy.example:8001' },
    staticDir: dist,
    logger: { level: 'warn', stream: { write: (line: string) => void warnings.push(line) } },
  })
  onTestFinished(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  expect(await (await fetch(`${base}/assets/index-aaa.js`)).text()).toBe("console.log('aaa')")

  // The build folder gone (as `rm -rf dist` did): one 503 in OpenAI's shape per page request.
  renameSync(dist, join(dir, 'old'))
  const gone = await fetch(`${base}/`)
  expect(gone.status).toBe(503)
  expect(gone.headers.get('retry-after')).toBe('5')
  expect((await gone.json()).error.code).toBe('dashboard_not_built')
  expect((await fetch(`${base}/assets/index-aaa.js`)).status).toBe(404)

  // A new build with new hashed names, swapped in while the server runs: served at once.
  renameSync(build('bbb'), dist)
  expect(await (await fetch(`${base}/`)).text()).toContain('/assets/index-bbb.js')
  expect(await (await fetch(`${base}/assets/index-bbb.js`)).text()).toBe("console.log('bbb')")
  expect((await fetch(`${base}/assets/index-aaa.js`)).status).toBe(404)
  expect(warnings.join('')).not.toContain('inside a 404 handler')
})

/** Runs dist-server/server.js with `env`; resolves with its stdout lines until `until` matches. */
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [serverJs], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')))
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const lines = createInterface({ input: child.stdout })
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stderr }))
  return { child, lines, exited }
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address() as AddressInfo
  await new Promise((r) => s.close(r))
  return port
}

test('server.js reads its environment at start (nothing baked into the build) and stops on SIGTERM', async () => {
  if (!existsSync(serverJs)) throw new Error('Build the dashboard first (pnpm build)')
  const port = await freePort()
  const p = run({ DASHBOARD_PORT: String(port), METRICS_API_URL: `${upstreamUrl}/`, PROXY_PUBLIC_URL: 'https://llm.example.com/', METRICS_API_TOKEN: 'tok' })
  for await (const line of p.lines) if (line.includes('dashboard ready')) break
  const base = `http://127.0.0.1:${port}`
  expect((await (await fetch(`${base}/config.json`)).json()).proxyUrl).toBe('https://llm.example.com')
  expect(await (await fetch(`${base}/api/metrics/models`)).json()).toEqual({ path: '/metrics/models' })
  expect(seen.at(-1)!.headers.authorization).toBe('Bearer tok')
  expect((await fetch(base)).headers.get('content-type')).toContain('text/html')
  p.child.kill('SIGTERM')
  expect((await p.exited).code).toBe(0)
})

test('a bad setting stops server.js with exit 1 and a message naming the variable', async () => {
  const p = run({ DASHBOARD_PORT: 'eighty', METRICS_API_URL: upstreamUrl })
  const { code, stderr } = await p.exited
  expect(code).toBe(1)
  expect(stderr).toContain('DASHBOARD_PORT')
})

test('ADMIN_TOKEN without ADMIN_PASSWORD: server.js refuses to start (exit 1), naming both variables and never the token', async () => {
  const token = 'refuse-to-start-admin-token-0123456789'
  const p = run({ DASHBOARD_PORT: String(await freePort()), METRICS_API_URL: upstreamUrl, ADMIN_TOKEN: token })
  const { code, stderr } = await p.exited
  expect(code).toBe(1)
  expect(stderr).toContain('ADMIN_TOKEN')
  expect(stderr).toContain('ADMIN_PASSWORD')
  expect(stderr).not.toContain(token)
})

test('with ADMIN_PASSWORD, server.js starts with sign-in on and its output never shows the password', async () => {
  const password = 'never-in-a-log-line-0123'
  const port = await freePort()
  const p = run({ DASHBOARD_PORT: String(port), METRICS_API_URL: upstreamUrl, ADMIN_PASSWORD: password, SESSION_TTL: '1h', LOG_LEVEL: 'trace' })
  let out = ''
  let ready = ''
  for await (const line of p.lines) {
    out += line
    if (line.includes('dashboard ready')) {
      ready = line
      break
    }
  }
  expect(JSON.parse(ready).signIn).toBe(true)
  const base = `http://127.0.0.1:${port}`
  const wrong = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ user: 'admin', password: 'wrong' }) })
  expect(wrong.status).toBe(401)
  const ok = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ user: 'admin', password }) })
  expect(ok.status).toBe(200)
  expect(ok.headers.get('set-cookie')).toContain('HttpOnly')
  p.child.kill('SIGTERM')
  // Whatever was logged at trace level, before and after sign-in: not the password.
  for await (const line of p.lines) out += line
  const { stderr } = await p.exited
  expect(out + stderr).not.toContain(password)
})
