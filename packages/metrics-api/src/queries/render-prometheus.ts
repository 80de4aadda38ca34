import { GEN_AI_METRICS, LogHistogram, type RollupRow } from '@llm-proxy/core'
import type { Snapshot } from '@llm-proxy/storage'
import { readRollup, splitAtCurrentBucket } from './scan.js'

// OpenTelemetry GenAI semantic conventions: explicit bucket boundaries, in seconds (shared with the OTLP push).
const HISTOGRAMS = [
  {
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of GenAI operations through the proxy (gen_ai.client.operation.duration).',
    measure: 'latency',
    bounds: GEN_AI_METRICS.operationDuration.buckets,
  },
  {
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Time to generate the first token, streamed requests (gen_ai.server.time_to_first_token).',
    measure: 'ttft',
    bounds: GEN_AI_METRICS.timeToFirstToken.buckets,
  },
  {
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Time per output token after the first (gen_ai.server.time_per_output_token).',
    measure: 'tpot',
    bounds: GEN_AI_METRICS.timePerOutputToken.buckets,
  },
  {
    name: 'llm_proxy_overhead_seconds',
    help: 'Time the proxy itself added to a request: before it left for the backend, and after the backend\'s last byte.',
    measure: 'overhead',
    bounds: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  },
] as const

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6))

/**
 * `GET /metrics/prometheus`: all-time counters and histograms from the day rollups, which retention
 * never deletes, so nothing goes backwards when raw rows are removed or either process restarts.
 * Bucket counts come from the 1%-accurate log histograms.
 */
export async function renderPrometheus(db: Snapshot | null, now = Date.now()): Promise<string> {
  // Days before today are history (reused while unchanged); today's rows change with every batch.
  const rows: RollupRow[] = []
  if (db) {
    for (const part of splitAtCurrentBucket({ from: 0, to: Number.MAX_SAFE_INTEGER }, 'day', now)) {
      rows.push(...(await readRollup<RollupRow>(db, part, { table: 'rollup_day', select: '*', where: '', changes: 'requests' }, {})))
    }
  }
  const keys = db ? await db.all<{ id: string; name: string; budget_tokens: number | null; budget_usd: number | null; budget_period: 'day' | 'month' }>('SELECT id, name, budget_tokens, budget_usd, budget_period FROM api_keys ORDER BY name, id') : []
  const keyName = new Map(keys.map((k) => [k.id, k.name]))
  const requests = new Map<string, number>()
  const tokens = new Map<string, number>()
  const cost = new Map<string, number>()
  const hists = new Map<string, { hist: LogHistogram; sum: number; n: number }>()
  for (const r of rows) {
    const model = escape(r.model)
    // Requests made with a proxy key carry its name: a bounded label, since keys are made by hand.
    const key = r.key_id ? `,key="${escape(keyName.get(r.key_id) ?? r.key_id)}"` : ''
    // The endpoint ('' for rollups written before it was kept) and the key, when there is one.
    const endpoint = r.endpoint ? `,endpoint="${escape(r.endpoint)}"` : ''
    const rk = `model="${model}",outcome="${r.outcome}",status_code="${r.status_code || ''}"${endpoint}${key}`
    requests.set(rk, (requests.get(rk) ?? 0) + r.requests)
    for (const [type, v] of [['prompt', r.prompt_tokens], ['completion', r.completion_tokens], ['cached', r.cached_tokens], ['reasoning', r.reasoning_tokens]] as const) {
      const tk = `model="${model}",type="${type}"${endpoint}${key}`
      tokens.set(tk, (tokens.get(tk) ?? 0) + v)
    }
    if (r.cost_usd > 0) {
      const ck = `model="${model}"${key}`
      cost.set(ck, (cost.get(ck) ?? 0) + r.cost_usd)
    }
    for (const h of HISTOGRAMS) {
      const n = r[`${h.measure}_n`]
      if (!n) continue
      const key = `${h.name}\u0000${model}`
      let acc = hists.get(key)
      if (!acc) hists.set(key, (acc = { hist: new LogHistogram(), sum: 0, n: 0 }))
      acc.hist.mergeBlob(r[`${h.measure}_hist`])
      acc.sum += r[`${h.measure}_sum`]
      acc.n += n
    }
  }

  const out: string[] = []
  out.push('# HELP llm_proxy_requests_total Requests recorded by the proxy, by model, outcome and status code.')
  out.push('# TYPE llm_proxy_requests_total counter')
  for (const [k, v] of [...requests].sort()) out.push(`llm_proxy_requests_total{${k}} ${v}`)
  out.push('# HELP llm_proxy_tokens_total Tokens reported by the backend (gen_ai.client.token.usage), by model and type.')
  out.push('# TYPE llm_proxy_tokens_total counter')
  for (const [k, v] of [...tokens].sort()) out.push(`llm_proxy_tokens_total{${k}} ${v}`)
  out.push('# HELP llm_proxy_cost_usd_total Estimated cost in US dollars of the requests that had a price (PRICES_FILE or the bundled table), by model.')
  out.push('# TYPE llm_proxy_cost_usd_total counter')
  for (const [k, v] of [...cost].sort()) out.push(`llm_proxy_cost_usd_total{${k}} ${String(Math.round(v * 1e9) / 1e9)}`)
  for (const h of HISTOGRAMS) {
    out.push(`# HELP ${h.name} ${h.help}`)
    out.push(`# TYPE ${h.name} histogram`)
    for (const [key, acc] of [...hists].filter(([k]) => k.startsWith(h.name + '\u0000')).sort()) {
      const model = key.slice(h.name.length + 1)
      for (const b of h.bounds) out.push(`${h.name}_bucket{model="${model}",le="${b}"} ${acc.hist.countAtMost(b * 1000)}`)
      out.push(`${h.name}_bucket{model="${model}",le="+Inf"} ${acc.n}`)
      out.push(`${h.name}_sum{model="${model}"} ${num(acc.sum / 1000)}`)
      out.push(`${h.name}_count{model="${model}"} ${acc.n}`)
    }
  }
  if (keys.some((k) => k.budget_tokens !== null || k.budget_usd !== null)) {
    // What each key used of its budget this period, summed over every proxy (key_counters).
    const day = now - (now % 86_400_000)
    const d = new Date(now)
    const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    const used = new Map<string, { tokens: number; cost: number }>()
    for (const c of await db!.all<{ key_id: string; kind: string; tokens: number; cost_usd: number }>(
      `SELECT key_id, kind, sum(tokens) AS tokens, sum(cost_usd) AS cost_usd FROM key_counters
       WHERE (kind = 'day' AND window_start = @day) OR (kind = 'month' AND window_start = @month) GROUP BY key_id, kind`, { day, month })) {
      used.set(`${c.key_id}\u0000${c.kind}`, { tokens: c.tokens, cost: c.cost_usd })
    }
    const limits: string[] = []
    const usedLines: string[] = []
    for (const k of keys) {
      const u = used.get(`${k.id}\u0000${k.budget_period}`) ?? { tokens: 0, cost: 0 }
      for (const [budget, limit, value] of [['tokens', k.budget_tokens, u.tokens], ['cost_usd', k.budget_usd, u.cost]] as const) {
        if (limit === null) continue
        const labels = `key="${escape(k.name)}",budget="${budget}",period="${k.budget_period}"`
        limits.push(`llm_proxy_key_budget_limit{${labels}} ${num(limit)}`)
        usedLines.push(`llm_proxy_key_budget_used{${labels}} ${num(value)}`)
      }
    }
    out.push('# HELP llm_proxy_key_budget_used What each proxy key used of its budget in the current day or month, over every proxy.')
    out.push('# TYPE llm_proxy_key_budget_used gauge', ...usedLines)
    out.push('# HELP llm_proxy_key_budget_limit Each proxy key\'s budget for its period.')
    out.push('# TYPE llm_proxy_key_budget_limit gauge', ...limits)
  }
  return out.join('\n') + '\n'
}
