import { MeasureAgg, modelOf, round } from '@llm-proxy/core'
import { SATURATION_MIN_SAMPLES, saturationLevelGroup, type FilterQuery, type Saturation, type SaturationKnee, type SaturationLevel, type SaturationModel } from '@llm-proxy/core/contracts'
import type { Snapshot } from '@llm-proxy/storage'
import { filterSql } from './plan.js'
import { iso, resolveWindow } from './window.js'

/** Rows read per query: memory stays bounded whatever the window holds. */
export const SATURATION_PAGE = 10_000
/**
 * At most this many requests are read, the newest first: a window holding more is answered from
 * its newest part (`limited`, `read_from`), so the time an answer takes is bounded too.
 */
export const SATURATION_MAX_ROWS = 100_000

interface SatRow {
  seq: number
  ts: number
  model: string | null
  model_requested: string | null
  inflight: number
  ttft_ms: number | null
  total_ms: number | null
  output_tps: number | null
  completion_tokens: number | null
}

/** One level group of one model: percentiles exact up to EXACT_LIMIT values each, then 1%-accurate histograms. */
class LevelAcc {
  requests = 0
  inflightSum = 0
  tokens = 0
  seconds = 0
  readonly ttft = new MeasureAgg()
  readonly latency = new MeasureAgg()
  readonly tps = new MeasureAgg()
  constructor(readonly level: number, readonly levelMax: number) {}

  add(r: SatRow): void {
    this.requests++
    this.inflightSum += r.inflight
    this.ttft.add(r.ttft_ms)
    this.latency.add(r.total_ms)
    this.tps.add(r.output_tps)
    if (r.completion_tokens !== null && r.total_ms !== null) {
      this.tokens += r.completion_tokens
      this.seconds += r.total_ms / 1000
    }
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
      output_tps_total: this.seconds > 0 ? round((avg * this.tokens) / this.seconds) : null,
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

/**
 * `GET /metrics/saturation`: successful requests by the concurrency they started at (`inflight`),
 * per model. Rollups do not keep `inflight`, so raw rows are read, newest first, in pages along the
 * (ts, seq) index, and folded into a fixed set of accumulators as they come.
 */
export async function getSaturation(db: Snapshot | null, f: FilterQuery, now = Date.now(), o: { page?: number; maxRows?: number } = {}): Promise<Saturation> {
  const page = o.page ?? SATURATION_PAGE
  const maxRows = o.maxRows ?? SATURATION_MAX_ROWS
  const w = await resolveWindow(db, f, now)
  const models = new Map<string, Map<number, LevelAcc>>()
  let read = 0
  let readFrom: number | null = null
  let oldest: number | null = null
  if (db && w.end > w.start) {
    const { raw, params } = filterSql(f)
    const sql =
      'SELECT seq, ts, model, model_requested, inflight, ttft_ms, total_ms, output_tps, completion_tokens FROM requests ' +
      `WHERE ts >= @from AND ts <= @cts AND (ts < @cts OR seq < @cseq) AND outcome = 'success' AND inflight >= 1${raw} ` +
      'ORDER BY ts DESC, seq DESC LIMIT @limit'
    // Each page starts where the last one ended, on the index: no page re-reads what came before.
    let cursor = { cts: w.end - 1, cseq: Number.MAX_SAFE_INTEGER }
    for (;;) {
      const room = maxRows - read
      // One row more than there is room for tells whether the window holds more than is read.
      const rows = await db.all<SatRow>(sql, { ...params, from: w.start, ...cursor, limit: Math.min(page, room + 1) })
      const take = Math.min(rows.length, room)
      for (let i = 0; i < take; i++) {
        const r = rows[i]
        const model = modelOf(r)
        let groups = models.get(model)
        if (!groups) models.set(model, (groups = new Map()))
        const [lo, hi] = saturationLevelGroup(r.inflight)
        let acc = groups.get(lo)
        if (!acc) groups.set(lo, (acc = new LevelAcc(lo, hi)))
        acc.add(r)
        oldest = r.ts
      }
      read += take
      if (rows.length > room) {
        readFrom = oldest
        break
      }
      if (rows.length < Math.min(page, room + 1)) break
      const last = rows[rows.length - 1]
      cursor = { cts: last.ts, cseq: last.seq }
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
    limited: readFrom !== null,
    read_from: readFrom === null ? null : iso(readFrom),
    models: out,
  }
}
