// Realistic synthetic rows for the metrics benchmark: several models, users, outcomes and timings.
const MODELS = ['llama3.2:1b', 'llama3.1:8b', 'qwen2.5:7b', 'mistral:7b', 'gpt-4o-mini', 'deepseek-r1:14b']
const USERS = Array.from({ length: 40 }, (_, i) => `user-${i}`)

export function makeRowFactory(seed = 1) {
  let x = seed
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648)
  // A second generator for inflight, so the other fields stay what they were before it existed.
  let y = seed + 7
  const rand2 = () => ((y = (y * 1103515245 + 12345) % 2147483648) / 2147483648)
  let n = 0
  return (ts) => {
    n++
    const stream = rand() < 0.7
    const r = rand()
    const outcome = r < 0.9 ? 'success' : r < 0.93 ? 'cancelled' : r < 0.96 ? 'client_error' : r < 0.99 ? 'backend_error' : 'network_error'
    const status = outcome === 'client_error' ? 429 : outcome === 'backend_error' ? 500 : outcome === 'network_error' ? 502 : 200
    const completion = Math.floor(20 + rand() * 600)
    const ttft = stream ? 80 + rand() ** 2 * 2000 : null
    const tpot = stream ? 10 + rand() * 40 : null
    const ttlt = stream ? ttft + tpot * (completion - 1) : null
    const total = stream ? ttlt + 2 : 200 + rand() * 15000
    const model = MODELS[Math.floor(rand() ** 1.5 * MODELS.length)]
    return {
      id: `bench-${seed}-${n}-${ts}`, ts, endpoint: '/v1/chat/completions', stream, model_requested: model, model,
      status_code: status, outcome, error_type: outcome === 'success' || outcome === 'cancelled' ? null : `err_${status}`,
      error_message: outcome === 'success' || outcome === 'cancelled' ? null : `synthetic ${status} error`,
      finish_reason: outcome === 'success' ? 'stop' : null, ttft_ms: ttft, ttlt_ms: ttlt, total_ms: total, tpot_ms: tpot,
      output_tps: stream ? 1000 / tpot : completion / (total / 1000), prompt_tokens: Math.floor(50 + rand() * 2000),
      completion_tokens: completion, total_tokens: null, cached_tokens: 0, reasoning_tokens: null, tokens_estimated: false,
      client_ip: '10.0.0.1', user: rand() < 0.8 ? USERS[Math.floor(rand() ** 2 * USERS.length)] : null,
      user_agent: 'OpenAI/JS 6.0', chunk_count: stream ? completion + 3 : null, request_bytes: 2000, response_bytes: 4000, key_id: null,
      cost_usd: null, overhead_ms: null, inflight: 1 + Math.floor(rand2() ** 2 * 24),
    }
  }
}
