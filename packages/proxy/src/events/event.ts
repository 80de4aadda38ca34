import type { RequestRow } from '@llm-proxy/core'

/**
 * One request as it goes out to log shippers and webhooks: the stored row, every field of it, after
 * the fields log tools look for first (`timestamp`, `method`, `duration_ms`, ...) and a `metadata`
 * object with the model and token counts in the shape LiteLLM-style tools read.
 */
export interface RequestEvent extends RequestRow {
  /** ISO 8601 UTC of `ts`, the moment the request reached the proxy. */
  timestamp: string
  method: 'POST'
  duration_ms: number
  /** The name of the key the request used (AUTH_MODE=keys), as it was when the event went out. */
  key_name: string | null
  metadata: {
    model: string | null
    model_requested: string | null
    prompt_tokens: number | null
    completion_tokens: number | null
    total_tokens: number | null
    cached_tokens: number | null
    reasoning_tokens: number | null
    tokens_estimated: boolean
    usage: { prompt_tokens: number | null; completion_tokens: number | null; total_tokens: number | null }
    key_id: string | null
    key_name: string | null
  }
}

export function toEvent(row: RequestRow, keyName: string | null = null): RequestEvent {
  const model = row.model ?? row.model_requested
  // The fields log tools look for come first in each line; the row's own fields follow (same values).
  const head = {
    timestamp: new Date(row.ts).toISOString(),
    // Every metered endpoint is a POST (core's METERED_ENDPOINTS).
    method: 'POST' as const,
    endpoint: row.endpoint,
    status_code: row.status_code,
    duration_ms: row.total_ms,
    key_id: row.key_id,
    key_name: keyName,
    metadata: {
      model,
      model_requested: row.model_requested,
      prompt_tokens: row.prompt_tokens,
      completion_tokens: row.completion_tokens,
      total_tokens: row.total_tokens,
      cached_tokens: row.cached_tokens,
      reasoning_tokens: row.reasoning_tokens,
      tokens_estimated: row.tokens_estimated,
      usage: { prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens, total_tokens: row.total_tokens },
      key_id: row.key_id,
      key_name: keyName,
    },
  }
  return Object.assign(head, row)
}
