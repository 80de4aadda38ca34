// node bench/promotion.mjs [--idle-ms 15000] [--requests 6000] [--runs 2] [--stream] [--keys] [--dist path/to/server.js]
//
// How much of each request the proxy's main thread promotes to V8's old generation (what a scavenge
// could not collect because something still pointed at it), beside the bare Fastify + undici
// pass-through: KB per request from `--trace-gc-nvp`, non-streaming at concurrency 32. Promoted
// bytes are what mark-compact collections (and the V8 helper threads' CPU) are paid for. Each
// target first sits idle for --idle-ms after it starts, as a proxy does before its first clients:
// a proxy whose in-flight registry was a Map/Set only showed its 3–5 KB per request after such a
// pause (with traffic at once it stayed at ~0.15; docs/technical/performance.md). Rows waiting
// for their batch (up to 100 ms) are promoted legitimately: a few hundred bytes per request.
// --stream: streaming requests (3,000 per run by default then); --keys: the proxy in AUTH_MODE=keys
// as well, with one key of generous limits, as bench:overhead's proxy-keys.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BENCH_ADMIN_TOKEN, WARM_REQUESTS, benchKeyHeader, fastBackendArgs, freePort, load, waitForUrl } from './processes.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: a } = parseArgs({ options: {
  'idle-ms': { type: 'string', default: '15000' }, requests: { type: 'string', default: '6000' }, runs: { type: 'string', default: '2' },
  dist: { type: 'string', default: join(root, 'packages/proxy/dist/server.js') },
  stream: { type: 'boolean', default: false }, keys: { type: 'boolean', default: false },
} })
const tmp = mkdtempSync(join(tmpdir(), 'promotion-'))
const children = []
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

function start(script, env) {
  // Without the proxy's Node flags, like the bare: a smaller young generation promotes more by
  // construction; this measures what the code keeps alive, with both on V8's defaults.
  const child = spawn(process.execPath, ['--trace-gc-nvp', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  child.promoted = 0
  // The main isolate's scavenges only (a worker thread's isolate has a longer address and its own lines).
  child.stdout.on('data', (c) => {
    for (const m of String(c).matchAll(/^\[\d+:0x[0-9a-f]{1,9}\].*? gc=s .*?promoted=(\d+)/gm)) child.promoted += Number(m[1])
  })
  return child
}

const backendPort = await freePort()
children.push(spawn(process.execPath, fastBackendArgs(backendPort), { stdio: 'ignore' }))
const backendUrl = `http://127.0.0.1:${backendPort}`
await waitForUrl(`${backendUrl}/v1/models`)

const targets = []
for (const [name, script, env] of [
  ['bare', join(root, 'bench/bare-proxy.mjs'), {}],
  ['proxy', a.dist, { PROXY_HOST: '127.0.0.1', DB_PATH: join(tmp, 'proxy.db'), LOG_LEVEL: 'warn' }],
  ...(a.keys ? [['proxy-keys', a.dist, { PROXY_HOST: '127.0.0.1', DB_PATH: join(tmp, 'keys.db'), LOG_LEVEL: 'warn', AUTH_MODE: 'keys', ADMIN_TOKEN: BENCH_ADMIN_TOKEN }]] : []),
]) {
  const port = await freePort()
  const admin = env.AUTH_MODE ? await freePort() : null
  const child = start(script, { BACKEND_URL: backendUrl, PROXY_PORT: String(port), ...(admin ? { ADMIN_PORT: String(admin) } : {}), ...env })
  targets.push({ name, child, admin, headers: [], url: `http://127.0.0.1:${port}/v1/chat/completions` })
}
for (const t of targets) await waitForUrl(t.url.replace('/v1/chat/completions', t.admin ? '/health' : '/v1/models'))
for (const t of targets.filter((t) => t.admin)) t.headers = [await benchKeyHeader(t.admin)]
await new Promise((r) => setTimeout(r, Number(a['idle-ms'])))

const cell = { stream: a.stream, concurrency: 32, requests: Number(a.requests) / (a.stream ? 2 : 1) }
// Untimed first (WARM_REQUESTS in processes.mjs says why).
for (const t of targets) await load(t.url, { ...cell, requests: WARM_REQUESTS, headers: t.headers })
console.log(`KB promoted per request by the main thread, ${a.stream ? 'streaming' : 'non-streaming'} c32, ${cell.requests} requests per run, after ${a['idle-ms']} ms idle`)
for (let r = 0; r < Number(a.runs); r++) {
  const line = []
  for (const t of targets) {
    t.child.promoted = 0
    await load(t.url, { ...cell, headers: t.headers })
    line.push(`${t.name} ${(t.child.promoted / 1024 / cell.requests).toFixed(2)}`)
  }
  console.log(`  run ${r + 1}: ${line.join(', ')}`)
}
process.exit(0)
