import { z } from 'zod'
import { IsoTime, Stats, Window } from './common.js'

export const ModelSummary = z.object({
  model: z.string(),
  requests: z.number().int(),
  success_rate: z.number().nullable(),
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  ttft_p50_ms: z.number().nullable(),
  ttft_p95_ms: z.number().nullable(),
  output_tps_avg: z.number().nullable(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  /** Sum of the model's row costs in US dollars (requests without a price add nothing). */
  cost_usd: z.number().nullable(),
})
export type ModelSummary = z.infer<typeof ModelSummary>

export const ErrorSummary = z.object({
  error_type: z.string().nullable(),
  status_code: z.number().int().nullable(),
  count: z.number().int(),
  last_seen: IsoTime,
  last_message: z.string().nullable(),
})
export type ErrorSummary = z.infer<typeof ErrorSummary>

/** One proxy key's share of the window (requests made without a key are not listed). */
export const KeySummary = z.object({
  key_id: z.string(),
  /** The key's name, or null when the key was deleted since. */
  key_name: z.string().nullable(),
  requests: z.number().int(),
  failed: z.number().int(),
  success_rate: z.number().nullable(),
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  ttft_p50_ms: z.number().nullable(),
  ttft_p95_ms: z.number().nullable(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.number().nullable(),
})
export type KeySummary = z.infer<typeof KeySummary>

/** `GET /metrics`: one summary of the window. */
export const Summary = z.object({
  window: Window,
  requests: z.object({
    total: z.number().int(),
    success: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    /** success / (success + failed); null when both are 0. */
    success_rate: z.number().nullable(),
    streaming: z.number().int(),
  }),
  latency_ms: Stats,
  ttft_ms: Stats,
  tpot_ms: Stats,
  output_tps: Stats,
  /** The time the proxy itself added: before the request left, and after the backend's last byte. */
  overhead_ms: Stats,
  tokens: z.object({
    prompt: z.number().int(),
    completion: z.number().int(),
    total: z.number().int(),
    cached: z.number().int(),
    reasoning: z.number().int(),
    requests_with_usage: z.number().int(),
    estimated: z.number().int(),
  }),
  /** Estimated spend in US dollars: the sum of `cost_usd` over the requests that have one; null when none has. */
  cost_usd: z.number().nullable(),
  by_model: z.array(ModelSummary),
  by_key: z.array(KeySummary),
  errors: z.array(ErrorSummary),
  top_users: z.array(z.object({ user: z.string(), requests: z.number().int() })),
})
export type Summary = z.infer<typeof Summary>
