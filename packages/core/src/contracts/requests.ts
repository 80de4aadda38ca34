import { z } from 'zod'
import { IsoTime, OutcomeSchema } from './common.js'

/** One recorded request as the API returns it: every stored field, `ts` as ISO 8601. */
export const RequestRecord = z.object({
  id: z.string(),
  ts: IsoTime,
  endpoint: z.string(),
  stream: z.boolean(),
  model_requested: z.string().nullable(),
  model: z.string().nullable(),
  status_code: z.number().int().nullable(),
  outcome: OutcomeSchema,
  error_type: z.string().nullable(),
  error_message: z.string().nullable(),
  finish_reason: z.string().nullable(),
  ttft_ms: z.number().nullable(),
  ttlt_ms: z.number().nullable(),
  total_ms: z.number(),
  tpot_ms: z.number().nullable(),
  output_tps: z.number().nullable(),
  prompt_tokens: z.number().int().nullable(),
  completion_tokens: z.number().int().nullable(),
  total_tokens: z.number().int().nullable(),
  cached_tokens: z.number().int().nullable(),
  reasoning_tokens: z.number().int().nullable(),
  tokens_estimated: z.boolean(),
  client_ip: z.string().nullable(),
  user: z.string().nullable(),
  user_agent: z.string().nullable(),
  chunk_count: z.number().int().nullable(),
  request_bytes: z.number().int(),
  response_bytes: z.number().int(),
  key_id: z.string().nullable(),
  cost_usd: z.number().nullable(),
})
export type RequestRecord = z.infer<typeof RequestRecord>

/** `GET /metrics/requests`: newest first; pass `next_cursor` back as `cursor` for the next page. */
export const RequestsPage = z.object({
  data: z.array(RequestRecord),
  next_cursor: z.string().nullable(),
})
export type RequestsPage = z.infer<typeof RequestsPage>
