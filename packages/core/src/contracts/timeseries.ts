import { z } from 'zod'
import { IsoTime, Window } from './common.js'
import { BUCKET_SIZES } from './filters.js'

export const TimeseriesPoint = z.object({
  /** Bucket start, aligned to the bucket size in UTC. */
  start: IsoTime,
  requests: z.object({
    total: z.number().int(),
    success: z.number().int(),
    cancelled: z.number().int(),
    client_error: z.number().int(),
    backend_error: z.number().int(),
    network_error: z.number().int(),
  }),
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  ttft_p50_ms: z.number().nullable(),
  ttft_p95_ms: z.number().nullable(),
  output_tps_avg: z.number().nullable(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  /** Sum of the bucket's row costs in US dollars (0 when none had a price). */
  cost_usd: z.number().nullable(),
})
export type TimeseriesPoint = z.infer<typeof TimeseriesPoint>

/** `GET /metrics/timeseries`: every bucket of the window, empty ones included. */
export const Timeseries = z.object({
  window: Window,
  bucket: z.enum(BUCKET_SIZES),
  bucket_ms: z.number().int(),
  points: z.array(TimeseriesPoint),
})
export type Timeseries = z.infer<typeof Timeseries>
