import { EXACT_LIMIT, LEVELS, OUTCOMES } from '@llm-proxy/core'
import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { Bucket, BucketSize, Timeseries } from '@llm-proxy/core/contracts'
import type { Snapshot } from '@llm-proxy/storage'
import type { RollupRow } from '@llm-proxy/core'
import { Agg, round, type RawRow } from './aggregate.js'
import { scan } from './scan.js'
import { iso, resolveWindow } from './window.js'

const MINUTE = 60_000
const SIZES: Record<BucketSize, number> = {
  '1m': MINUTE, '2m': 2 * MINUTE, '5m': 5 * MINUTE, '10m': 10 * MINUTE, '15m': 15 * MINUTE, '30m': 30 * MINUTE,
  '1h': 60 * MINUTE, '2h': 120 * MINUTE, '3h': 180 * MINUTE, '6h': 360 * MINUTE, '12h': 720 * MINUTE, '1d': 1440 * MINUTE,
}
/** A series longer than this is refused: the client should ask for a larger bucket. */
export const MAX_POINTS = 5_000
const AUTO_MAX = 120
const AUTO_MIN = 60
/** What a series needs from a rollup row (the TPOT and tokens/s histograms are skipped). */
const SERIES_COLUMNS =
  'bucket, model, stream, outcome, status_code, key_id, requests, latency_n, latency_sum, latency_max, latency_hist, ttft_n, ttft_sum, ' +
  'ttft_max, ttft_hist, tpot_n, tpot_sum, tpot_max, NULL AS tpot_hist, tps_n, tps_sum, tps_max, NULL AS tps_hist, prompt_tokens, ' +
  'completion_tokens, total_tokens, cached_tokens, reasoning_tokens, with_usage, estimated, cost_usd, priced, last_ts, latency_min, ttft_min, tpot_min, tps_min'

export class TooManyBuckets extends Error {
  constructor(readonly points: number) {
    super(`bucket: that window needs ${points} buckets; the most is ${MAX_POINTS}. Choose a larger bucket or auto.`)
  }
}

const countPoints = (start: number, end: number, size: number) => Math.max(1, Math.ceil((end - Math.floor(start / size) * size) / size))

/** `auto`: the largest size that still gives 60 buckets or more (so 60–120), else the finest. */
export function pickBucket(requested: Bucket, start: number, end: number): BucketSize {
  if (requested !== 'auto') return requested
  const sizes = Object.keys(SIZES) as BucketSize[]
  const fit = sizes.filter((s) => countPoints(start, end, SIZES[s]) >= AUTO_MIN)
  return fit.at(-1) ?? sizes.find((s) => countPoints(start, end, SIZES[s]) <= AUTO_MAX) ?? '1d'
}

/** `GET /metrics/timeseries`: aligned buckets, empty ones included. */
export async function getTimeseries(db: Snapshot | null, f: FilterQuery & { bucket: Bucket }, now = Date.now()): Promise<Timeseries> {
  const w = await resolveWindow(db, f, now)
  const size = pickBucket(f.bucket, w.start, w.end)
  const ms = SIZES[size]
  const first = Math.floor(w.start / ms) * ms
  const points = w.end > w.start ? countPoints(w.start, w.end, ms) : 0
  if (points > MAX_POINTS) throw new TooManyBuckets(points)
  let aggs = Array.from({ length: points }, () => new Agg(['latency', 'ttft']))
  const at = (ts: number) => aggs[Math.floor((ts - first) / ms)]
  // The coarsest rollup whose buckets fit whole into ours.
  let coarsest = -1
  LEVELS.forEach((l, i) => ms % l.ms === 0 && (coarsest = i))

  if (db && points > 0) {
    // Only the series' own window: a widened edge could add rows to the first or last bucket.
    const scanEnd = w.scanEnd > w.end ? Math.min(w.scanEnd, first + points * ms) : w.end
    const visit = { raw: (r: RawRow) => at(r.ts)?.addRaw(r), rollup: (r: RollupRow) => at(r.bucket)?.addRollup(r), columns: SERIES_COLUMNS }
    await scan(db, f, w.start, scanEnd, visit, coarsest)
    // Few requests: read them again from the raw rows, so every bucket's percentiles are exact
    // (unless retention removed raw rows the rollups still count).
    const total = aggs.reduce((n, a) => n + a.total, 0)
    if (total > 0 && total <= EXACT_LIMIT && !aggs.every((a) => a.exact)) {
      const rollupAggs = aggs
      aggs = Array.from({ length: points }, () => new Agg(['latency', 'ttft']))
      await scan(db, f, w.start, scanEnd, visit, -1)
      if (aggs.reduce((n, a) => n + a.total, 0) !== total) aggs = rollupAggs
    }
  }
  return {
    window: { start: w.hasStart ? iso(w.start) : null, end: iso(w.end) },
    bucket: size,
    bucket_ms: ms,
    points: aggs.map((a, i) => {
      const lat = a.measures.latency
      const ttft = a.measures.ttft
      return {
        start: iso(first + i * ms),
        requests: { total: a.total, ...Object.fromEntries(OUTCOMES.map((o) => [o, a.outcomes[o]])) } as Timeseries['points'][number]['requests'],
        latency_p50_ms: round(lat.quantile(50)),
        latency_p95_ms: round(lat.quantile(95)),
        ttft_p50_ms: round(ttft.quantile(50)),
        ttft_p95_ms: round(ttft.quantile(95)),
        output_tps_avg: round(a.measures.tps.avg()),
        prompt_tokens: a.tokens.prompt_tokens,
        completion_tokens: a.tokens.completion_tokens,
        cost_usd: a.costOrNull(),
      }
    }),
  }
}
