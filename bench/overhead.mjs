// pnpm bench:overhead — what metering costs. Starts the simulated backend in fast mode, a bare
// Fastify + undici pass-through (the floor), the real proxy with metering on SQLite and on PostgreSQL
// (a throwaway cluster, when PostgreSQL is installed), the SQLite proxy with keys and with CAPTURE=all, and nginx when installed; drives them interleaved (A B C A B C ...) with a load generator in its own process; prints
// req/s, p50/p99, proxy CPU per request and peak RSS, with ratios taken pair by pair within the run.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import postgres from 'postgres'
import { pgBinDir, startCluster, stopCluster } from '../scripts/pg-cluster.mjs'
import { BENCH_ADMIN_TOKEN, PROXY_NODE_FLAGS, SLOW_STREAMS, WARM_REQUESTS, benchKeyHeader, cpuNs, fastBackendArgs, freePort, load, median, pairedAddedRatios, peakRssMb, processTreeCpuNs, resetPeakRss, waitForUrl } from './processes.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false }, 'no-postgres': { type: 'boolean', default: false }, events: { type: 'boolean', default: false }, before: { type: 'string' } } })
const REPEATS = Number(opts.repeats)
const scale = opts.quick ? 0.2 : 1
const tmp = mkdtempSync(join(tmpdir(), 'bench-overhead-'))
const children = []

function start(name, cmd, args, env, readyText, readyUrl) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  if (readyUrl) {
    child.stdout.resume()
    child.stderr.on('data', (c) => (out += c))
    child.once('exit', (code) => code && console.error(`${name} exited (${code}): ${out.slice(-2000)}`))
    return waitForUrl(readyUrl).then(() => child)
  }
  return new Promise((resolve, reject) => {
    const onData = (c) => {
      out += c
      if (out.includes(readyText)) resolve(child)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${out.slice(-2000)}`)))
  })
}

let cluster = null
let postmasterPid = null
/** PostgreSQL server CPU per proxy-pg request, µs, by scenario. */
const pgServerUs = {}
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL')
  if (cluster) stopCluster(cluster.dir, 'immediate')
  rmSync(tmp, { recursive: true, force: true })
}
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))

// --- start everything -------------------------------------------------------------------------
const backendPort = await freePort()
const backendUrl = `http://127.0.0.1:${backendPort}`
await start('backend', process.execPath, fastBackendArgs(backendPort), {}, 'http://')

const barePort = await freePort()
const bare = await start('bare', process.execPath, [join(root, 'bench/bare-proxy.mjs')], { BACKEND_URL: backendUrl, PROXY_PORT: String(barePort) }, 'bare proxy ready')

/** Node's arguments for the proxy built in a checkout: its Node flags, then its server. */
const proxyArgs = (checkout) => [...PROXY_NODE_FLAGS, join(checkout, 'packages/proxy/dist/server.js')]
const proxyPort = await freePort()
const dbFile = join(tmp, 'metrics.db')
const proxy = await start('proxy', process.execPath, proxyArgs(root), {
  BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(proxyPort), DB_PATH: dbFile, LOG_LEVEL: 'warn',
}, null, `http://127.0.0.1:${proxyPort}/health`)

const targets = [
  { name: 'direct', url: backendUrl, pid: null },
  { name: 'bare', url: `http://127.0.0.1:${barePort}`, pid: bare.pid },
  { name: 'proxy', url: `http://127.0.0.1:${proxyPort}`, pid: proxy.pid },
]

// The same proxy writing to PostgreSQL (the server's own CPU is not counted: it is another process,
// as it would be another machine).
let proxyPg = null
if (!opts['no-postgres'] && pgBinDir()) {
  cluster = await startCluster()
  const port = await freePort()
  proxyPg = await start('proxy-pg', process.execPath, proxyArgs(root), {
    BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DATABASE_URL: cluster.url, LOG_LEVEL: 'warn',
  }, null, `http://127.0.0.1:${port}/health`)
  targets.push({ name: 'proxy-pg', url: `http://127.0.0.1:${port}`, pid: proxyPg.pid })
  postmasterPid = cluster.pid
}
// The same proxy in keys mode, one key with generous limits: what checking keys costs.
const keysPort = await freePort()
const adminPort = await freePort()
const proxyKeys = await start('proxy-keys', process.execPath, proxyArgs(root), {
  BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(keysPort), DB_PATH: join(tmp, 'keys.db'), LOG_LEVEL: 'warn',
  AUTH_MODE: 'keys', ADMIN_TOKEN: BENCH_ADMIN_TOKEN, ADMIN_PORT: String(adminPort),
}, null, `http://127.0.0.1:${keysPort}/health`)
targets.push({ name: 'proxy-keys', url: `http://127.0.0.1:${keysPort}`, pid: proxyKeys.pid, headers: [await benchKeyHeader(adminPort)] })

// The SQLite proxy again with CAPTURE=all (and REDACT=pii, the default): what capturing content costs.
const capPort = await freePort()
const capDb = join(tmp, 'capture.db')
const proxyCap = await start('proxy-cap', process.execPath, proxyArgs(root), {
  BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(capPort), DB_PATH: capDb, LOG_LEVEL: 'warn', CAPTURE: 'all',
}, null, `http://127.0.0.1:${capPort}/health`)
targets.push({ name: 'proxy-cap', url: `http://127.0.0.1:${capPort}`, pid: proxyCap.pid })

// --events: the SQLite proxy again with every event output on (EVENT_LOG to a file, a webhook and
// OTLP to receivers in this process), to compare with `proxy`.
let proxyEv = null
const evFile = join(tmp, 'events.jsonl')
const evDb = join(tmp, 'metrics-ev.db')
const received = { webhookEvents: 0, webhookPosts: 0, otlpExports: 0 }
if (opts.events) {
  const receiver = createHttpServer((req, res) => {
    const parts = []
    req.on('data', (c) => parts.push(c))
    req.on('end', () => {
      if (req.url === '/v1/metrics') received.otlpExports++
      else {
        received.webhookPosts++
        received.webhookEvents += JSON.parse(Buffer.concat(parts).toString()).length
      }
      res.writeHead(200).end()
    })
  })
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r))
  receiver.unref()
  const rurl = `http://127.0.0.1:${receiver.address().port}`
  const port = await freePort()
  proxyEv = await start('proxy-ev', process.execPath, proxyArgs(root), {
    BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DB_PATH: evDb, LOG_LEVEL: 'warn',
    EVENT_LOG: evFile, EVENT_WEBHOOK_URL: `${rurl}/hook`, OTEL_EXPORTER_OTLP_ENDPOINT: rurl, OTEL_METRIC_EXPORT_INTERVAL: '5000',
  }, null, `http://127.0.0.1:${port}/health`)
  targets.push({ name: 'proxy-ev', url: `http://127.0.0.1:${port}`, pid: proxyEv.pid })
}
// --before DIR: the same proxy built from another checkout (DIR/packages/proxy/dist/server.js), on
// SQLite, so a change's before and after are measured side by side in one run.
const beforeDb = join(tmp, 'before.db')
let proxyBefore = null
if (opts.before) {
  const port = await freePort()
  proxyBefore = await start('proxy-before', process.execPath, proxyArgs(opts.before), {
    BACKEND_URL: backendUrl, PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DB_PATH: beforeDb, LOG_LEVEL: 'warn',
  }, null, `http://127.0.0.1:${port}/health`)
  targets.push({ name: 'proxy-before', url: `http://127.0.0.1:${port}`, pid: proxyBefore.pid })
}
const isProxy = (name) => name.startsWith('proxy')
const sent = { proxy: 0, 'proxy-pg': 0, 'proxy-keys': 0, 'proxy-ev': 0, 'proxy-cap': 0, 'proxy-before': 0 }

let nginxNote = 'nginx: not installed (apt-get install nginx to include it)'
const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find(existsSync)
if (nginxBin) {
  const nginxPort = await freePort()
  writeFileSync(join(tmp, 'nginx.conf'), `
daemon off; master_process off; worker_processes 1; error_log ${tmp}/nginx-error.log warn; pid ${tmp}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}; proxy_temp_path ${tmp}; fastcgi_temp_path ${tmp}; uwsgi_temp_path ${tmp}; scgi_temp_path ${tmp};
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${nginxPort};
    client_max_body_size 50m;
    location / {
      proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off;
    }
  }
}`)
  const nginx = spawn(nginxBin, ['-c', join(tmp, 'nginx.conf'), '-p', tmp], { stdio: 'ignore' })
  children.push(nginx)
  // nginx says nothing when ready: wait until its port answers.
  await waitForUrl(`http://127.0.0.1:${nginxPort}/v1/models`)
  targets.push({ name: 'nginx', url: `http://127.0.0.1:${nginxPort}`, pid: nginx.pid })
  nginxNote = `nginx: ${execFileSync(nginxBin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || 'installed'}`.trim()
}

// --- interleaved runs -------------------------------------------------------------------------
const scenarios = [
  { name: 'non-stream c1', stream: false, concurrency: 1, requests: Math.round(3000 * scale) },
  { name: 'non-stream c32', stream: false, concurrency: 32, requests: Math.round(6000 * scale) },
  { name: 'stream c1', stream: true, concurrency: 1, requests: Math.round(600 * scale) },
  { name: 'stream c32', stream: true, concurrency: 32, requests: Math.round(3000 * scale) },
]
// Warm-up: an untimed run of each scenario through every target right before it is timed
// (WARM_REQUESTS in processes.mjs says why).
const warmRequests = Math.round(WARM_REQUESTS * scale)
const results = {}
// When the SQLite proxy ran each scenario: its rows' recorded overhead is compared with the
// overhead measured from outside (its p50 minus direct's) for the same requests.
const proxyWindows = Object.fromEntries(scenarios.map((s) => [s.name, []]))
for (const s of scenarios) {
  const warm = { ...s, requests: Math.max(s.requests, warmRequests) }
  for (const t of targets) {
    await load(t.url + '/v1/chat/completions', { ...warm, headers: t.headers })
    if (isProxy(t.name)) sent[t.name] += warm.requests
  }
  results[s.name] = Object.fromEntries(targets.map((t) => [t.name, { rps: [], p50: [], p99: [], cpuUs: [], otherUs: [], errors: 0 }]))
  // PostgreSQL's own CPU, from the first timed run to the end of the scenario: only proxy-pg writes
  // to the cluster, and its last batch lands while the targets after it run.
  const pgBefore = postmasterPid ? processTreeCpuNs(postmasterPid) : null
  for (let r = 0; r < REPEATS; r++) {
    for (const t of targets) {
      const before = t.pid ? cpuNs(t.pid) : null
      const startedAt = Date.now()
      const res = await load(t.url + '/v1/chat/completions', { ...s, headers: t.headers })
      if (t.name === 'proxy') proxyWindows[s.name].push([startedAt, Date.now()])
      const after = before ? cpuNs(t.pid) : null
      const m = results[s.name][t.name]
      m.rps.push(res.rps); m.p50.push(res.p50); m.p99.push(res.p99); m.errors += res.errors
      if (after) {
        m.cpuUs.push((after.total - before.total) / 1000 / s.requests)
        m.otherUs.push((after.other - before.other) / 1000 / s.requests)
      }
      if (isProxy(t.name)) sent[t.name] += s.requests
    }
  }
  if (pgBefore !== null) pgServerUs[s.name] = (processTreeCpuNs(postmasterPid) - pgBefore) / 1000 / (REPEATS * s.requests)
}

// --- added TTFT with a 200 ms backend TTFT ------------------------------------------------------
// 40 streams per target and repeat: with 20, one slow wake-up moved a target's p50 by ~0.5 ms,
// as much as the target allows (bare + 0.5 ms).
const ttft = {}
const ttftRequests = Math.round(40 * Math.max(scale, 0.5))
for (let r = 0; r < REPEATS; r++) {
  for (const t of targets) {
    const res = await load(t.url + '/v1/chat/completions', { requests: ttftRequests, concurrency: 1, stream: true, headers: ['x-mock-ttft-ms: 200', ...(t.headers ?? [])] })
    ;(ttft[t.name] ??= []).push(res.ttftP50)
    if (isProxy(t.name)) sent[t.name] += ttftRequests
  }
}

// --- p99 at concurrency 1, with samples large enough for it -----------------------------------
// The cells above take 3,000 non-streamed and 600 streamed requests per run: the p99 of 600 is their
// 6th slowest, which moves by a millisecond from run to run. As `bench/ab.mjs --latency` measures it.
const tail = { 'non-stream': { stream: false, requests: Math.round(5000 * scale) }, stream: { stream: true, requests: Math.round(1000 * scale) } }
const tailP99 = Object.fromEntries(Object.keys(tail).map((k) => [k, Object.fromEntries(targets.map((t) => [t.name, []]))]))
for (const [mode, ph] of Object.entries(tail)) {
  for (let r = 0; r < REPEATS; r++) {
    for (const t of targets) {
      const res = await load(t.url + '/v1/chat/completions', { ...ph, concurrency: 1, headers: t.headers })
      tailP99[mode][t.name].push(res.p99)
      if (isProxy(t.name)) sent[t.name] += ph.requests
    }
  }
}

// Peak RSS over the whole run so far, then reset (Linux: clear_refs 5) to measure the slow streams alone.
const rssPeak = Object.fromEntries(targets.filter((t) => t.pid).map((t) => [t.name, peakRssMb(t.pid)]))

// --- 1,000 concurrent slow streams through the proxy (and the bare floor, for comparison) -------
const slowRss = {}
let slow
for (const t of [targets[1], targets[2]]) {
  resetPeakRss(t.pid)
  const r = await load(`${t.url}/v1/chat/completions`, SLOW_STREAMS)
  slowRss[t.name] = peakRssMb(t.pid)
  if (t.name === 'proxy') slow = r
}
sent.proxy += SLOW_STREAMS.requests

// --- rows: stop the proxy (flushes) and count ---------------------------------------------------
const stopped = (child) => {
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  return exited
}
await stopped(proxy)
const db = new Database(dbFile, { readonly: true })
const rows = { proxy: db.prepare('SELECT count(*) AS n FROM requests').get().n }
const recordedOverhead = {}
for (const s of scenarios) {
  const values = proxyWindows[s.name].flatMap(([from, to]) =>
    db.prepare('SELECT overhead_ms AS v FROM requests WHERE ts >= ? AND ts <= ? AND overhead_ms IS NOT NULL').all(from, to).map((r) => r.v))
  recordedOverhead[s.name] = { p50: values.length ? values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] : null, n: values.length }
}
db.close()
await stopped(proxyKeys)
const kdb = new Database(join(tmp, 'keys.db'), { readonly: true })
rows['proxy-keys'] = kdb.prepare('SELECT count(*) AS n FROM requests').get().n
kdb.close()
await stopped(proxyCap)
const cdb = new Database(capDb, { readonly: true })
rows['proxy-cap'] = cdb.prepare('SELECT count(*) AS n FROM requests').get().n
const captureNote = `captures stored by proxy-cap: ${cdb.prepare('SELECT count(*) AS n FROM captures').get().n} (CAPTURE=all, REDACT=pii)`
cdb.close()
if (proxyPg) {
  await stopped(proxyPg)
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} })
  rows['proxy-pg'] = Number((await sql`SELECT count(*) AS n FROM requests`)[0].n)
  await sql.end()
}

if (proxyBefore) {
  await stopped(proxyBefore)
  const bdb = new Database(beforeDb, { readonly: true })
  rows['proxy-before'] = bdb.prepare('SELECT count(*) AS n FROM requests').get().n
  bdb.close()
}

let eventsNote = null
if (proxyEv) {
  await stopped(proxyEv)
  const evRows = new Database(evDb, { readonly: true })
  rows['proxy-ev'] = evRows.prepare('SELECT count(*) AS n FROM requests').get().n
  evRows.close()
  const lines = readFileSync(evFile, 'utf8').split('\n').filter(Boolean).length
  eventsNote = `events of proxy-ev: ${lines} EVENT_LOG lines, ${received.webhookEvents} webhook events in ${received.webhookPosts} POSTs, ${received.otlpExports} OTLP exports`
}

// --- report -----------------------------------------------------------------------------------
const f = (v, d = 1) => (v == null ? '—' : v.toFixed(d))
console.log(`\nLLM metrics proxy overhead — ${new Date().toISOString()} — ${REPEATS} interleaved repeats, medians; ${nginxNote}`)
console.log(`backend: simulated, fast mode (no delays), 64-token answers; proxy: node ${PROXY_NODE_FLAGS.join(' ')}, LOG_LEVEL=warn, SQLite${proxyPg ? '; proxy-pg: the same on PostgreSQL (local cluster)' : ''}${proxyEv ? '; proxy-ev: SQLite with EVENT_LOG, a webhook and OTLP on' : ''}\n`)
let overheadAgrees = true
for (const s of scenarios) {
  console.log(`${s.name} (${s.requests} requests per run)`)
  // The range of the repeats beside each median: on a shared 2-core machine one repeat can sit far
  // from the others, and a ratio is only worth what the ranges behind it allow.
  // Other threads: the storage writer, and V8's own helpers (collection, background compilation).
  console.log('  target    req/s    p50 ms   p99 ms   CPU µs/req (min–max)   of which other threads   errors')
  const m = results[s.name]
  for (const t of targets) {
    const x = m[t.name]
    console.log(`  ${t.name.padEnd(8)} ${f(median(x.rps), 0).padStart(6)}  ${f(median(x.p50), 2).padStart(7)}  ${f(median(x.p99), 2).padStart(7)}  ${f(median(x.cpuUs), 0).padStart(11)} ${(x.cpuUs.length ? `(${f(Math.min(...x.cpuUs), 0)}–${f(Math.max(...x.cpuUs), 0)})` : '').padEnd(11)}   ${(x.otherUs.length ? `${f(median(x.otherUs), 0)} (${x.otherUs.map((v) => f(v, 0)).join(', ')})` : '').padEnd(22)}   ${x.errors}`)
  }
  const b = m.bare, d = m.direct
  const ratio = (a, z) => (median(a) / median(z)).toFixed(2)
  const added = (x, k) => median(x[k]) - median(d[k])
  console.log(`  bare adds p50 +${added(b, 'p50').toFixed(2)} ms, p99 +${added(b, 'p99').toFixed(2)} ms over direct`)
  for (const name of targets.map((t) => t.name).filter(isProxy)) {
    const p = m[name]
    let line = `  ${name} vs bare: CPU ${ratio(p.cpuUs, b.cpuUs)}×, req/s ${ratio(p.rps, b.rps)}×, added p99 ${(added(p, 'p99') / added(b, 'p99')).toFixed(2)}× the bare's;  vs direct: p50 +${added(p, 'p50').toFixed(2)} ms, p99 +${added(p, 'p99').toFixed(2)} ms, req/s ${ratio(p.rps, d.rps)}×`
    if (m.nginx) line += `;  vs nginx: CPU ${ratio(p.cpuUs, m.nginx.cpuUs)}×`
    if (name === 'proxy-ev') line += `;  vs proxy: CPU ${ratio(p.cpuUs, m.proxy.cpuUs)}×, p99 ${ratio(p.p99, m.proxy.p99)}×`
    console.log(line)
  }
  if (pgServerUs[s.name] !== undefined) {
    const withServer = median(m['proxy-pg'].cpuUs) + pgServerUs[s.name]
    console.log(`  PostgreSQL server CPU for proxy-pg's rows: ${f(pgServerUs[s.name], 0)} µs/req (the cluster's processes over the scenario's runs); proxy-pg and its server together ${f(withServer, 0)} µs/req, ${(withServer / median(b.cpuUs)).toFixed(2)}× the bare`)
  }
  console.log(`  keys mode vs the same proxy without keys: CPU ${ratio(m['proxy-keys'].cpuUs, m.proxy.cpuUs)}×`)
  console.log(`  CAPTURE=all vs the same proxy with capture off: CPU ${ratio(m['proxy-cap'].cpuUs, m.proxy.cpuUs)}× (${f(median(m['proxy-cap'].cpuUs) - median(m.proxy.cpuUs), 0)} µs/req more)`)
  const rec = recordedOverhead[s.name]
  if (!s.stream && s.concurrency === 1) {
    // At concurrency 1 nothing queues, so what the client sees added is the proxy's own time plus one
    // loopback hop; the recorded overhead must agree with it.
    const outside = added(m.proxy, 'p50')
    const ok = rec.p50 !== null && Math.abs(rec.p50 - outside) <= 0.5
    overheadAgrees &&= ok
    console.log(`  recorded overhead_ms p50 ${f(rec.p50, 3)} ms (${rec.n} rows) vs measured from outside (proxy p50 − direct p50) ${outside.toFixed(3)} ms: ${ok ? 'agree within 0.5 ms' : 'DISAGREE by more than 0.5 ms'}`)
  } else {
    console.log(`  recorded overhead_ms p50 ${f(rec.p50, 3)} ms (${rec.n} rows)`)
  }
  console.log('')
}
console.log('TTFT with a 200 ms backend TTFT (stream, c1, p50 of each run, median of runs)')
for (const t of targets) console.log(`  ${t.name.padEnd(8)} ${f(median(ttft[t.name]), 2)} ms   (+${f(median(ttft[t.name]) - median(ttft.direct), 2)} ms over direct)`)
console.log(`\np99 at c1 (${tail['non-stream'].requests} non-streamed / ${tail.stream.requests} streamed requests per run, median of runs), added over direct and against the bare's added p99; paired: each run's ratio to the bare's run beside it, their median`)
for (const [mode, by] of Object.entries(tailP99)) {
  const bareAdded = median(by.bare) - median(by.direct)
  console.log(`  ${mode.padEnd(10)} direct ${f(median(by.direct), 2)} ms  |  bare +${f(bareAdded, 2)}  |  ` + targets.map((t) => t.name).filter(isProxy).map((name) => {
    const own = median(by[name]) - median(by.direct)
    const paired = median(pairedAddedRatios(by, name))
    return `${name} +${f(own, 2)} (${(own / bareAdded).toFixed(2)}× the bare's, paired ${paired.toFixed(2)}×)`
  }).join('  |  '))
}
console.log(`\n1,000 concurrent slow streams (20 ms between tokens) through the proxy: ${slow.errors} errors, p50 ${f(slow.p50, 0)} ms`)
console.log(`peak RSS during the slow streams (MB): proxy ${slowRss.proxy.toFixed(0)}, bare ${slowRss.bare.toFixed(0)}`)
console.log(`peak RSS over the whole run (MB): ${Object.entries(rssPeak).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`)
if (eventsNote) console.log(eventsNote)
console.log(captureNote)
let allRows = true
for (const name of Object.keys(rows)) {
  const ok = rows[name] === sent[name]
  allRows &&= ok
  console.log(`rows recorded by ${name}: ${rows[name]} of ${sent[name]} requests sent${ok ? ' (none lost)' : ' — MISMATCH'}`)
}
process.exit(allRows && overheadAgrees ? 0 : 1)
