import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parse, stringify } from 'yaml'
import { freePort, root, startProcess, waitForOk } from './helpers.js'

// The Grafana dashboard against a real Prometheus: the proxy in front of the simulated backend, real
// traffic of every outcome through it, the metrics API (with a bearer token) scraped by Prometheus
// as deploy/prometheus/prometheus-token.yml says, with the alerting rules loaded. Then every
// panel's PromQL, Grafana's variables filled in, goes through Prometheus' HTTP API.

interface Target { refId: string; expr: string; instant?: boolean }
interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { type: string; uid: string }; targets?: Target[]; panels?: Panel[] }
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/dashboards/llm-proxy.json'), 'utf8'))
const panels: Panel[] = dashboard.panels.flatMap((p: Panel) => [p, ...(p.panels ?? [])])
// What the metrics API exports (docs/technical/api-spec.md), waited for before any panel is run.
const families = ['llm_proxy_requests_total', 'llm_proxy_tokens_total', ...['gen_ai_client_operation_duration_seconds', 'gen_ai_server_time_to_first_token_seconds', 'gen_ai_server_time_per_output_token_seconds'].map((h) => `${h}_bucket`)]
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })))
const variables: { name: string; type: string; query?: { query: string } | string; allValue?: string }[] = dashboard.templating.list

// Grafana's variables filled in as Grafana would: "All" of a multi-value variable is its allValue;
// $__rate_interval is at least 4 scrape intervals (10 here, so that a window under a loaded CPU
// still holds several scrapes); $__range is the dashboard's time range.
const SCRAPE_S = 1
const builtins: Record<string, string> = { __rate_interval: `${10 * SCRAPE_S}s`, __interval: `${SCRAPE_S}s`, __range: '5m' }
const fill = (expr: string) =>
  expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
    if (name in builtins) return builtins[name]
    const v = variables.find((x) => x.name === name)
    if (!v?.allValue) throw new Error(`${m} in ${expr} is not a variable of the dashboard`)
    return v.allValue
  })

describe('the dashboard JSON', () => {
  test('panels have unique ids, the datasource variable and PromQL in every target', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
    for (const p of panels.filter((p) => p.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(p.targets?.length, p.title).toBeGreaterThan(0)
      for (const t of p.targets!) expect(t.expr, p.title).toMatch(/\w+\{/)
    }
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
  })

  test('panels fit the 24-column grid without overlapping', () => {
    const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos }))
    for (const b of boxes) {
      expect(b.w, b.title).toBeGreaterThan(0)
      expect(b.h, b.title).toBeGreaterThan(0)
      expect(b.x + b.w, b.title).toBeLessThanOrEqual(24)
    }
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
        expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false)
      }
    }
  })

  test('it has what the issue asks for: outcomes, error rate, latency and TTFT percentiles, tokens/s, tokens by type, per model, per key', () => {
    const all = queries.map((q) => q.expr).join('\n')
    expect(all).toContain('sum by (outcome) (rate(llm_proxy_requests_total')
    expect(all).toMatch(/outcome=~"client_error\|backend_error\|network_error"/)
    for (const h of ['gen_ai_client_operation_duration_seconds', 'gen_ai_server_time_to_first_token_seconds']) {
      for (const p of ['0.5', '0.95', '0.99']) expect(all).toContain(`histogram_quantile(${p}, sum by (le) (rate(${h}_bucket`)
    }
    expect(all).toContain('sum by (type) (rate(llm_proxy_tokens_total')
    expect(all).toMatch(/sum by \(model\) \(rate\(llm_proxy_tokens_total\{[^}]*type="completion"/)
    expect(all).toContain('sum by (key) (rate(llm_proxy_requests_total')
  })
})

describe('every panel query against a real Prometheus scraping real traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grafana-panels-'))
  const token = randomBytes(24).toString('base64url')
  const procs: { stop(): Promise<unknown>; output(): string }[] = []
  let prom: string
  let metrics: string
  let stopTraffic = false
  let stopBackend: () => Promise<unknown>
  const traffic: Promise<void>[] = []

  const api = async (path: string, params: Record<string, string> = {}) => {
    const res = await fetch(`${prom}${path}?${new URLSearchParams(params)}`)
    const body = await res.json()
    return { status: res.status, body }
  }
  const query = async (q: string) => {
    const { status, body } = await api('/api/v1/query', { query: q })
    if (status !== 200 || body.status !== 'success') throw new Error(`${q}: ${status} ${JSON.stringify(body)}`)
    return body.data.result as { metric: Record<string, string>; value: [number, string] }[]
  }
  /** Polls Prometheus until `check` holds (its data arrives a scrape at a time; there is nothing to await). */
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const end = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => p.output()).join('\n').slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  beforeAll(async () => {
    const promBin = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim()
    if (!promBin) throw new Error('prometheus is missing: apt-get install prometheus (.ci/run does)')
    const [mockPort, proxyPort, metricsPort, promPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
    const dbFile = join(dir, 'metrics.db')
    const mock = startProcess(['packages/mock-backend/dist/cli.js'], { MOCK_PORT: String(mockPort), MOCK_TTFT_MS: '15', MOCK_TPS: '600', MOCK_ANSWER_TOKENS: '12' })
    const proxy = startProcess(['packages/proxy/dist/server.js'], {
      PROXY_HOST: '127.0.0.1', PROXY_PORT: String(proxyPort), BACKEND_URL: `http://127.0.0.1:${mockPort}`, DB_PATH: dbFile, LOG_LEVEL: 'warn',
    })
    const api = startProcess(['packages/metrics-api/dist/server.js'], {
      METRICS_HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), DB_PATH: dbFile, METRICS_API_TOKEN: token, LOG_LEVEL: 'warn',
    })
    procs.push(mock, proxy, api)
    stopBackend = () => mock.stop()
    metrics = `http://127.0.0.1:${metricsPort}`
    await Promise.all([
      waitForOk(`http://127.0.0.1:${mockPort}/v1/models`, mock.child),
      waitForOk(`http://127.0.0.1:${proxyPort}/health`, proxy.child),
      waitForOk(`${metrics}/health`, api.child),
    ])

    // Traffic of every outcome but `cancelled`, on two models, streamed and not, until the end.
    const proxyUrl = `http://127.0.0.1:${proxyPort}/v1/chat/completions`
    const kinds = [
      { name: 'stream', model: 'mock-llama-3.2-1b', stream: true, headers: { 'x-mock-cached-tokens': '3' } },
      { name: 'reasoning', model: 'mock-llama-3.2-1b', stream: true, headers: { 'x-mock-scenario': 'reasoning' } },
      { name: 'plain', model: 'mock-qwen2.5-7b', stream: false, headers: {} },
      { name: 'backend_error', model: 'mock-llama-3.2-1b', stream: false, headers: { 'x-mock-scenario': 'error-500' } },
      { name: 'client_error', model: 'mock-qwen2.5-7b', stream: false, headers: { 'x-mock-scenario': 'error-429' } },
      { name: 'network_error', model: 'mock-llama-3.2-1b', stream: true, headers: { 'x-mock-scenario': 'stream-reset' } },
    ]
    const worker = async (offset: number) => {
      for (let i = offset; !stopTraffic; i++) {
        const k = kinds[i % kinds.length]
        // At most one request per 10 ms per worker: with the backend down the proxy answers 502 at
        // once, and an unpaced loop would only burn the CPU the other processes need.
        const pace = new Promise((r) => setTimeout(r, 10))
        try {
          const res = await fetch(proxyUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...k.headers },
            body: JSON.stringify({ model: k.model, stream: k.stream, messages: [{ role: 'user', content: `hello ${i}` }] }),
          })
          await res.text()
        } catch {
          // stream-reset: the client sees the broken stream, as it should.
        }
        await pace
      }
    }
    traffic.push(worker(0), worker(3))

    // Prometheus as the shipped token variant says, pointed at this metrics API, scraping every second.
    const config = parse(readFileSync(join(root, 'deploy/prometheus/prometheus-token.yml'), 'utf8'))
    config.global = { scrape_interval: `${SCRAPE_S}s`, evaluation_interval: `${SCRAPE_S}s` }
    config.rule_files = config.rule_files.map((f: string) => join(root, 'deploy/prometheus', f))
    delete config.alerting
    const job = config.scrape_configs[0]
    job.static_configs = [{ targets: [`127.0.0.1:${metricsPort}`] }]
    job.authorization.credentials_file = join(dir, 'metrics-api-token')
    writeFileSync(join(dir, 'metrics-api-token'), token)
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config))
    const child = spawn(promBin, [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    procs.push({
      output: () => out,
      async stop() {
        if (child.exitCode !== null) return
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      },
    })
    prom = `http://127.0.0.1:${promPort}`
    await waitForOk(`${prom}/-/ready`, child)

    // Samples: every outcome seen, and every series (histograms too) scraped a few times.
    await until('the metrics API to be scraped', async () => (await query('up{job="llm-proxy"} == 1')).length === 1)
    await until('every outcome and every series with 3 samples', async () => {
      const outcomes = await query('count(count by (outcome) (llm_proxy_requests_total))')
      if (Number(outcomes[0]?.value[1]) !== 4) return false
      for (const name of families) if (!(Number((await query(`min(count_over_time(${name}[1m]))`))[0]?.value[1]) >= 3)) return false
      return true
    })
  }, 60_000)

  afterAll(async () => {
    stopTraffic = true
    await Promise.all(traffic)
    for (const p of procs.reverse()) await p.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('the scrape needed the bearer token: the metrics API refuses without it', async () => {
    expect((await fetch(`${metrics}/metrics/prometheus`)).status).toBe(401)
    const [up] = await query('up{job="llm-proxy"}')
    expect(up.value[1]).toBe('1')
  })

  test('the model and key variables list what the API exports', async () => {
    for (const v of variables.filter((v) => v.type === 'query')) {
      const m = /^label_values\((\w+), (\w+)\)$/.exec(typeof v.query === 'string' ? v.query : v.query!.query)
      expect(m, v.name).not.toBeNull()
      const { body } = await api(`/api/v1/label/${m![2]}/values`, { 'match[]': m![1] })
      expect(body.status).toBe('success')
      // No access keys yet: no key label. Models: the two the traffic used.
      expect(body.data).toEqual(v.name === 'model' ? ['mock-llama-3.2-1b', 'mock-qwen2.5-7b'] : [])
    }
  })

  test.each(queries.map((q) => [`${q.panel} (${q.refId})`, q] as const))('%s returns data', async (_, q) => {
    const expr = fill(q.expr)
    const result = await query(expr)
    expect(result.length, expr).toBeGreaterThan(0)
    // Real numbers, not only NaN from an empty window.
    expect(result.some((r) => Number.isFinite(Number(r.value[1]))), `${expr}: ${JSON.stringify(result)}`).toBe(true)
    if (!q.instant) {
      const now = Date.now() / 1000
      const { status, body } = await api('/api/v1/query_range', { query: expr, start: String(now - 30), end: String(now), step: '1' })
      expect(status, JSON.stringify(body)).toBe(200)
      expect(body.data.result.length, expr).toBeGreaterThan(0)
    }
  })

  test('the alerting rules load and evaluate without error on real data', async () => {
    let groups: { rules: { name: string; health: string; lastError?: string }[] }[] = []
    await until('every rule evaluated once', async () => {
      groups = (await api('/api/v1/rules')).body.data.groups
      return groups.flatMap((g) => g.rules).every((r) => r.health !== 'unknown')
    })
    const loaded = groups.flatMap((g) => g.rules)
    expect(loaded.map((r) => r.name).sort()).toEqual(
      parse(readFileSync(join(root, 'deploy/prometheus/rules/llm-proxy.rules.yml'), 'utf8')).groups[0].rules.map((r: { alert: string }) => r.alert).sort(),
    )
    for (const r of loaded) expect({ name: r.name, health: r.health, error: r.lastError ?? '' }).toEqual({ name: r.name, health: 'ok', error: '' })
  })

  // The alerts on the data the exporter really produces (the unit tests use series written by hand).
  // Each rule's `for:` is minutes, so its expression being true shows as a pending alert at once.
  type Alert = { labels: Record<string, string>; annotations: Record<string, string>; state: string }
  const active = async () => ((await api('/api/v1/alerts')).body.data.alerts as Alert[]).map((a) => ({ ...a, id: `${a.labels.alertname} ${a.labels.model}` }))

  test('the traffic mix raises exactly the error-rate alert, for the model with 5xx and network errors', async () => {
    // Per round of six: mock-llama-3.2-1b has 2 successes, a 500 and a reset (2 of 4 failed);
    // mock-qwen2.5-7b a success and a 429 (client errors are left out of the error rate).
    let alerts: (Alert & { id: string })[] = []
    await until('the error-rate alert', async () => (alerts = await active()).some((a) => a.labels.alertname === 'LLMProxyHighErrorRate'))
    expect(alerts.map((a) => a.id)).toEqual(['LLMProxyHighErrorRate mock-llama-3.2-1b'])
    expect(alerts[0].labels.severity).toBe('warning')
    expect(alerts[0].annotations.summary).toMatch(/^mock-llama-3\.2-1b: \d+(\.\d+)?% of requests failed \(threshold 5%\)$/)
  })

  test('with the backend stopped, every model raises the backend-unreachable alert', async () => {
    await stopBackend()
    let alerts: (Alert & { id: string })[] = []
    const wanted = ['LLMProxyBackendUnreachable mock-llama-3.2-1b', 'LLMProxyBackendUnreachable mock-qwen2.5-7b']
    await until('the backend-unreachable alerts', async () => {
      alerts = await active()
      return wanted.every((id) => alerts.some((a) => a.id === id))
    })
    for (const a of alerts.filter((a) => a.labels.alertname === 'LLMProxyBackendUnreachable')) {
      expect(a.labels.severity).toBe('critical')
      expect(a.annotations.summary).toMatch(new RegExp(`^${a.labels.model.replace(/\./g, '\\.')}: backend unreachable, \\d+ network errors in 5 minutes$`))
    }
  })
})
