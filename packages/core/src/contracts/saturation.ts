import { z } from 'zod'
import { Window } from './common.js'

export { saturationLevelGroup } from './saturation-levels.js'

/** A level group needs this many samples of a measure before its percentile takes part in a knee. */
export const SATURATION_MIN_SAMPLES = 10

/** One group of concurrency levels of one model; see docs/technical/metrics.md#saturation. */
export const SaturationLevel = z.object({
  /** Lowest and highest `inflight` in the group (equal up to 4). */
  level: z.number().int(),
  level_max: z.number().int(),
  /** Successful requests that started at a concurrency in the group. */
  requests: z.number().int(),
  /** Those that were streamed (the ones that have a TTFT). */
  streamed: z.number().int(),
  /** Mean `inflight` of the group's requests. */
  inflight_avg: z.number(),
  ttft_p50_ms: z.number().nullable(),
  ttft_p95_ms: z.number().nullable(),
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  /** Median of each request's own `output_tps`. */
  output_tps_p50: z.number().nullable(),
  /** The backend's output rate while at this concurrency: `inflight_avg × Σ completion_tokens / Σ total seconds`. */
  output_tps_total: z.number().nullable(),
  /** Fewer than SATURATION_MIN_SAMPLES requests: shown, but greyed out and never a knee. */
  sparse: z.boolean(),
})
export type SaturationLevel = z.infer<typeof SaturationLevel>

/** Where a measure crossed its threshold: the first group past the baseline (lowest well-sampled group) that did. */
export const SaturationKnee = z.object({
  /** The first group's lowest level: "from `level` concurrent requests on". */
  level: z.number().int(),
  level_max: z.number().int(),
  value: z.number(),
  baseline_level: z.number().int(),
  baseline: z.number(),
})
export type SaturationKnee = z.infer<typeof SaturationKnee>

export const SaturationModel = z.object({
  model: z.string(),
  requests: z.number().int(),
  levels: z.array(SaturationLevel),
  /** First group whose per-request output tokens/s (p50) is at most half the baseline's; null when the data shows none. */
  tps_halved: SaturationKnee.nullable(),
  /** First group whose TTFT p95 is at least twice the baseline's; null when the data shows none. */
  ttft_p95_doubled: SaturationKnee.nullable(),
})
export type SaturationModel = z.infer<typeof SaturationModel>

/** `GET /metrics/saturation`: latency, TTFT and tokens/s by concurrency level, per model, busiest first. */
export const Saturation = z.object({
  window: Window,
  min_samples: z.number().int(),
  models: z.array(SaturationModel),
})
export type Saturation = z.infer<typeof Saturation>
