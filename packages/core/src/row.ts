/** How a request ended; see DESIGN.md §4. */
export const OUTCOMES = ['success', 'cancelled', 'client_error', 'backend_error', 'network_error'] as const
export type Outcome = (typeof OUTCOMES)[number]

/** Outcomes that count as failures in `success_rate`. Cancelled requests are reported apart. */
export const FAILED_OUTCOMES: readonly Outcome[] = ['client_error', 'backend_error', 'network_error']

export const METERED_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/messages'] as const
export type MeteredEndpoint = (typeof METERED_ENDPOINTS)[number]

/** One metered request, exactly as stored in the `requests` table. Times in ms, `ts` in UTC epoch ms. */
export interface RequestRow {
  id: string
  ts: number
  endpoint: string
  stream: boolean
  model_requested: string | null
  model: string | null
  status_code: number | null
  outcome: Outcome
  error_type: string | null
  error_message: string | null
  finish_reason: string | null
  ttft_ms: number | null
  ttlt_ms: number | null
  total_ms: number
  tpot_ms: number | null
  output_tps: number | null
  prompt_tokens: number | null
  completion_tokens: number | null
  total_tokens: number | null
  cached_tokens: number | null
  reasoning_tokens: number | null
  tokens_estimated: boolean
  client_ip: string | null
  user: string | null
  user_agent: string | null
  chunk_count: number | null
  request_bytes: number
  response_bytes: number
  key_id: string | null
  /** Estimated price of the request in US dollars; null when no price is known for the model. */
  cost_usd: number | null
}

export const ROW_COLUMNS = [
  'id', 'ts', 'endpoint', 'stream', 'model_requested', 'model', 'status_code', 'outcome', 'error_type',
  'error_message', 'finish_reason', 'ttft_ms', 'ttlt_ms', 'total_ms', 'tpot_ms', 'output_tps',
  'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens',
  'tokens_estimated', 'client_ip', 'user', 'user_agent', 'chunk_count', 'request_bytes',
  'response_bytes', 'key_id', 'cost_usd',
] as const satisfies readonly (keyof RequestRow)[]
