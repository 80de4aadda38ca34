// What the benchmarks share: free ports, waiting for a server, the load generator in its own
// process, per-thread CPU and peak memory of a process from /proc, and the medians they report;
// the simulated backend's arguments and the key a keys-mode proxy is measured with.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** The simulated backend as the benchmarks run it: fast mode (no delays), 64-token answers. */
export const fastBackendArgs = (port) =>
  [join(here, '../packages/mock-backend/dist/cli.js'), '--port', String(port), '--ttft-ms', '0', '--tps', '0', '--answer-tokens', '64']

/**
 * Untimed requests each target gets for a scenario right before it is timed. V8 optimizes the code
 * a path runs over its first few thousand requests: the streaming path took ~3,000 streams at
 * concurrency 1 to settle (`--trace-opt`: 20–30 TurboFan compiles per 300 streams until then, on the
 * helper threads, up to 300 µs per stream; `perf` puts those threads in v8::internal::compiler::*).
 * A running proxy pays that once; the figures are its steady state. Right before, not all at the
 * start: V8 drops the bytecode of functions left unused over several full collections, and their
 * optimized code with it, so a path warmed at the start can be cold again after the other phases.
 */
export const WARM_REQUESTS = 3000

/**
 * The Node flags the proxy runs with wherever it is started (packages/proxy/src/node-flags.ts): the
 * benchmarks start every proxy with them, another checkout's build included, so the figures are
 * those of the proxy as users run it. Read from the build (the benchmarks run after one).
 */
export const { PROXY_NODE_FLAGS } = await import('../packages/proxy/dist/node-flags.js')

/** ADMIN_TOKEN of the keys-mode proxies the benchmarks start. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123'

/** Creates one key with limits far above any load a benchmark sends; its `Authorization` header line. */
export async function benchKeyHeader(adminPort) {
  const res = await fetch(`http://127.0.0.1:${adminPort}/admin/keys`, {
    method: 'POST', headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', limits: { rpm: 10_000_000, tpm: 1_000_000_000, budget_tokens: 1_000_000_000_000 } }),
  })
  return `authorization: Bearer ${(await res.json()).secret}`
}

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

export async function waitForUrl(url) {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(`${url} did not answer`)
}

/** Runs bench/load.mjs against `url`; resolves with its JSON line (count, errors, rps, percentiles). */
export function load(url, { requests, concurrency, stream, headers = [], promptBytes = 0 }) {
  const args = [join(here, 'load.mjs'), '--url', url, '--requests', String(requests), '--concurrency', String(concurrency)]
  if (stream) args.push('--stream')
  if (promptBytes > 0) args.push('--prompt-bytes', String(promptBytes))
  for (const h of headers) args.push('--header', h)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`))))
  })
}

/**
 * On-CPU nanoseconds of a process's threads from each /proc/<pid>/task/<tid>/schedstat (nanosecond
 * resolution, unlike utime/stime ticks): the main thread (tid = pid) and all the others.
 */
export function cpuNs(pid) {
  let main = 0
  let other = 0
  for (const [tid, ns] of threadCpuNs(pid)) {
    if (tid === String(pid)) main += ns
    else other += ns
  }
  return { main, other, total: main + other }
}

/** On-CPU nanoseconds so far from a schedstat file (/proc/PID/schedstat or /proc/PID/task/TID/schedstat). */
export const schedstatNs = (file) => Number(readFileSync(file, 'utf8').split(' ')[0])

/** On-CPU nanoseconds of each thread of a process, by thread id (a thread that ended while read is left out). */
export function threadCpuNs(pid) {
  const out = new Map()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, schedstatNs(`/proc/${pid}/task/${tid}/schedstat`))
    } catch {}
  }
  return out
}

/**
 * A target's added latency over direct against the bare pass-through's, run by run: `by` holds each
 * target's figure per run (`direct`, `bare` and `name` among them), the runs of one repeat side by side.
 */
export const pairedAddedRatios = (by, name) => by[name].map((v, r) => (v - by.direct[r]) / (by.bare[r] - by.direct[r]))

/** The fields of /proc/PID/stat after the command's closing parenthesis: state, ppid, ..., utime (12th), stime, cutime, cstime. */
const statFields = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** The pids of a process's live children (PostgreSQL's postmaster: its backends and workers). */
export function childPids(rootPid) {
  const out = []
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      if (statFields(p)[1] === String(rootPid)) out.push(Number(p))
    } catch {}
  }
  return out
}

/**
 * On-CPU nanoseconds of a process and its children, as of now: PostgreSQL's postmaster and its
 * backends. Live processes from schedstat; children that have exited (a connection closed) count
 * through the root's cutime + cstime, in clock ticks (USER_HZ, 100 on Linux).
 */
export function processTreeCpuNs(rootPid) {
  const f = statFields(rootPid)
  let ns = cpuNs(rootPid).total + (Number(f[13]) + Number(f[14])) * 1e7
  for (const pid of childPids(rootPid)) {
    try {
      ns += cpuNs(pid).total
    } catch {}
  }
  return ns
}

const statusMb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024
/** Resident memory now (VmRSS), MB. */
export const rssMb = (pid) => statusMb(pid, 'VmRSS')
/** Peak resident memory (VmHWM), MB, since the start or the last resetPeakRss(). */
export const peakRssMb = (pid) => statusMb(pid, 'VmHWM')
/** Sets a process's peak RSS to its RSS now (Linux: clear_refs 5), to measure one phase alone. */
export const resetPeakRss = (pid) => { try { writeFileSync(`/proc/${pid}/clear_refs`, '5') } catch {} }

/** The slow-streams phase both benchmarks run: 1,000 concurrent streams, 20 ms between tokens. */
export const SLOW_STREAMS = { requests: 1000, concurrency: 1000, stream: true, headers: ['x-mock-tokens-per-second: 50'] }

/** The lower median (a value that was measured), or null for no values. */
export const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null
}

/**
 * A distribution-free 95% interval for the median of `xs`: the order statistics k+1 and n−k (1-based),
 * k the largest with P(Binomial(n, ½) ≤ k) ≤ 2.5%. Null below 6 values (no such k).
 */
export function medianInterval(xs) {
  const s = [...xs].sort((x, y) => x - y)
  const n = s.length
  let k = -1
  let below = 0
  let choose = 1 // C(n, i)
  for (let i = 0; i < n; i++) {
    below += choose / 2 ** n
    if (below > 0.025) break
    k = i
    choose = (choose * (n - i)) / (i + 1)
  }
  return k < 0 ? null : [s[k], s[n - 1 - k]]
}
