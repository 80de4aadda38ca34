import type { KeySummary, ModelSummary, RequestRecord, Summary } from '@llm-proxy/core/contracts'

/** A recorded request with every field set, as the API returns it. */
export function record(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'req-00000001', ts: '2026-01-02T03:04:05.000Z', endpoint: '/v1/chat/completions', stream: true,
    model_requested: 'llama3.2:1b', model: 'llama3.2:1b', status_code: 200, outcome: 'success',
    error_type: null, error_message: null, finish_reason: 'stop', ttft_ms: 120.5, ttlt_ms: 900, total_ms: 910.2,
    tpot_ms: 12.3, output_tps: 81.2, prompt_tokens: 20, completion_tokens: 64, total_tokens: 84, cached_tokens: 0,
    reasoning_tokens: null, tokens_estimated: false, client_ip: '127.0.0.1', user: 'alice', user_agent: 'OpenAI/JS 6.0',
    chunk_count: 66, request_bytes: 210, response_bytes: 9000, key_id: null, cost_usd: null, overhead_ms: null, inflight: 1, key_name: null, ...over,
  }
}

export function modelRow(over: Partial<ModelSummary> = {}): ModelSummary {
  return {
    model: 'llama3.2:1b', requests: 10, success_rate: 0.9, latency_p50_ms: 800, latency_p95_ms: 1500, ttft_p50_ms: 120,
    ttft_p95_ms: 300, output_tps_avg: 60, prompt_tokens: 1000, completion_tokens: 5000, total_tokens: 6000, cost_usd: 0, ...over,
  }
}

export function keyRow(over: Partial<KeySummary> = {}): KeySummary {
  return {
    key_id: 'key_alice', key_name: 'alice', requests: 10, failed: 1, success_rate: 0.9, latency_p50_ms: 800, latency_p95_ms: 1500,
    ttft_p50_ms: 120, ttft_p95_ms: 300, prompt_tokens: 1000, completion_tokens: 5000, total_tokens: 6000, cost_usd: 0, ...over,
  }
}

const stats = (p50: number | null) => ({ avg: p50, p50, p90: p50, p95: p50 === null ? null : p50 * 2, p99: p50, max: p50 })

export function summary(over: { total?: number; success?: number; failed?: number; p50?: number | null; cost?: number | null } = {}): Summary {
  const total = over.total ?? 100
  const success = over.success ?? 95
  const failed = over.failed ?? total - success
  return {
    window: { start: '2026-01-02T02:00:00.000Z', end: '2026-01-02T03:00:00.000Z' },
    requests: { total, success, failed, cancelled: 0, success_rate: success + failed ? success / (success + failed) : null, streaming: 50 },
    latency_ms: stats(over.p50 === undefined ? 800 : over.p50),
    ttft_ms: stats(120),
    tpot_ms: stats(12),
    output_tps: stats(55),
    overhead_ms: stats(0.4),
    tokens: { prompt: 12_000, completion: 48_000, total: 60_000, cached: 0, reasoning: 0, requests_with_usage: total, estimated: 0 },
    cost_usd: over.cost ?? 0,
    by_model: [modelRow()],
    by_key: [],
    errors: [],
    top_users: [],
  }
}

/** A fetch stand-in: answers each URL with the handler's JSON (or throws what it throws). */
export function stubFetch(handler: (url: URL) => unknown | Promise<unknown>) {
  const calls: URL[] = []
  const fetch = async (input: string | URL | Request) => {
    const url = new URL(String(input), 'http://dashboard.test')
    calls.push(url)
    const body = await handler(url)
    if (body instanceof Response) return body
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })
  }
  return { fetch, calls }
}
