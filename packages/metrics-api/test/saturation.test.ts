import { nearestRank, round, type RequestRow } from '@llm-proxy/core'
import { Saturation, saturationLevelGroup } from '@llm-proxy/core/contracts'
import { afterEach, describe, expect, test } from 'vitest'
import { openMetricsReader } from '@llm-proxy/storage'
import { getSaturation } from '../src/queries/get-saturation.js'
import { row, setup } from './helpers.js'

type Setup = ReturnType<typeof setup>
let s: Setup | null = null
afterEach(async () => {
  await s?.close()
  s = null
})

const T = Date.UTC(2026, 0, 10, 12)
const HOUR = 3_600_000
const MIN_SAMPLES = 10

type F = { model?: string; stream?: boolean; outcome?: string; endpoint?: string; key?: string; user?: string }

/** The saturation answer computed the slow, obvious way: filter, group, sort, pick. */
function bruteSaturation(rows: RequestRow[], start: number, end: number, f: F) {
  const matching = rows.filter(
    (r) =>
      r.ts >= start && r.ts < end && r.outcome === 'success' && r.inflight !== null && r.inflight >= 1 &&
      (f.model === undefined || (r.model ?? r.model_requested ?? '') === f.model) &&
      (f.stream === undefined || r.stream === f.stream) &&
      (f.outcome === undefined || r.outcome === f.outcome) &&
      (f.endpoint === undefined || r.endpoint === f.endpoint) &&
      (f.key === undefined || r.key_id === f.key) &&
      (f.user === undefined || r.user === f.user),
  )
  const kept = matching
  const byModel = new Map<string, RequestRow[]>()
  for (const r of kept) {
    const m = r.model ?? r.model_requested ?? ''
    byModel.set(m, [...(byModel.get(m) ?? []), r])
  }
  const pct = (rs: RequestRow[], pick: (r: RequestRow) => number | null, p: number) =>
    round(nearestRank(rs.map(pick).filter((v): v is number => v !== null).sort((a, b) => a - b), p))
  const knee = (levels: any[], value: (l: any) => any, n: (l: any) => number, crossed: (v: number, base: number) => boolean) => {
    const ok = levels.filter((l) => n(l) >= MIN_SAMPLES && value(l) !== null)
    if (ok.length < 2 || !(value(ok[0]) > 0)) return null
    const hit = ok.slice(1).find((l) => crossed(value(l), value(ok[0])))
    return hit ? { level: hit.level, level_max: hit.level_max, value: value(hit), baseline_level: ok[0].level, baseline: value(ok[0]) } : null
  }
  const models = [...byModel].map(([model, rs]) => {
    const groups = new Map<number, RequestRow[]>()
    for (const r of rs) {
      const lo = saturationLevelGroup(r.inflight!)[0]
      groups.set(lo, [...(groups.get(lo) ?? []), r])
    }
    const levels = [...groups].sort((a, b) => a[0] - b[0]).map(([lo, g]) => {
      const timed = g.filter((r) => r.completion_tokens !== null && r.total_ms !== null)
      const avg = g.reduce((n, r) => n + r.inflight!, 0) / g.length
      const secs = timed.reduce((n, r) => n + r.total_ms! / 1000, 0)
      return {
        level: lo, level_max: saturationLevelGroup(lo)[1], requests: g.length, streamed: g.filter((r) => r.ttft_ms !== null).length,
        inflight_avg: round(avg),
        ttft_p50_ms: pct(g, (r) => r.ttft_ms, 50), ttft_p95_ms: pct(g, (r) => r.ttft_ms, 95),
        latency_p50_ms: pct(g, (r) => r.total_ms, 50), latency_p95_ms: pct(g, (r) => r.total_ms, 95),
        output_tps_p50: pct(g, (r) => r.output_tps, 50),
        output_tps_total: secs > 0 ? round((avg * timed.reduce((n, r) => n + r.completion_tokens!, 0)) / secs) : null,
        sparse: g.length < MIN_SAMPLES,
      }
    })
    return {
      model, requests: rs.length, levels,
      tps_halved: knee(levels, (l) => l.output_tps_p50, (l) => l.requests, (v, b) => v <= b / 2),
      ttft_p95_doubled: knee(levels, (l) => l.ttft_p95_ms, (l) => l.streamed, (v, b) => v >= 2 * b),
    }
  })
  return { models: models.sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model)) }
}

/**
 * Compares an answer from the rollups with brute force: counts and mean levels exactly, throughput
 * to 1e-6 relative (sums in another order), percentiles to 1% (the histograms' bound).
 */
function expectClose(got: Saturation, want: ReturnType<typeof bruteSaturation>) {
  const PCT = ['ttft_p50_ms', 'ttft_p95_ms', 'latency_p50_ms', 'latency_p95_ms', 'output_tps_p50', 'output_tps_total'] as const
  const strip = (ms: typeof want.models) => ms.map((m) => ({ model: m.model, requests: m.requests, levels: m.levels.map((l) => ({ ...l, ...Object.fromEntries(PCT.map((k) => [k, null])) })) }))
  expect(strip(got.models as typeof want.models)).toEqual(strip(want.models))
  got.models.forEach((m, i) => m.levels.forEach((l, j) => {
    for (const k of PCT) {
      const w = want.models[i].levels[j][k]
      if (w === null) expect(l[k]).toBeNull()
      else expect(Math.abs(l[k]! - w)).toBeLessThanOrEqual(Math.abs(w) * 0.01 + 1e-3)
    }
  }))
}

/** Compares an answer with brute force: throughput to 1e-6 relative (sums in another order), the rest exactly. */
function expectSame(got: Saturation, want: ReturnType<typeof bruteSaturation>) {
  const strip = (ms: typeof want.models) => ms.map((m) => ({ ...m, levels: m.levels.map((l) => ({ ...l, output_tps_total: null })) }))
  expect(strip(got.models as typeof want.models)).toEqual(strip(want.models))
  got.models.forEach((m, i) => m.levels.forEach((l, j) => {
    const w = want.models[i].levels[j].output_tps_total
    if (w === null) expect(l.output_tps_total).toBeNull()
    else expect(Math.abs(l.output_tps_total! - w)).toBeLessThanOrEqual(Math.abs(w) * 1e-6 + 1e-3)
  }))
}

/** Random rows with a slowdown built in: past 6 in flight, each request gets slower. */
function randomRows(count: number, seed = 11, spreadHours = 4): RequestRow[] {
  let x = seed
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const outcomes = ['success', 'success', 'success', 'success', 'cancelled', 'backend_error'] as const
  return Array.from({ length: count }, () => {
    const inflight = rand() < 0.05 ? (rand() < 0.5 ? null : 0) : 1 + Math.floor(rand() ** 2 * 40)
    const slow = Math.max(1, (inflight ?? 1) / 6)
    const stream = rand() < 0.7
    const total = (200 + rand() * 800) * slow
    return row({
      // Whole seconds: many rows share a ts, so pages must break ties on seq.
      ts: T - 2 * HOUR + Math.floor(rand() * spreadHours * 3600) * 1000,
      model: ['m1', 'm2', 'm3'][Math.floor(rand() * 3)],
      stream, inflight,
      outcome: outcomes[Math.floor(rand() * outcomes.length)],
      total_ms: total,
      ttft_ms: stream ? (20 + rand() * 80) * slow : null,
      output_tps: rand() < 0.05 ? null : (40 + rand() * 20) / slow,
      completion_tokens: rand() < 0.05 ? null : Math.floor(rand() * 300),
      key_id: rand() < 0.5 ? 'k1' : null,
      user: rand() < 0.3 ? 'u1' : null,
      endpoint: rand() < 0.8 ? '/v1/chat/completions' : '/v1/messages',
    })
  })
}

describe('GET /metrics/saturation', () => {
  test('equals brute force over the rows, across filters and windows', async () => {
    s = setup()
    const rows = randomRows(4000)
    for (let i = 0; i < rows.length; i += 1000) await s.insert(rows.slice(i, i + 1000))
    const windows = [
      [T - 3 * HOUR, T + 3 * HOUR],
      [T - HOUR + 17_123, T + 40 * 60_000 + 5],
    ]
    const filters: F[] = [{}, { model: 'm2' }, { stream: true }, { key: 'k1' }, { endpoint: '/v1/messages' }, { user: 'u1', stream: false }, { outcome: 'cancelled' }]
    for (const [start, end] of windows) {
      for (const f of filters) {
        const qs = new URLSearchParams({ start: String(start), end: String(end), ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, String(v)])) })
        const res = await s.get(`/metrics/saturation?${qs}`)
        expect(res.status).toBe(200)
        const got = Saturation.parse(res.body)
        expect(got.window).toEqual({ start: new Date(start).toISOString(), end: new Date(end).toISOString() })
        expect(got.min_samples).toBe(MIN_SAMPLES)
        expectSame(got, bruteSaturation(rows, start, end, f))
        if (Object.keys(f).length === 0) {
          // The built-in slowdown shows: per-request speed halves past 12 in flight, TTFT p95 doubles past 6.
          for (const m of got.models) {
            expect(m.tps_halved).not.toBeNull()
            expect(m.ttft_p95_doubled).not.toBeNull()
          }
        }
      }
    }
  })

  test('the rollup path: windows over many hours and days (hour and day rollups, raw edges) equal brute force to the histograms\' 1%', async () => {
    s = setup()
    // Three days and a half from T − 2 h, so windows hold whole days, whole hours and ragged edges.
    const rows = randomRows(6000, 5, 84)
    for (let i = 0; i < rows.length; i += 1000) await s.insert(rows.slice(i, i + 1000))
    const reader = openMetricsReader(await s.readerConfig())
    try {
      const DAY = 24 * HOUR
      const windows = [
        [T - 3 * HOUR, T + 4 * DAY],
        [T - HOUR + 17_123, T + 2 * DAY + 5 * HOUR + 40 * 60_000 + 5],
        [Date.UTC(2026, 0, 11), Date.UTC(2026, 0, 13)],
        [T + 3 * HOUR, T + 9 * HOUR],
      ]
      const filters: F[] = [{}, { model: 'm1' }, { stream: true }, { key: 'k1' }, { endpoint: '/v1/messages' }, { user: 'u1' }, { outcome: 'success', model: 'm3' }, { outcome: 'cancelled' }]
      for (const [start, end] of windows) {
        for (const f of filters) {
          const got = Saturation.parse(await reader.read((db) => getSaturation(db, { start, end, ...(f as object) }, end + 10 * DAY, { exact: false })))
          expectClose(got, bruteSaturation(rows, start, end, f))
          // And with the exact re-read (few requests): brute force exactly.
          const exact = Saturation.parse(await reader.read((db) => getSaturation(db, { start, end, ...(f as object) }, end + 10 * DAY)))
          const want = bruteSaturation(rows, start, end, f)
          if (want.models.reduce((n, m) => n + m.requests, 0) <= 5000) expectSame(exact, want)
          else expectClose(exact, want)
        }
      }
      // An open window (no start, end now): the edges widen to whole days and still count every row.
      const open = Saturation.parse(await reader.read((db) => getSaturation(db, {}, T + 4 * DAY, { exact: false })))
      expectClose(open, bruteSaturation(rows, 0, T + 4 * DAY, {}))
    } finally {
      await reader.close()
    }
  })

  test('no rows, or rows without inflight: no models', async () => {
    s = setup()
    expect(Saturation.parse((await s.get('/metrics/saturation')).body)).toEqual({ window: { start: null, end: new Date(Date.UTC(2026, 0, 20)).toISOString() }, min_samples: MIN_SAMPLES, models: [] })
    await s.insert([row({ ts: T, inflight: null }), row({ ts: T, inflight: 0 })])
    expect(Saturation.parse((await s.get('/metrics/saturation')).body).models).toEqual([])
  })

  test.each([
    ['stream=maybe', 'stream'],
    ['start=yesterday', 'start'],
    ['level=3', 'level'],
    [`start=${T}&end=${T - 1}`, 'end'],
  ])('400 for %s', async (query, param) => {
    s = setup()
    const res = await s.get(`/metrics/saturation?${query}`)
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_parameter', param })
  })
})

test('level groups: 1–4 alone, then halves of each power of two', () => {
  const groups = new Set(Array.from({ length: 64 }, (_, i) => saturationLevelGroup(i + 1).join('-')))
  expect([...groups]).toEqual(['1-1', '2-2', '3-3', '4-4', '5-6', '7-8', '9-12', '13-16', '17-24', '25-32', '33-48', '49-64'])
})
