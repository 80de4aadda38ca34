import { MetricsHealth, ModelsList, Summary, Timeseries } from '@llm-proxy/core/contracts'
import type { RequestRow } from '@llm-proxy/core'
import { afterEach, describe, expect, test } from 'vitest'
import { bruteSummary } from './brute-force.js'
import { row, setup } from './helpers.js'

type Setup = ReturnType<typeof setup>
let s: Setup | null = null
afterEach(async () => {
  await s?.close()
  s = null
})

const T = Date.UTC(2026, 0, 10, 12) // a day in the data
const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** Within 1% relative error (or both null). */
const near = (got: number | null, want: number | null) => {
  if (want === null || got === null) return expect(got).toBe(want)
  expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.abs(want) * 0.01 + 1e-3)
}

describe('before the proxy has created the database', () => {
  test('every endpoint answers, empty; then real data once the file appears', async () => {
    s = setup()
    const health = await s.get('/health')
    expect(MetricsHealth.parse(health.body)).toMatchObject({ status: 'ok', database: { readable: false, schema_version: null } })
    const summary = Summary.parse((await s.get('/metrics')).body)
    expect(summary.requests.total).toBe(0)
    expect(summary.window.start).toBeNull()
    expect(summary.latency_ms).toEqual({ avg: null, p50: null, p90: null, p95: null, p99: null, max: null })
    expect(Timeseries.parse((await s.get('/metrics/timeseries')).body).points).toEqual([])
    expect((await s.get('/metrics/requests')).body).toEqual({ data: [], next_cursor: null })
    expect(ModelsList.parse((await s.get('/metrics/models')).body).models).toEqual([])
    expect((await s.get('/metrics/prometheus')).status).toBe(200)
    expect((await s.get('/metrics/requests.csv')).body).toMatch(/^id,ts,endpoint/)

    await s.insert([row({ ts: T })])
    expect((await s.get('/health')).body.database.readable).toBe(true)
    expect((await s.get('/metrics')).body.requests.total).toBe(1)
  })
})

describe('GET /metrics on known rows', () => {
  const known = (): RequestRow[] => [
    row({ ts: T + 1 * MIN, stream: true, total_ms: 100, ttft_ms: 20, ttlt_ms: 80, tpot_ms: 5, output_tps: 200, prompt_tokens: 10, completion_tokens: 13, total_tokens: 23, user: 'alice', cached_tokens: 4 }),
    row({ ts: T + 2 * MIN, total_ms: 300, output_tps: 10, prompt_tokens: 20, completion_tokens: 3, total_tokens: 23, user: 'bob', reasoning_tokens: 2 }),
    row({ ts: T + 3 * MIN, model: null, model_requested: 'm2', status_code: 429, outcome: 'client_error', error_type: 'rate_limit_exceeded', error_message: 'slow down', total_ms: 10, prompt_tokens: null, completion_tokens: null, total_tokens: null, user: 'alice' }),
    row({ ts: T + 4 * MIN, stream: true, outcome: 'cancelled', total_ms: 50, ttft_ms: 5, completion_tokens: 2, tokens_estimated: true, prompt_tokens: null, total_tokens: null }),
    row({ ts: T + 5 * MIN, model: 'm2', status_code: 500, outcome: 'backend_error', error_type: 'server_error', error_message: 'boom', total_ms: 40, prompt_tokens: null, completion_tokens: null, total_tokens: null }),
  ]

  test('numbers match hand-computed expectations', async () => {
    s = setup()
    await s.insert(known())
    const body = Summary.parse((await s.get(`/metrics?start=${T}&end=${T + HOUR}`)).body)
    expect(body.window).toEqual({ start: new Date(T).toISOString(), end: new Date(T + HOUR).toISOString() })
    expect(body.requests).toEqual({ total: 5, success: 2, failed: 2, cancelled: 1, success_rate: 0.5, streaming: 2 })
    // Latency over finished, non-cancelled requests: 10, 40, 100, 300.
    expect(body.latency_ms.avg).toBe(112.5)
    near(body.latency_ms.p50, 40)
    near(body.latency_ms.p95, 300)
    expect(body.latency_ms.max).toBe(300)
    near(body.ttft_ms.p50, 20) // the cancelled request's TTFT does not count
    expect(body.ttft_ms.max).toBe(20)
    expect(body.output_tps.avg).toBe(105)
    // Totals add up: prompt + completion, the cancelled stream's estimated 2 completion tokens included.
    expect(body.tokens).toEqual({ prompt: 30, completion: 18, total: 48, cached: 4, reasoning: 2, requests_with_usage: 2, estimated: 1 })
    expect(body.by_model.map((m) => [m.model, m.requests, m.success_rate])).toEqual([['m1', 3, 1], ['m2', 2, 0]])
    expect(body.errors).toEqual([
      { error_type: 'server_error', status_code: 500, count: 1, last_seen: new Date(T + 5 * MIN).toISOString(), last_message: 'boom' },
      { error_type: 'rate_limit_exceeded', status_code: 429, count: 1, last_seen: new Date(T + 3 * MIN).toISOString(), last_message: 'slow down' },
    ])
    expect(body.top_users).toEqual([{ user: 'alice', requests: 2 }, { user: 'bob', requests: 1 }])
  })

  test.each([
    ['model=m2', { total: 2, failed: 2 }],
    ['stream=true', { total: 2, streaming: 2 }],
    ['stream=false', { total: 3, streaming: 0 }],
    ['outcome=client_error', { total: 1, failed: 1 }],
    ['user=alice', { total: 2, success: 1 }],
  ])('filter %s', async (query, expected) => {
    s = setup()
    await s.insert(known())
    const body = Summary.parse((await s.get(`/metrics?start=${T}&end=${T + HOUR}&${query}`)).body)
    expect(body.requests).toMatchObject(expected)
  })

  test('ISO times with offsets are accepted', async () => {
    s = setup()
    await s.insert(known())
    const body = (await s.get(`/metrics?start=${encodeURIComponent('2026-01-10T13:00:00+01:00')}&end=2026-01-10T12:03:00Z`)).body
    expect(body.requests.total).toBe(2) // 12:00 ≤ ts < 12:03 UTC
  })
})

describe('bad parameters name the parameter', () => {
  test.each([
    ['start=yesterday', 'start'],
    ['end=2026-13-45', 'end'],
    ['stream=yes', 'stream'],
    ['outcome=great', 'outcome'],
    ['limit=0', 'limit', '/metrics/requests'],
    ['limit=501', 'limit', '/metrics/requests'],
    ['cursor=nonsense', 'cursor', '/metrics/requests'],
    ['bucket=7m', 'bucket', '/metrics/timeseries'],
    ['colour=blue', 'colour'],
    [`start=${T}&end=${T - 1}`, 'end'],
    // Past the range of JavaScript dates (was a 500 RangeError).
    ['start=9999999999999999', 'start'],
    ['end=9999999999999999', 'end'],
    ['start=2026-02-30', 'start'],
    ['end=2026-02-29T00:00:00Z', 'end'],
    ['start=2026-01-01T24:00:00Z', 'start'],
    ['limit=0x10', 'limit', '/metrics/requests'],
    ['limit=1e2', 'limit', '/metrics/requests'],
    ['start=9999999999999999', 'start', '/metrics/requests'],
    ['end=9999999999999999', 'end', '/metrics/timeseries'],
  ])('%s', async (query, param, path = '/metrics') => {
    s = setup()
    const res = await s.get(`${path}?${query}`)
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param })
    expect(res.body.error.message).toContain(`'${param}'`)
  })

  test('a 1-minute series over a year is refused with advice', async () => {
    s = setup()
    const res = await s.get(`/metrics/timeseries?bucket=1m&start=${T - 365 * DAY}&end=${T}`)
    expect(res.status).toBe(400)
    expect(res.body.error.message).toMatch(/larger bucket/)
  })
})

describe('rollups agree with the rows', () => {
  /** Random rows over three days: outcomes, models, users, timings spanning orders of magnitude. */
  function randomRows(count: number, seed = 7): RequestRow[] {
    let x = seed
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const outcomes = ['success', 'success', 'success', 'cancelled', 'client_error', 'backend_error', 'network_error'] as const
    return Array.from({ length: count }, () => {
      const stream = rand() < 0.6
      const ttft = stream ? 5 + rand() * 2000 : null
      return row({
        ts: T - DAY + Math.floor(rand() * 3 * DAY),
        model: ['m1', 'm2', 'm3'][Math.floor(rand() * 3)],
        stream,
        outcome: outcomes[Math.floor(rand() * outcomes.length)],
        total_ms: 1 + rand() ** 3 * 60_000,
        ttft_ms: ttft,
        overhead_ms: rand() < 0.9 ? rand() * 3 : null,
        tpot_ms: stream ? 1 + rand() * 100 : null,
        output_tps: 1 + rand() * 300,
        prompt_tokens: Math.floor(rand() * 1000),
        completion_tokens: Math.floor(rand() * 500),
        user: rand() < 0.5 ? ['u1', 'u2', 'u3', 'u4'][Math.floor(rand() * 4)] : null,
        cost_usd: rand() < 0.3 ? null : Math.round(rand() * 1e6) / 1e8,
        endpoint: ['/v1/chat/completions', '/v1/responses', '/v1/messages'][Math.floor(rand() * 3)],
      })
    })
  }

  test('summary over ragged windows equals brute force (counts exact, percentiles within 1%)', async () => {
    s = setup()
    const rows = randomRows(3000)
    for (let i = 0; i < rows.length; i += 250) await s.insert(rows.slice(i, i + 250))
    const windows = [
      [T - DAY - 1, T + 2 * DAY + 1],
      [T - 7 * HOUR + 13 * MIN + 7_000, T + 29 * HOUR + 2 * MIN + 1_234],
      [T + 17 * MIN + 5, T + 18 * MIN + 30_000],
      [T, T + DAY],
    ]
    const filters: Record<string, string | boolean>[] = [{}, { model: 'm2' }, { stream: true }, { model: 'm1', stream: false }, { outcome: 'cancelled' }, { user: 'u3' }, { endpoint: '/v1/messages' }, { endpoint: '/v1/responses', outcome: 'success' }]
    for (const [start, end] of windows) {
      for (const f of filters) {
        const qs = new URLSearchParams({ start: String(start), end: String(end), ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, String(v)])) })
        const got = Summary.parse((await s.get(`/metrics?${qs}`)).body)
        const want = bruteSummary(rows, start, end, f as any)
        expect(got.requests).toEqual({ total: want.total, success: want.success, failed: want.failed, cancelled: want.cancelled, success_rate: want.success_rate === null ? null : Math.round(want.success_rate * 1000) / 1000, streaming: want.streaming })
        expect(got.tokens.prompt).toBe(want.prompt)
        const users = new Map<string, number>()
        for (const r of want.rows) if (r.user) users.set(r.user, (users.get(r.user) ?? 0) + 1)
        expect(got.top_users).toEqual([...users].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([user, requests]) => ({ user, requests })))
        expect(got.tokens.completion).toBe(want.completion)
        expect(got.cost_usd).toBeCloseTo(want.cost, 8)
        for (const m of got.by_model) expect(m.cost_usd).toBeCloseTo(bruteSummary(want.rows, start, end, { model: m.model }).cost, 8)
        for (const [k, w] of [['latency_ms', want.latency], ['ttft_ms', want.ttft], ['tpot_ms', want.tpot], ['output_tps', want.tps], ['overhead_ms', want.overhead]] as const) {
          for (const p of ['p50', 'p90', 'p95', 'p99'] as const) near(got[k][p], w[p])
          near(got[k].avg, w.avg)
          near(got[k].max, w.max)
        }
      }
    }
  })

  test('time series buckets add up to the summary, aligned, empty buckets present', async () => {
    s = setup()
    const rows = randomRows(1500, 3)
    await s.insert(rows)
    for (const [bucket, ms] of [['1h', HOUR], ['15m', 15 * MIN], ['1d', DAY]] as const) {
      const start = T - 5 * HOUR - 7 * MIN
      const end = T + 11 * HOUR
      const ts = Timeseries.parse((await s.get(`/metrics/timeseries?bucket=${bucket}&start=${start}&end=${end}`)).body)
      expect(ts.bucket_ms).toBe(ms)
      expect(Date.parse(ts.points[0].start) % ms).toBe(0)
      for (let i = 1; i < ts.points.length; i++) expect(Date.parse(ts.points[i].start) - Date.parse(ts.points[i - 1].start)).toBe(ms)
      const total = ts.points.reduce((n, p) => n + p.requests.total, 0)
      expect(total).toBe(bruteSummary(rows, start, end).total)
      // Each bucket against brute force over its own span (clipped to the window).
      for (const p of ts.points) {
        const b0 = Math.max(start, Date.parse(p.start))
        const want = bruteSummary(rows, b0, Math.min(end, Date.parse(p.start) + ms))
        expect(p.requests.total).toBe(want.total)
        expect(p.requests.success).toBe(want.success)
        expect(p.cost_usd).toBeCloseTo(want.cost, 8)
        near(p.latency_p95_ms, want.latency.p95)
        near(p.ttft_p50_ms, want.ttft.p50)
        if (want.total === 0) expect(p.latency_p50_ms).toBeNull()
      }
    }
  })

  test('auto picks 60 to 120 buckets for common windows', async () => {
    s = setup()
    await s.insert([row({ ts: T })])
    for (const span of [15 * MIN, HOUR, 6 * HOUR, DAY, 7 * DAY, 30 * DAY]) {
      const ts = Timeseries.parse((await s.get(`/metrics/timeseries?start=${T - span}&end=${T}`)).body)
      expect(ts.points.length).toBeGreaterThanOrEqual(span === 15 * MIN ? 15 : 60)
      expect(ts.points.length).toBeLessThanOrEqual(121)
    }
  })
})

test('GET /metrics/models', async () => {
  s = setup()
  await s.insert([row({ ts: T, model: 'a' }), row({ ts: T + 5, model: 'b' }), row({ ts: T + 9, model: 'b' })])
  const body = ModelsList.parse((await s.get('/metrics/models')).body)
  expect(body.models).toEqual([
    { model: 'b', requests: 2, last_seen: new Date(T + 9).toISOString() },
    { model: 'a', requests: 1, last_seen: new Date(T).toISOString() },
  ])
})

describe('access', () => {
  test('a bearer token guards everything but /health', async () => {
    s = setup({ apiToken: 'token-0123456789abcdef' })
    expect((await s.get('/health')).status).toBe(200)
    expect((await s.get('/metrics')).status).toBe(401)
    expect((await s.get('/metrics', { authorization: 'Bearer wrong' })).status).toBe(401)
    expect((await s.get('/metrics', { authorization: 'Bearer token-0123456789abcdef' })).status).toBe(200)
  })

  test('CORS only for configured origins', async () => {
    s = setup()
    const ok = await s.get('/metrics', { origin: 'http://localhost:3000' })
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000')
    const other = await s.get('/metrics', { origin: 'http://evil.example' })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
  })

  test('unknown URLs are 404 in OpenAI shape', async () => {
    s = setup()
    const res = await s.get('/admin')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('unknown_url')
  })
})

test('cost: unknown (null) where no request had a price, 0 where a price of 0 applied, the sum otherwise', async () => {
  s = setup()
  await s.insert([
    row({ ts: T, model: 'unpriced', cost_usd: null }),
    row({ ts: T + 1, model: 'free', cost_usd: 0 }),
    row({ ts: T + 2, model: 'paid', cost_usd: 0.25 }),
    row({ ts: T + 3, model: 'paid', cost_usd: 0.5 }),
  ])
  for (const range of [`start=${T}&end=${T + HOUR}`, `start=${T - 2 * DAY}`]) {
    const body = Summary.parse((await s.get(`/metrics?${range}`)).body)
    expect(body.cost_usd).toBe(0.75)
    expect(Object.fromEntries(body.by_model.map((m) => [m.model, m.cost_usd]))).toEqual({ unpriced: null, free: 0, paid: 0.75 })
    const only = Summary.parse((await s.get(`/metrics?${range}&model=unpriced`)).body)
    expect(only.cost_usd).toBeNull()
  }
  const series = Timeseries.parse((await s.get(`/metrics/timeseries?bucket=1h&start=${T - HOUR}&end=${T + HOUR}`)).body)
  expect(series.points.map((p) => p.cost_usd)).toEqual([null, 0.75])
  // Once retention removed the raw rows, the rollups say the same.
  expect(await s.deleteBefore(T + DAY)).toBe(4)
  const rolled = Summary.parse((await s.get(`/metrics?start=${T - 2 * DAY}&end=${T + 2 * DAY}`)).body)
  expect(rolled.requests.total).toBe(4)
  expect(rolled.cost_usd).toBe(0.75)
  expect(Object.fromEntries(rolled.by_model.map((m) => [m.model, m.cost_usd]))).toEqual({ unpriced: null, free: 0, paid: 0.75 })
})

describe('history read once and reused', () => {
  test('a row that lands late in an old bucket is in the next answer of every endpoint', async () => {
    s = setup()
    // Enough requests that the answers come from the rollups (past EXACT_LIMIT, no exact re-read).
    const many = Array.from({ length: 5_200 }, (_, i) => row({ ts: T - 5 * DAY + (i % 600) * MIN, total_ms: 100 + (i % 50), inflight: 1 + (i % 3) }))
    await s.insert(many)
    const window = `start=${new Date(T - 9 * DAY).toISOString()}&end=${new Date(T + DAY).toISOString()}`
    const ask = async () => ({
      summary: Summary.parse((await s!.get(`/metrics?${window}`)).body),
      series: Timeseries.parse((await s!.get(`/metrics/timeseries?${window}&bucket=1d`)).body),
      saturation: (await s!.get(`/metrics/saturation?${window}`)).body as { models: { model: string; requests: number }[] },
      prometheus: (await s!.get('/metrics/prometheus')).body as string,
    })
    const before = await ask()
    expect(before.summary.requests.total).toBe(5_200)
    expect(await ask()).toEqual(before)

    // Late rows in the same old buckets: one more of a known key, one of a new model.
    await s.insert([row({ ts: T - 5 * DAY + 30 * MIN, total_ms: 9_000, inflight: 2 }), row({ ts: T - 5 * DAY + 31 * MIN, model: 'late-model', model_requested: 'late-model', inflight: 1 })])
    const after = await ask()
    expect(after.summary.requests.total).toBe(5_202)
    expect(after.summary.latency_ms.max).toBe(9_000)
    expect(after.summary.by_model.map((m) => m.model)).toContain('late-model')
    expect(after.series.points.reduce((n, p) => n + p.requests.total, 0)).toBe(5_202)
    expect(after.saturation.models.reduce((n, m) => n + m.requests, 0)).toBe(5_202)
    expect(after.prometheus).toContain('late-model')
  })
})
