import { EXACT_LIMIT, LEVELS, SAT_LEVELS, SatAcc, round, type SatRollupRow } from '@llm-proxy/core'
import { SATURATION_MIN_SAMPLES, saturationLevelGroup, type FilterQuery, type Saturation, type SaturationKnee, type SaturationLevel, type SaturationModel } from '@llm-proxy/core/contracts'
import type { Snapshot } from '@llm-proxy/storage'
import { filterSql, planSegments } from './plan.js'
import { readRollup, splitAtCurrentBucket } from './scan.js'
import { iso, resolveWindow } from './window.js'

interface SatRow {
  model: string
  inflight: number
  ttft_ms: number | null
  total_ms: number | null
  output_tps: number | null
  completion_tokens: number | null
}

// Only what the groups need (an hour of raw rows at a window's edge can be ~15,000 rows).
const RAW_SQL = "SELECT coalesce(model, model_requested, '') AS model, inflight, ttft_ms, total_ms, output_tps, completion_tokens FROM requests " +
  "WHERE ts >= @from AND ts < @to AND outcome = 'success' AND inflight >= 1"

/** One level group of one model: percentiles exact up to EXACT_LIMIT values each (raw rows only), else 1%-accurate histograms. */
class LevelAcc extends SatAcc {
  constructor(readonly level: number, readonly levelMax: number) {
    super()
  }

  get exact(): boolean {
    return this.latency.exact && this.ttft.exact && this.tps.exact
  }

  toJson(): SaturationLevel {
    const avg = this.inflightSum / this.requests
    return {
      level: this.level,
      level_max: this.levelMax,
      requests: this.requests,
      streamed: this.ttft.n,
      inflight_avg: round(avg)!,
      ttft_p50_ms: round(this.ttft.quantile(50)),
      ttft_p95_ms: round(this.ttft.quantile(95)),
      latency_p50_ms: round(this.latency.quantile(50)),
      latency_p95_ms: round(this.latency.quantile(95)),
      output_tps_p50: round(this.tps.quantile(50)),
      output_tps_total: this.tokenMs > 0 ? round((avg * this.tokens) / (this.tokenMs / 1000)) : null,
      sparse: this.requests < SATURATION_MIN_SAMPLES,
    }
  }
}

/**
 * The first group past the baseline (the lowest group with enough samples) whose value crossed
 * `factor` × baseline: below it when factor < 1, above it otherwise. Groups with too few samples
 * are skipped.
 */
export function findKnee(levels: readonly SaturationLevel[], value: (l: SaturationLevel) => number | null, samples: (l: SaturationLevel) => number, factor: number): SaturationKnee | null {
  const ok = levels.filter((l) => samples(l) >= SATURATION_MIN_SAMPLES && value(l) !== null)
  if (ok.length < 2) return null
  const base = value(ok[0])!
  if (!(base > 0)) return null
  const threshold = base * factor
  for (const l of ok.slice(1)) {
    const v = value(l)!
    if (factor < 1 ? v <= threshold : v >= threshold) return { level: l.level, level_max: l.level_max, value: v, baseline_level: ok[0].level, baseline: base }
  }
  return null
}

/** The hour and day levels, the only ones saturation rollups are kept at. */
const SAT_COARSEST = LEVELS.length - 1
const satAllowed = new Set<string>(SAT_LEVELS)

/**
 * `GET /metrics/saturation`: successful requests by the concurrency they started at (`inflight`),
 * per model. Whole hours and days read the saturation rollups (exact counts and sums, 1%-accurate
 * percentiles); the ragged edges, and a `user` filter (rollups are not kept per user), read the raw
 * rows. A window with few requests (≤ EXACT_LIMIT) is read again from the raw rows so its percentiles
 * are exact, as on the other endpoints. `o.exact: false` skips that (tests of the rollup path).
 */
export async function getSaturation(db: Snapshot | null, f: FilterQuery, now = Date.now(), o: { exact?: boolean } = {}): Promise<Saturation> {
  const w = await resolveWindow(db, f, now)
  let models = new Map<string, Map<number, LevelAcc>>()
  const groupOf = (model: string, inflightOrLevel: number) => {
    let groups = models.get(model)
    if (!groups) models.set(model, (groups = new Map()))
    const [lo, hi] = saturationLevelGroup(inflightOrLevel)
    let acc = groups.get(lo)
    if (!acc) groups.set(lo, (acc = new LevelAcc(lo, hi)))
    return acc
  }
  // Only successful requests count: any other outcome asked for has none.
  if (db && w.end > w.start && (f.outcome === undefined || f.outcome === 'success')) {
    const { raw, rollup, params } = filterSql({ ...f, outcome: undefined })
    const satFilter = rollup + (f.endpoint !== undefined ? ' AND endpoint = @endpoint' : '')
    const start = w.scanStart
    const end = w.scanEnd
    const readRaw = async (from: number, to: number) => {
      for (const r of await db.all<SatRow>(RAW_SQL + raw, { ...params, from, to })) groupOf(r.model, r.inflight).addRow(r)
    }
    const segments = f.user !== undefined ? [{ source: 'raw' as const, from: start, to: end }] : planSegments(start, end, SAT_COARSEST, satAllowed)
    for (const seg of segments) {
      if (seg.source === 'raw') await readRaw(seg.from, seg.to)
      else {
        for (const part of splitAtCurrentBucket(seg, seg.source)) {
          const rows = await readRollup<SatRollupRow>(db, part, { table: `saturation_${seg.source}`, select: '*', where: satFilter, changes: 'requests' }, params)
          for (const r of rows) groupOf(r.model, r.level).addRollup(r)
        }
      }
    }
    // Few requests: read them again from the raw rows, so the percentiles are exact (unless
    // retention removed raw rows the rollups still count).
    const all = [...models.values()].flatMap((g) => [...g.values()])
    const total = all.reduce((n, a) => n + a.requests, 0)
    if (o.exact !== false && total > 0 && total <= EXACT_LIMIT && !all.every((a) => a.exact)) {
      const fromRollups = models
      models = new Map()
      await readRaw(start, end)
      if ([...models.values()].flatMap((g) => [...g.values()]).reduce((n, a) => n + a.requests, 0) !== total) models = fromRollups
    }
  }
  const out: SaturationModel[] = [...models.entries()].map(([model, groups]) => {
    const levels = [...groups.values()].sort((a, b) => a.level - b.level).map((a) => a.toJson())
    return {
      model,
      requests: levels.reduce((n, l) => n + l.requests, 0),
      levels,
      tps_halved: findKnee(levels, (l) => l.output_tps_p50, (l) => l.requests, 0.5),
      ttft_p95_doubled: findKnee(levels, (l) => l.ttft_p95_ms, (l) => l.streamed, 2),
    }
  })
  out.sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model))
  return {
    window: { start: w.hasStart ? iso(w.start) : null, end: iso(w.end) },
    min_samples: SATURATION_MIN_SAMPLES,
    models: out,
  }
}
