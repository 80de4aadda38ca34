// node bench/ab.mjs [--cells ns1,ns32,s1,s32] [--repeats 5] [--requests-scale 1] [--variant 'name:KEY=V,KEY=V'] [--prof DIR] [--latency [--no-ttft]] [--slow] [--slow-prompt-kb N] [--idle-ms N] [--warm 3000]
// e.g. --variant 'keys:keys=1' (AUTH_MODE=keys, one key with generous limits, as in bench/overhead.mjs),
// --variant 'noflags:flags=' (the proxy without its Node flags, packages/proxy/src/node-flags.ts)
// --latency: instead of CPU, latency at concurrency 1 with more samples than bench:overhead takes
// (5,000 requests per repeat for p50/p99, 40 streams against a 200 ms backend TTFT), the backend
// itself as `direct`, each figure added over direct and as a ratio to the bare pass-through's.
// --slow: after the cells, 1,000 concurrent slow streams (20 ms between tokens) on each target, its
// peak RSS counted from there (as bench:overhead measures it: after the other phases, same process).
// --slow-prompt-kb N: those streams carry a conversation of N KB each (the benchmark's one-line prompt
// by default; what a proxy holds per stream grows with what the client sent).
// A short A/B for work on the proxy's CPU cost: the bare pass-through, the proxy as built, and any
// variants (other env vars, or another build with dist=/path/to/server.js), interleaved per repeat
// (the order rotated by one each repeat),
// CPU per request (every thread) as medians, and as ratios to the bare pass-through and to `proxy`
// paired by repeat: the median of the per-repeat ratios with, in brackets, a 95% interval for that
// median once there are 6 repeats or more (order statistics, no assumption about the distribution:
// a difference is shown when the interval leaves out 1.00, and an identical second proxy as a variant,
// `--variant proxy2:`, shows what the machine itself makes of "no difference"), and their range.
// --prof DIR runs the proxies with --cpu-prof (profiles per thread in DIR; the CPU figures are then
// inflated by the profiler, so use separate runs for figures and for profiles).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BENCH_ADMIN_TOKEN, PROXY_NODE_FLAGS, SLOW_STREAMS, WARM_REQUESTS, benchKeyHeader, cpuNs, fastBackendArgs, freePort, load, median, medianInterval, pairedAddedRatios, peakRssMb, resetPeakRss, rssMb, waitForUrl } from './processes.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: a } = parseArgs({
  options: {
    cells: { type: 'string', default: 'ns1,ns32,s1,s32' },
    repeats: { type: 'string', default: '5' },
    'requests-scale': { type: 'string', default: '1' },
    variant: { type: 'string', multiple: true, default: [] },
    prof: { type: 'string' },
    latency: { type: 'boolean', default: false },
    'no-ttft': { type: 'boolean', default: false },
    slow: { type: 'boolean', default: false },
    'slow-prompt-kb': { type: 'string', default: '0' },
    'idle-ms': { type: 'string', default: '0' },
    warm: { type: 'string', default: String(WARM_REQUESTS) },
  },
})
const tmp = mkdtempSync(join(tmpdir(), 'bench-ab-'))
const children = []
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})
process.on('SIGINT', () => process.exit(130))

function start(args, env) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(child)
  return child
}
const backendPort = await freePort()
const backendUrl = `http://127.0.0.1:${backendPort}`
start(fastBackendArgs(backendPort), {})
await waitForUrl(`${backendUrl}/v1/models`)

const targets = []
const barePort = await freePort()
targets.push({ name: 'bare', port: barePort, child: start([...(a.prof ? ['--cpu-prof', '--cpu-prof-dir', join(a.prof, 'bare')] : []), join(root, 'bench/bare-proxy.mjs')], { BACKEND_URL: backendUrl, PROXY_PORT: String(barePort) }) })
const variants = [{ name: 'proxy', env: {} }, ...a.variant.map((v) => {
  const [name, spec = ''] = v.split(/:(.*)/s)
  return { name, env: Object.fromEntries(spec.split(',').filter(Boolean).map((kv) => kv.split(/=(.*)/s).slice(0, 2))) }
})]
for (const v of variants) {
  const port = await freePort()
  // `flags=…` (space-separated, empty for none) replaces the proxy's Node flags for that variant.
  const { dist = join(root, 'packages/proxy/dist/server.js'), keys, flags: nodeFlags, ...env } = v.env
  const flags = [...(nodeFlags === undefined ? PROXY_NODE_FLAGS : nodeFlags.split(' ').filter(Boolean)), ...(a.prof ? ['--cpu-prof', '--cpu-prof-dir', join(a.prof, v.name)] : [])]
  const admin = keys ? await freePort() : null
  if (admin) Object.assign(env, { AUTH_MODE: 'keys', ADMIN_TOKEN: BENCH_ADMIN_TOKEN, ADMIN_PORT: String(admin) })
  targets.push({ name: v.name, port, admin, headers: [], child: start([...flags, dist], {
    BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DB_PATH: join(tmp, `${v.name}.db`), LOG_LEVEL: 'warn', ...env,
  }) })
}
for (const t of targets) await waitForUrl(`http://127.0.0.1:${t.port}/health`)
// --idle-ms: the processes sit idle before any traffic, as a proxy does before its first clients
// (a proxy once behaved differently for life after such a pause: bench/promotion.mjs).
await new Promise((r) => setTimeout(r, Number(a['idle-ms'])))
for (const t of targets.filter((t) => t.admin)) t.headers = [await benchKeyHeader(t.admin)]

const idleRss = Object.fromEntries(targets.map((t) => [t.name, rssMb(t.child.pid)]))
const scale = Number(a['requests-scale'])
/** The targets in the order of repeat r: rotated by one each repeat, so none always runs right after the same one. */
const rotated = (list, r) => list.map((_, i) => list[(i + r) % list.length])

if (a.latency) {
  const all = [{ name: 'direct', port: backendPort, headers: [] }, ...targets]
  const phases = {
    'p99 c1 non-stream': { stream: false, requests: Math.round(5000 * scale), pick: (r) => r.p99 },
    'p99 c1 stream': { stream: true, requests: Math.round(1000 * scale), pick: (r) => r.p99 },
    'TTFT, 200 ms backend': { stream: true, requests: Math.round(40 * scale), headers: ['x-mock-ttft-ms: 200'], pick: (r) => r.ttftP50 },
  }
  if (a['no-ttft']) delete phases['TTFT, 200 ms backend']
  console.log(`latency at c1 — ${new Date().toISOString()} — ${a.repeats} interleaved repeats, medians (ms), added = target − direct`)
  for (const [label, ph] of Object.entries(phases)) {
    const got = Object.fromEntries(all.map((t) => [t.name, []]))
    for (const t of all) await load(`http://127.0.0.1:${t.port}/v1/chat/completions`, { stream: ph.stream, concurrency: 1, requests: 300, headers: t.headers })
    for (let r = 0; r < Number(a.repeats); r++) {
      for (const t of rotated(all, r)) got[t.name].push(ph.pick(await load(`http://127.0.0.1:${t.port}/v1/chat/completions`, { stream: ph.stream, concurrency: 1, requests: ph.requests, headers: [...(ph.headers ?? []), ...(t.headers ?? [])] })))
    }
    const direct = median(got.direct)
    const added = (name) => median(got[name]) - direct
    console.log(`${label.padEnd(22)} direct ${direct.toFixed(2)}  |  ` + targets.map((t) => `${t.name} +${added(t.name).toFixed(2)}` + (t.name === 'bare' ? '' : ` (${(added(t.name) / added('bare')).toFixed(2)}× bare's, bare + ${(added(t.name) - added('bare')).toFixed(2)})`)).join('  |  '))
    // Paired by repeat, as the CPU figures are: each repeat's added figure over the bare's of the same
    // repeat, their median with its 95% interval (from 6 repeats), so a ratio can be told from the noise.
    const fmt = (rs) => {
      const ci = medianInterval(rs)
      return `${median(rs).toFixed(2)}×${ci ? ` [95% ${ci[0].toFixed(2)}–${ci[1].toFixed(2)}]` : ''}`
    }
    console.log(`${''.padEnd(22)} paired by repeat, / bare's added: ` + targets.filter((t) => t.name !== 'bare').map((t) => `${t.name} ${fmt(pairedAddedRatios(got, t.name))}`).join('  |  '))
  }
  process.exit(0)
}

const CELLS = {
  ns1: { stream: false, concurrency: 1, requests: 3000 },
  ns32: { stream: false, concurrency: 32, requests: 6000 },
  s1: { stream: true, concurrency: 1, requests: 600 },
  s32: { stream: true, concurrency: 32, requests: 3000 },
}
console.log(`A/B — ${new Date().toISOString()} — ${a.repeats} interleaved repeats, CPU µs per request (all threads), medians`)
for (const cell of a.cells.split(',')) {
  const s = { ...CELLS[cell], requests: Math.round(CELLS[cell].requests * scale) }
  const cpu = Object.fromEntries(targets.map((t) => [t.name, []]))
  const others = Object.fromEntries(targets.map((t) => [t.name, []]))
  let errors = 0
  // Untimed first (WARM_REQUESTS in processes.mjs says why).
  for (const t of targets) await load(`http://127.0.0.1:${t.port}/v1/chat/completions`, { ...s, requests: Number(a.warm), headers: t.headers })
  for (let r = 0; r < Number(a.repeats); r++) {
    for (const t of rotated(targets, r)) {
      const before = cpuNs(t.child.pid)
      const res = await load(`http://127.0.0.1:${t.port}/v1/chat/completions`, { ...s, headers: t.headers })
      errors += res.errors
      const after = cpuNs(t.child.pid)
      cpu[t.name].push((after.main + after.other - before.main - before.other) / 1000 / s.requests)
      others[t.name].push((after.other - before.other) / 1000 / s.requests)
    }
  }
  const m = Object.fromEntries(targets.map((t) => [t.name, median(cpu[t.name])]))
  // Ratios paired by repeat (a target against the other's run in the same repeat, on nearly the
  // same machine state), then their median, its interval and their range: drift between repeats cancels out of each pair.
  const paired = (name, to) => {
    const rs = cpu[name].map((v, r) => v / cpu[to][r])
    const ci = medianInterval(rs)
    return `${median(rs).toFixed(2)}× ${to} [${ci ? `95% ${ci[0].toFixed(2)}–${ci[1].toFixed(2)}, ` : ''}range ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}]`
  }
  console.log(`${cell.padEnd(5)} ` + targets.map((t) => `${t.name} ${m[t.name].toFixed(0)} [other threads ${median(others[t.name]).toFixed(0)}]` + (t.name === 'bare' ? '' : ` (${paired(t.name, 'bare')}${t.name === 'proxy' ? '' : `, ${paired(t.name, 'proxy')}`})`)).join('  |  ') + (errors ? `  errors ${errors}` : ''))
}
console.log('RSS (MB), idle → now (peak): ' + targets.map((t) => `${t.name} ${idleRss[t.name].toFixed(0)} → ${rssMb(t.child.pid).toFixed(0)} (${peakRssMb(t.child.pid).toFixed(0)})`).join(', '))
if (a.slow) {
  const promptKb = Number(a['slow-prompt-kb'])
  const peaks = []
  for (const t of targets) {
    resetPeakRss(t.child.pid)
    const r = await load(`http://127.0.0.1:${t.port}/v1/chat/completions`, { ...SLOW_STREAMS, headers: [...SLOW_STREAMS.headers, ...(t.headers ?? [])], promptBytes: promptKb * 1024 })
    peaks.push(`${t.name} ${peakRssMb(t.child.pid).toFixed(0)}${r.errors ? ` (${r.errors} errors)` : ''}`)
  }
  console.log(`1,000 slow streams${promptKb > 0 ? ` of ${promptKb} KB prompts` : ''}, peak RSS (MB): ` + peaks.join(', '))
}
if (a.prof) {
  // SIGTERM so the profiles are written.
  await Promise.all(targets.map((t) => new Promise((r) => { t.child.once('exit', r); t.child.kill('SIGTERM') })))
}
process.exit(0)
