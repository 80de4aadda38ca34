import { FAILED_OUTCOMES, nearestRank, type RequestRow } from '@llm-proxy/core'

/** The summary computed the slow, obvious way from the rows themselves, for comparison. */
export function bruteSummary(rows: RequestRow[], start: number, end: number, f: { model?: string; stream?: boolean; outcome?: string; user?: string; endpoint?: string } = {}) {
  const inWindow = rows.filter(
    (r) =>
      r.ts >= start && r.ts < end &&
      (f.model === undefined || (r.model ?? r.model_requested ?? '') === f.model) &&
      (f.stream === undefined || r.stream === f.stream) &&
      (f.outcome === undefined || r.outcome === f.outcome) &&
      (f.user === undefined || r.user === f.user) &&
      (f.endpoint === undefined || r.endpoint === f.endpoint),
  )
  const finished = inWindow.filter((r) => r.outcome !== 'cancelled')
  const values = (pick: (r: RequestRow) => number | null) => finished.map(pick).filter((v): v is number => v !== null).sort((a, b) => a - b)
  const stats = (vals: number[]) => ({
    avg: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null,
    p50: nearestRank(vals, 50), p90: nearestRank(vals, 90), p95: nearestRank(vals, 95), p99: nearestRank(vals, 99),
    max: vals.length ? vals[vals.length - 1] : null,
  })
  const count = (o: string) => inWindow.filter((r) => r.outcome === o).length
  const failed = FAILED_OUTCOMES.reduce((n, o) => n + count(o), 0)
  return {
    total: inWindow.length,
    success: count('success'),
    failed,
    cancelled: count('cancelled'),
    success_rate: count('success') + failed ? count('success') / (count('success') + failed) : null,
    streaming: inWindow.filter((r) => r.stream).length,
    latency: stats(values((r) => r.total_ms)),
    ttft: stats(values((r) => r.ttft_ms)),
    tpot: stats(values((r) => r.tpot_ms)),
    tps: stats(values((r) => r.output_tps)),
    overhead: stats(values((r) => r.overhead_ms)),
    prompt: inWindow.reduce((n, r) => n + (r.prompt_tokens ?? 0), 0),
    completion: inWindow.reduce((n, r) => n + (r.completion_tokens ?? 0), 0),
    cost: inWindow.reduce((n, r) => n + (r.cost_usd ?? 0), 0),
    withCost: inWindow.filter((r) => r.cost_usd !== null).length,
    rows: inWindow,
  }
}
