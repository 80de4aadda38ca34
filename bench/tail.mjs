// node bench/tail.mjs [--target proxy|bare] [--requests 20000] [--env KEY=V ...] [--dist path/to/server.js]
// What the slowest 1% of requests ran into. Non-streaming requests at concurrency 1 against one
// target (the proxy as built by default), each timed from this process; inside the target (a
// preloaded module, bench/tail-preload.cjs) every garbage collection of the event loop's heap and
// every message of more than 20 µs posted to a thread; from here, the CPU of the target's busiest
// other thread (its row writer) sampled every millisecond. Prints p50 and p99, how many of the
// slowest 1% overlapped a collection, a posted message or a millisecond the writer worked (in that
// order), and the p99 of the requests that overlapped none of them: what the tail would be without.
// `--env STORAGE_THREAD_NICE=0` runs the proxy with that variable (repeat --env for more).
// `--pg`: the proxy writes to a PostgreSQL cluster started for the run, whose processes' CPU is
// sampled every millisecond too (their work runs at their own priority, not the writer's): the
// slowest 1% that overlapped none of the above but a millisecond PostgreSQL worked are counted apart.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { PROXY_NODE_FLAGS, childPids, fastBackendArgs, freePort, schedstatNs, threadCpuNs, waitForUrl } from './processes.mjs'
import { startCluster, stopCluster } from '../scripts/pg-cluster.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const { values: a } = parseArgs({
  options: {
    target: { type: 'string', default: 'proxy' },
    requests: { type: 'string', default: '20000' },
    env: { type: 'string', multiple: true, default: [] },
    dist: { type: 'string', default: join(here, '../packages/proxy/dist/server.js') },
    pg: { type: 'boolean', default: false },
  },
})
const N = Number(a.requests)

const tmp = mkdtempSync(join(tmpdir(), 'bench-tail-'))
const children = []
const cluster = a.pg ? await startCluster() : null
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  if (cluster) stopCluster(cluster.dir, 'immediate')
  rmSync(tmp, { recursive: true, force: true })
})

const backendPort = await freePort()
children.push(spawn(process.execPath, fastBackendArgs(backendPort), { stdio: 'ignore' }))
await waitForUrl(`http://127.0.0.1:${backendPort}/v1/models`)
const port = await freePort()
const script = a.target === 'bare' ? [join(here, 'bare-proxy.mjs')] : [...PROXY_NODE_FLAGS, a.dist]
const env = { ...(cluster ? { DATABASE_URL: cluster.url } : {}), ...Object.fromEntries(a.env.map((kv) => kv.split(/=(.*)/s).slice(0, 2))) }
const target = spawn(process.execPath, ['--require', join(here, 'tail-preload.cjs'), ...script], {
  env: { ...process.env, TAIL_OUT: join(tmp, 'events.json'), BACKEND_URL: `http://127.0.0.1:${backendPort}`, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DB_PATH: join(tmp, 'metrics.db'), LOG_LEVEL: 'warn', ...env },
  stdio: ['ignore', 'ignore', 'inherit'],
})
children.push(target)
await waitForUrl(`http://127.0.0.1:${port}/health`)

const body = JSON.stringify({ model: 'mock-llama-3.2-1b', messages: [{ role: 'user', content: 'Benchmark prompt: tell me something.' }], stream: false, max_tokens: 64 })
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
async function one() {
  const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench' }, body })
  await res.body.text()
  if (res.statusCode !== 200) throw new Error(`the target answered ${res.statusCode}`)
}
const now = () => performance.timeOrigin + performance.now()

// Warm-up (bench/processes.mjs, WARM_REQUESTS); the busiest other thread over its second part is the writer.
for (let i = 0; i < 2000; i++) await one()
const before = threadCpuNs(target.pid)
for (let i = 0; i < 2000; i++) await one()
const after = threadCpuNs(target.pid)
const used = (tid) => after.get(tid) - (before.get(tid) ?? 0)
const writer = [...after.keys()].filter((tid) => tid !== String(target.pid)).sort((x, y) => used(y) - used(x))[0]

// The writer's CPU per millisecond, sampled from this process (its own timer: at most ~1 ms late).
const writerFile = `/proc/${target.pid}/task/${writer}/schedstat`
// PostgreSQL's processes (the postmaster's children: the proxy's backends, the WAL writer, ...) as
// they are after the warm-up; the proxy's pool keeps its connections.
const pgFiles = cluster ? childPids(cluster.pid).map((pid) => `/proc/${pid}/schedstat`) : []
const pgNs = () => pgFiles.reduce((n, file) => {
  try {
    return n + schedstatNs(file)
  } catch {
    return n // a process that has ended
  }
}, 0)
/** The spans in which `read` (CPU ns so far) grew by more than 0.3 ms a millisecond: busy. */
const busySpans = (read) => {
  const spans = []
  let last = read()
  return {
    spans,
    sample(from, to) {
      const ns = read()
      if ((ns - last) / 1e6 > 0.3) spans.push([from, to - from])
      last = ns
    },
  }
}
const sampled = [busySpans(() => schedstatNs(writerFile)), ...(cluster ? [busySpans(pgNs)] : [])]
const [busy, pgBusy = []] = sampled.map((s) => s.spans)
let lastAt = now()
const sampler = setInterval(() => {
  const at = now()
  for (const s of sampled) s.sample(lastAt, at)
  lastAt = at
}, 1)

const requests = []
for (let i = 0; i < N; i++) {
  const start = now()
  await one()
  requests.push([start, now() - start])
}
clearInterval(sampler)
target.kill('SIGUSR2')
const events = await (async () => {
  for (let i = 0; i < 100; i++) {
    try {
      return JSON.parse(readFileSync(join(tmp, 'events.json'), 'utf8'))
    } catch {
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  throw new Error('the target did not write what it recorded')
})()

const overlaps = (spans) => ([s, d]) => spans.some(([t, len]) => t < s + d && t + len > s)
const [gc, posted, working, pgWorking] = [overlaps(events.gcs), overlaps(events.posts), overlaps(busy), overlaps(pgBusy)]
const pct = (list, q) => {
  const sorted = list.map((r) => r[1]).sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]
}
const p99 = pct(requests, 0.99)
const slowest = requests.filter((r) => r[1] >= p99)
const count = (pred) => slowest.filter(pred).length
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? 0
console.log(`${a.target}${a.env.length ? ` (${a.env.join(' ')})` : ''}: ${N} requests, p50 ${pct(requests, 0.5).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`)
console.log(`  ${events.gcs.length} collections (median ${median(events.gcs.map((g) => g[1])).toFixed(2)} ms), ${events.posts.length} messages posted to threads (median ${median(events.posts.map((p) => p[1])).toFixed(2)} ms), the writer busy in ${busy.length} samples`)
const none = (r) => !gc(r) && !posted(r) && !working(r)
console.log(`  slowest 1% (${slowest.length}): during a collection ${count(gc)}, else a posted message ${count((r) => !gc(r) && posted(r))}, else while the writer worked ${count((r) => !gc(r) && !posted(r) && working(r))}, none of these ${count(none)}${cluster ? ` (of which while PostgreSQL worked ${count((r) => none(r) && pgWorking(r))}; PostgreSQL busy in ${pgBusy.length} samples, ${pgFiles.length} processes)` : ''}`)
console.log(`  p99 without the requests that overlapped: a collection ${pct(requests.filter((r) => !gc(r)), 0.99).toFixed(3)}, a message ${pct(requests.filter((r) => !posted(r)), 0.99).toFixed(3)}, the writer's work ${pct(requests.filter((r) => !working(r)), 0.99).toFixed(3)}${cluster ? `, PostgreSQL's work ${pct(requests.filter((r) => !pgWorking(r)), 0.99).toFixed(3)}` : ''}, any ${pct(requests.filter((r) => none(r) && !(cluster && pgWorking(r))), 0.99).toFixed(3)} ms`)
process.exit(0)
