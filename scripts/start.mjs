#!/usr/bin/env node
// `npm start` / `pnpm start`: install if needed, build if needed, then run the whole suite —
// proxy :8001, metrics API :8002, dashboard :3000 — with one prefixed output stream per service.
// With no backend at the configured address it starts the simulated backend and a gentle stream
// of demo traffic, and says so. Ctrl-C stops everything; the proxy flushes its rows first.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const env = process.env
const proxyPort = Number(env.PROXY_PORT ?? 8001)
const metricsPort = Number(env.METRICS_PORT ?? 8002)
const dashboardPort = Number(env.DASHBOARD_PORT ?? 3000)
const dbPath = env.DB_PATH ?? join(root, 'data', 'metrics.db')
const color = process.stdout.isTTY && !env.NO_COLOR
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
const COLORS = { start: 1, install: 90, build: 90, mock: 35, demo: 36, proxy: 32, metrics: 34, dashboard: 33 }
const say = (name, line) => console.log(`${paint(COLORS[name] ?? 0, `[${name}]`.padEnd(12))}${line}`)

// --- install and build, only when needed --------------------------------------------------------
const pnpm = (() => {
  const probe = spawnSync('pnpm', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' })
  return probe.status === 0 ? ['pnpm'] : ['npx', '--yes', 'pnpm@10']
})()
function run(name, args) {
  say(name, `${pnpm.join(' ')} ${args.join(' ')}`)
  const r = spawnSync(pnpm[0], [...pnpm.slice(1), ...args], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (r.status !== 0) {
    say(name, paint(31, `failed (exit ${r.status})`))
    process.exit(r.status ?? 1)
  }
}
const newest = (dir) => {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('dist')) continue
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}
const built = [
  ['packages/core', 'dist/index.js'], ['packages/proxy', 'dist/server.js'], ['packages/metrics-api', 'dist/server.js'],
  ['packages/mock-backend', 'dist/cli.js'], ['frontend', 'dist-server/server.js'],
].every(([pkg, out]) => existsSync(join(root, pkg, out)) && statSync(join(root, pkg, out)).mtimeMs >= newest(join(root, pkg, 'src')))
if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) run('install', ['install', '--frozen-lockfile'])
if (!built) run('build', ['build'])
// Loaded once built: the Node flags the proxy runs with wherever it is started.
const { PROXY_NODE_FLAGS } = await import('../packages/proxy/dist/node-flags.js')

// --- services -------------------------------------------------------------------------------------
const children = new Map()
let stopping = false

/** Pino's JSON lines, made readable: time, level, message and the interesting fields. */
function pretty(line) {
  if (!line.startsWith('{')) return line
  try {
    const o = JSON.parse(line)
    const level = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[o.level] ?? o.level
    const { level: _l, time, pid: _p, hostname: _h, msg, reqId: _r, ...rest } = o
    const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ')
    const t = new Date(time).toLocaleTimeString()
    const lvl = level === 'error' || level === 'fatal' ? paint(31, level) : level === 'warn' ? paint(33, level) : level
    return `${paint(90, t)} ${lvl} ${msg ?? ''}${extra ? paint(90, ' ' + extra) : ''}`
  } catch {
    return line
  }
}

function service(name, script, extraEnv, nodeFlags = []) {
  // Own process group: Ctrl-C reaches only this script, which then stops the services in order.
  const child = spawn(process.execPath, [...nodeFlags, join(root, script)], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  children.set(name, child)
  for (const stream of [child.stdout, child.stderr]) {
    let buf = ''
    stream.setEncoding('utf8')
    stream.on('data', (c) => {
      buf += c
      let i
      while ((i = buf.indexOf('\n')) !== -1) {
        say(name, pretty(buf.slice(0, i)))
        buf = buf.slice(i + 1)
      }
    })
  }
  child.once('exit', (code, signal) => {
    children.delete(name)
    if (!stopping) {
      say(name, paint(31, `exited unexpectedly (${signal ?? code}); stopping everything`))
      shutdown(1)
    }
  })
  return child
}

async function waitFor(url, name) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    if (!children.has(name)) throw new Error(`${name} did not start`)
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${name} did not answer at ${url}`)
}

const reachable = (host, port) =>
  new Promise((resolve) => {
    const s = connect({ host, port, timeout: 1000 })
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
    s.once('timeout', () => (s.destroy(), resolve(false)))
  })

const stopped = (name) => new Promise((resolve) => (children.has(name) ? children.get(name).once('exit', resolve) : resolve()))

/** The proxy first (it finishes in-flight requests and stores their rows), then the rest. */
async function shutdown(code = 0) {
  if (stopping) return
  stopping = true
  say('start', 'stopping…')
  const force = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), 20_000)
  force.unref()
  children.get('proxy')?.kill('SIGTERM')
  await stopped('proxy')
  for (const child of children.values()) child.kill('SIGTERM')
  await Promise.all([...children.keys()].map(stopped))
  say('start', 'stopped')
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))
// Never leave orphans, whatever ends this process.
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')))

// --- backend: configured, local Ollama, or the simulated one -------------------------------------
let backendUrl = env.BACKEND_URL
let demo = false
if (!backendUrl) {
  const host = env.BACKEND_HOST ?? 'localhost'
  const port = Number(env.BACKEND_PORT ?? 11434)
  if (await reachable(host, port)) {
    backendUrl = `http://${host}:${port}`
    say('start', `backend: found ${backendUrl} (Ollama's port); no demo traffic`)
  } else {
    const mockPort = Number(env.MOCK_PORT ?? 11435)
    backendUrl = `http://127.0.0.1:${mockPort}`
    demo = true
    say('start', paint(35, `no backend at ${host}:${port}: starting the SIMULATED backend on ${backendUrl} with demo traffic.`))
    say('start', paint(35, 'Set BACKEND_URL (or start Ollama) to use a real model; the demo traffic stops then.'))
    service('mock', 'packages/mock-backend/dist/cli.js', { MOCK_PORT: String(mockPort), MOCK_HOST: '127.0.0.1', MOCK_TTFT_MS: '250', MOCK_TPS: '40', MOCK_ANSWER_TOKENS: '48', MOCK_CAPACITY: '4' })
    await waitFor(`${backendUrl}/v1/models`, 'mock')
  }
} else {
  say('start', `backend: ${backendUrl} (BACKEND_URL)`)
}

const proxyUrl = `http://localhost:${proxyPort}`
try {
  service('proxy', 'packages/proxy/dist/server.js', { BACKEND_URL: backendUrl, PROXY_PORT: String(proxyPort), DB_PATH: dbPath }, PROXY_NODE_FLAGS)
  service('metrics', 'packages/metrics-api/dist/server.js', { METRICS_PORT: String(metricsPort), DB_PATH: dbPath })
  service('dashboard', 'frontend/dist-server/server.js', {
    DASHBOARD_PORT: String(dashboardPort), METRICS_API_URL: `http://127.0.0.1:${metricsPort}`, PROXY_PUBLIC_URL: proxyUrl,
  })
  await waitFor(`http://127.0.0.1:${proxyPort}/health`, 'proxy')
  await waitFor(`http://127.0.0.1:${metricsPort}/health`, 'metrics')
  await waitFor(`http://127.0.0.1:${dashboardPort}/health`, 'dashboard')
} catch (err) {
  say('start', paint(31, err.message))
  shutdown(1)
}
// The models the backend serves, so the first request can name one that exists.
let models = []
if (!stopping) {
  try {
    const res = await fetch(`${backendUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/models`, {
      signal: AbortSignal.timeout(3000), headers: env.BACKEND_API_KEY ? { authorization: `Bearer ${env.BACKEND_API_KEY}` } : {},
    })
    if (res.ok) models = ((await res.json()).data ?? []).map((m) => m.id).filter((id) => typeof id === 'string')
  } catch {}
}
if (!stopping) {
  if (demo) startDemoTraffic()
  console.log('')
  say('start', paint(1, 'ready'))
  say('start', `dashboard    http://localhost:${dashboardPort}`)
  say('start', `proxy        ${proxyUrl}/v1   (point the OpenAI SDK's base URL here)`)
  say('start', `metrics API  http://127.0.0.1:${metricsPort}/metrics`)
  if (models.length) say('start', `models       ${models.join(', ')}${demo ? '   (simulated)' : ''}`)
  else say('start', `models       (the backend listed none at ${backendUrl}/v1/models)`)
  say('start', 'Ctrl-C stops everything.')
}

/** A gentle mix of requests through the proxy so the dashboard has something to show. */
function startDemoTraffic() {
  const models = ['mock-llama-3.2-1b', 'mock-qwen2.5-7b']
  const users = ['alice', 'bob', 'carol']
  // Mostly successes, with the occasional failure so the errors table has something to show.
  const scenarios = ['', '', '', '', '', '', '', '', '', '', '', '', '', 'error-429', '', '', '', '', '', 'error-500', '', '', '', '', '', '', 'stream-error']
  let n = 0
  const tick = async () => {
    if (stopping) return
    n++
    const stream = n % 3 !== 0
    const scenario = scenarios[n % scenarios.length]
    try {
      const res = await fetch(`http://127.0.0.1:${proxyPort}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'demo-traffic', ...(scenario ? { 'x-mock-scenario': scenario } : {}) },
        body: JSON.stringify({ model: models[n % models.length], stream, user: users[n % users.length], messages: [{ role: 'user', content: `Demo request ${n}` }] }),
      })
      await res.arrayBuffer()
    } catch {}
    if (n === 1) say('demo', 'sending a request every ~2 s through the proxy')
    if (!stopping) setTimeout(tick, 1000 + Math.random() * 2000).unref()
  }
  tick()
  loadWaves(models)
}

/**
 * Waves of concurrent streams, 20 s at each level, so the saturation panel has a knee to show: the
 * simulated backend slows down past 4 requests at once (MOCK_CAPACITY), like a GPU server.
 */
function loadWaves(models) {
  const levels = [1, 2, 3, 4, 6, 8, 12, 8, 6, 3]
  let wave = 0
  const run = async () => {
    if (stopping) return
    const level = levels[wave++ % levels.length]
    const until = Date.now() + 20_000
    await Promise.all(
      Array.from({ length: level }, async (_, w) => {
        for (let i = 0; !stopping && Date.now() < until; i++) {
          try {
            const res = await fetch(`http://127.0.0.1:${proxyPort}/v1/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'user-agent': 'demo-load' },
              body: JSON.stringify({ model: models[(w + i) % models.length], stream: true, user: 'load', messages: [{ role: 'user', content: `Load wave at ${level}` }] }),
            })
            await res.arrayBuffer()
          } catch {
            return
          }
        }
      }),
    )
    if (wave === 1) say('demo', 'and waves of 1 to 12 concurrent streams, for the saturation panel')
    if (!stopping) setTimeout(run, 0).unref()
  }
  run()
}
