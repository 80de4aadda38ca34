import type { RequestRow } from '@llm-proxy/core'

let n = 0
/** A complete row; tests override what they look at. */
export function sampleRow(over: Partial<RequestRow> = {}): RequestRow {
  return {
    id: `row-${++n}-${Math.random().toString(36).slice(2, 8)}`, ts: Date.UTC(2026, 0, 10, 12) + n, endpoint: '/v1/chat/completions', stream: true,
    model_requested: 'm', model: 'm', status_code: 200, outcome: 'success', error_type: null,
    error_message: null, finish_reason: 'stop', ttft_ms: 10, ttlt_ms: 20, total_ms: 21, tpot_ms: 1,
    output_tps: 100, prompt_tokens: 5, completion_tokens: 11, total_tokens: 16, cached_tokens: null,
    reasoning_tokens: null, tokens_estimated: false, client_ip: '127.0.0.1', user: null,
    user_agent: 'test', chunk_count: 12, request_bytes: 100, response_bytes: 1000, key_id: null,
    cost_usd: null, overhead_ms: null, inflight: null, ...over,
  }
}
