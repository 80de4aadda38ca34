import { RollupAcc, modelOf, round, type RequestRow } from '@llm-proxy/core'

export { modelOf, round }

/** A raw row as the queries select it (0/1 integers for booleans, on both engines). */
export type RawRow = Pick<
  RequestRow,
  'ts' | 'model' | 'model_requested' | 'outcome' | 'status_code' | 'total_ms' | 'ttft_ms' | 'tpot_ms' | 'output_tps' |
  'prompt_tokens' | 'completion_tokens' | 'total_tokens' | 'cached_tokens' | 'reasoning_tokens' | 'user' | 'error_type' | 'error_message' | 'cost_usd' | 'key_id' | 'overhead_ms'
> & { stream: number; tokens_estimated: number }

export const RAW_COLUMNS =
  'ts, model, model_requested, stream, outcome, status_code, total_ms, ttft_ms, tpot_ms, output_tps, prompt_tokens, ' +
  'completion_tokens, total_tokens, cached_tokens, reasoning_tokens, tokens_estimated, "user", error_type, error_message, cost_usd, key_id, overhead_ms'

/** Everything the summary, a model row or a time bucket needs, from raw rows and rollups alike. */
export class Agg extends RollupAcc {
  get total(): number {
    return this.requests
  }

  addRaw(r: RawRow): void {
    // 0/1 integers read as the booleans they stand for.
    this.addRow(r as unknown as RequestRow)
  }

  /** True when every measure that keeps percentiles holds its exact values. */
  get exact(): boolean {
    return Object.values(this.measures).every((m) => m.exact)
  }
}
