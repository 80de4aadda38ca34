import { FAILED_OUTCOMES, LogHistogram, OUTCOMES, measuresOf, modelOf, type Measure, type Outcome, type RequestRow } from '@llm-proxy/core'
import type { Stats } from '@llm-proxy/core/contracts'

/** One measure (latency, TTFT, ...) over many requests: count, sum, max and a 1%-accurate histogram. */
export class MeasureAgg {
  n = 0
  sum = 0
  max: number | null = null
  readonly hist = new LogHistogram()

  constructor(private readonly keepHist: boolean) {}

  add(v: number | null): void {
    if (v === null) return
    this.n++
    this.sum += v
    this.max = this.max === null ? v : Math.max(this.max, v)
    if (this.keepHist) this.hist.add(v)
  }

  mergeRollup(n: number, sum: number, max: number | null, hist: Uint8Array | null): void {
    if (!n) return
    this.n += n
    this.sum += sum
    if (max !== null) this.max = this.max === null ? max : Math.max(this.max, max)
    if (this.keepHist) this.hist.mergeBlob(hist)
  }

  avg(): number | null {
    return this.n ? this.sum / this.n : null
  }

  stats(): Stats {
    return {
      avg: round(this.avg()),
      p50: round(this.hist.quantile(50)),
      p90: round(this.hist.quantile(90)),
      p95: round(this.hist.quantile(95)),
      p99: round(this.hist.quantile(99)),
      max: round(this.max),
    }
  }
}

/** Dollars to a billionth of a cent: float noise off. */
export const roundUsd = (v: number) => Math.round(v * 1e11) / 1e11

export const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000)

/** A raw row as the queries select it (SQLite integers for booleans). */
export type RawRow = Pick<
  RequestRow,
  'ts' | 'model' | 'model_requested' | 'outcome' | 'status_code' | 'total_ms' | 'ttft_ms' | 'tpot_ms' | 'output_tps' |
  'prompt_tokens' | 'completion_tokens' | 'total_tokens' | 'cached_tokens' | 'reasoning_tokens' | 'user' | 'error_type' | 'error_message' |
  'cost_usd'
> & { stream: number; tokens_estimated: number }

export const RAW_COLUMNS =
  'ts, model, model_requested, stream, outcome, status_code, total_ms, ttft_ms, tpot_ms, output_tps, prompt_tokens, ' +
  'completion_tokens, total_tokens, cached_tokens, reasoning_tokens, tokens_estimated, user, error_type, error_message, cost_usd'

/** A rollup row as stored (see core/src/db/rollups.ts). */
export type RollupRow = {
  bucket: number; model: string; stream: number; outcome: Outcome; status_code: number; requests: number
  prompt_tokens: number; completion_tokens: number; total_tokens: number; cached_tokens: number; reasoning_tokens: number
  with_usage: number; estimated: number; last_ts: number; cost_usd: number; with_cost: number
} & Record<`${Measure}_n`, number> & Record<`${Measure}_sum`, number> & Record<`${Measure}_max`, number | null> & Record<`${Measure}_hist`, Uint8Array | null>

const MEASURES: Measure[] = ['latency', 'ttft', 'tpot', 'tps']

/** Everything the summary, a model row or a time bucket needs, from raw rows and rollups alike. */
export class Agg {
  total = 0
  streaming = 0
  lastTs = 0
  readonly outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>
  readonly measures: Record<Measure, MeasureAgg>
  readonly tokens = { prompt: 0, completion: 0, total: 0, cached: 0, reasoning: 0, requests_with_usage: 0, estimated: 0 }
  readonly cost = { usd: 0, requests: 0 }

  /** Total cost in US dollars, or null when no request had a price. */
  costUsd(): number | null {
    return this.cost.requests ? roundUsd(this.cost.usd) : null
  }

  /** `hists`: the measures whose percentiles are needed (the rest keep count, sum and max only). */
  constructor(hists: readonly Measure[] = MEASURES) {
    this.measures = Object.fromEntries(MEASURES.map((m) => [m, new MeasureAgg(hists.includes(m))])) as Record<Measure, MeasureAgg>
  }

  addRaw(r: RawRow): void {
    this.total++
    this.outcomes[r.outcome]++
    if (r.stream) this.streaming++
    this.lastTs = Math.max(this.lastTs, r.ts)
    const values = measuresOf({ ...r, stream: Boolean(r.stream), tokens_estimated: Boolean(r.tokens_estimated) } as RequestRow)
    for (const m of MEASURES) this.measures[m].add(values[m])
    const t = this.tokens
    t.prompt += r.prompt_tokens ?? 0
    t.completion += r.completion_tokens ?? 0
    t.total += r.total_tokens ?? 0
    t.cached += r.cached_tokens ?? 0
    t.reasoning += r.reasoning_tokens ?? 0
    if (r.completion_tokens !== null && !r.tokens_estimated) t.requests_with_usage++
    if (r.tokens_estimated) t.estimated++
    if (r.cost_usd !== null) {
      this.cost.usd += r.cost_usd
      this.cost.requests++
    }
  }

  addRollup(r: RollupRow): void {
    this.total += r.requests
    this.outcomes[r.outcome] += r.requests
    if (r.stream) this.streaming += r.requests
    this.lastTs = Math.max(this.lastTs, r.last_ts)
    for (const m of MEASURES) this.measures[m].mergeRollup(r[`${m}_n`], r[`${m}_sum`], r[`${m}_max`], r[`${m}_hist`])
    const t = this.tokens
    t.prompt += r.prompt_tokens
    t.completion += r.completion_tokens
    t.total += r.total_tokens
    t.cached += r.cached_tokens
    t.reasoning += r.reasoning_tokens
    t.requests_with_usage += r.with_usage
    t.estimated += r.estimated
    this.cost.usd += r.cost_usd
    this.cost.requests += r.with_cost
  }

  get failed(): number {
    return FAILED_OUTCOMES.reduce((n, o) => n + this.outcomes[o], 0)
  }

  /** success / (success + failed); cancelled requests are reported apart (DESIGN.md §4). */
  successRate(): number | null {
    const finished = this.outcomes.success + this.failed
    return finished ? round(this.outcomes.success / finished) : null
  }
}

export { modelOf }
