import { FAILED_OUTCOMES, OUTCOMES, type Outcome, type RequestRow } from './row.js'
import { LogHistogram, bucketOf } from './histogram.js'
import { saturationLevelGroup } from './contracts/saturation-levels.js'

/**
 * The rollup shape, written by the proxies and read by the metrics API: one definition of what is
 * kept per bucket and one accumulation (`RollupAcc`) used on both sides.
 *
 * Four levels; each rollup row covers one aligned bucket (UTC) for one (model, stream, outcome,
 * status) key, and is merged by adding (`INSERT … ON CONFLICT DO UPDATE`), so any number of writers
 * can add to the same bucket.
 */
export const LEVELS = [
  { name: 'minute', ms: 60_000 },
  { name: 'hour', ms: 3_600_000 },
  // Half days let a 30-day series (60 points of 12 h) read 60 rows per key, not 720.
  { name: 'halfday', ms: 43_200_000 },
  { name: 'day', ms: 86_400_000 },
] as const
export type LevelName = (typeof LEVELS)[number]['name']

/** Per-user counts are kept per hour and per day only (the costliest rollup to write). */
export const USER_LEVELS: readonly LevelName[] = ['hour', 'day']

/** Timing measures kept with percentiles; `overhead` is the time the proxy itself added. */
export const MEASURES = ['latency', 'ttft', 'tpot', 'tps', 'overhead'] as const
export type Measure = (typeof MEASURES)[number]
/** Each measure's column names, made once (a name built per access cost more than the read). */
const columnsOf = <M extends string>(m: M) => ({ m, n: `${m}_n` as const, sum: `${m}_sum` as const, min: `${m}_min` as const, max: `${m}_max` as const, hist: `${m}_hist` as const })
const MEASURE_COLUMNS = MEASURES.map(columnsOf)
export const TOKENS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens'] as const
export type TokenColumn = (typeof TOKENS)[number]

/** The columns that make a rollup row's key; `key_id` is '' for requests without a proxy key. */
export const ROLLUP_KEY = ['bucket', 'model', 'stream', 'outcome', 'status_code', 'key_id', 'endpoint'] as const
/** Columns merged by adding. */
export const ROLLUP_SUMS = ['requests', ...MEASURES.flatMap((m) => [`${m}_n`, `${m}_sum`] as const), ...TOKENS, 'with_usage', 'estimated', 'cost_usd', 'priced'] as const
/** Every stored column of a rollup row, in order. */
export const ROLLUP_COLUMNS = [
  ...ROLLUP_KEY, 'requests',
  ...MEASURES.flatMap((m) => [`${m}_n`, `${m}_sum`, `${m}_min`, `${m}_max`, `${m}_hist`] as const),
  ...TOKENS, 'with_usage', 'estimated', 'cost_usd', 'priced', 'last_ts',
] as const

/** A rollup row as stored (histograms as int32 pairs, index then count, ascending). */
export type RollupRow = {
  bucket: number; model: string; stream: number; outcome: Outcome; status_code: number; key_id: string; endpoint: string; requests: number
  with_usage: number; estimated: number; cost_usd: number; priced: number; last_ts: number
} & Record<TokenColumn, number> & Record<`${Measure}_n`, number> & Record<`${Measure}_sum`, number>
  & Record<`${Measure}_min` | `${Measure}_max`, number | null> & Record<`${Measure}_hist`, Uint8Array | null>

export interface ErrorRollupRow {
  bucket: number; model: string; stream: number; outcome: string; error_type: string; status_code: number; key_id: string
  count: number; last_ts: number; last_message: string | null
}
/** Every stored column of an error rollup row, in order. */
export const ERROR_COLUMNS = ['bucket', 'model', 'stream', 'outcome', 'error_type', 'status_code', 'key_id', 'count', 'last_ts', 'last_message'] as const satisfies readonly (keyof ErrorRollupRow)[]
/** Every stored column of a user count row (`users_<level>`), in order. */
export const USER_COLUMNS = ['bucket', 'user', 'model', 'stream', 'key_id', 'requests'] as const

/** The model a row is reported under: the backend's name, else what the client asked for. */
export const modelOf = (row: Pick<RequestRow, 'model' | 'model_requested'>) => row.model ?? row.model_requested ?? ''

/** Timing measures of a row; cancelled requests do not count toward latency figures. */
export function measuresOf(row: Pick<RequestRow, 'outcome' | 'total_ms' | 'ttft_ms' | 'tpot_ms' | 'output_tps' | 'overhead_ms'>): Record<Measure, number | null> {
  if (row.outcome === 'cancelled') return { latency: null, ttft: null, tpot: null, tps: null, overhead: null }
  return { latency: row.total_ms, ttft: row.ttft_ms, tpot: row.tpot_ms, tps: row.output_tps, overhead: row.overhead_ms ?? null }
}

export const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000)

/**
 * Up to this many values of a measure are kept as they are, so small windows get exact
 * nearest-rank percentiles; past it, the 1%-accurate histogram answers.
 */
export const EXACT_LIMIT = 5_000

/**
 * One measure over many requests: count, sum, min, max and its distribution. While every value came
 * from a raw row and there are at most EXACT_LIMIT of them, the values themselves are kept (exact
 * percentiles, and a proxy's batch stores them as a histogram without building one in memory);
 * past that, or once a stored histogram is merged in, a 1%-accurate LogHistogram takes over.
 */
export class MeasureAgg {
  n = 0
  sum = 0
  min: number | null = null
  max: number | null = null
  private values: number[] | null = []
  private histogram: LogHistogram | null = null

  constructor(private readonly keepHist = true) {}

  /** The histogram, built from the kept values on first use. */
  get hist(): LogHistogram {
    if (!this.histogram) {
      this.histogram = new LogHistogram()
      if (this.values) for (const v of this.values) this.histogram.add(v)
    }
    return this.histogram
  }

  add(v: number | null): void {
    if (v === null) return
    this.n++
    this.sum += v
    this.min = this.min === null ? v : Math.min(this.min, v)
    this.max = this.max === null ? v : Math.max(this.max, v)
    if (!this.keepHist) return
    if (this.values && this.values.length < EXACT_LIMIT) this.values.push(v)
    else {
      this.hist.add(v)
      this.values = null
    }
  }

  merge(n: number, sum: number, min: number | null, max: number | null, blob: Uint8Array | null): void {
    if (!n) return
    this.n += n
    this.sum += sum
    if (min !== null) this.min = this.min === null ? min : Math.min(this.min, min)
    if (max !== null) this.max = this.max === null ? max : Math.max(this.max, max)
    if (!this.keepHist) return
    this.hist.mergeBlob(blob)
    this.values = null
  }

  /** Adds another aggregate of the same measure: values stay exact while both are and fit. */
  absorb(o: MeasureAgg): void {
    if (!o.n) return
    if (this.keepHist && o.values && this.values && this.values.length + o.values.length <= EXACT_LIMIT) {
      this.n += o.n
      this.sum += o.sum
      this.min = this.min === null ? o.min : Math.min(this.min, o.min!)
      this.max = this.max === null ? o.max : Math.max(this.max, o.max!)
      for (const v of o.values) this.values.push(v)
    } else this.merge(o.n, o.sum, o.min, o.max, o.keepHist ? o.toBlob() : null)
  }

  get exact(): boolean {
    return this.values !== null
  }

  avg(): number | null {
    return this.n ? this.sum / this.n : null
  }

  /** The stored form of the distribution: (bucket index, count) pairs, ascending. */
  toBlob(): Buffer | null {
    if (this.n === 0 || !this.keepHist) return null
    if (this.values) return histBlobOf(this.values)
    return this.hist.toBlob()
  }

  /** Nearest rank: exact while the values are kept, else from the histogram, never outside [min, max]. */
  quantile(p: number): number | null {
    if (this.n === 0 || !this.keepHist) return null
    if (this.values) {
      this.values.sort((a, b) => a - b)
      const rank = Math.max(1, Math.ceil((p / 100) * this.values.length))
      return this.values[Math.min(rank, this.values.length) - 1]
    }
    const q = this.hist.quantile(p)
    if (q === null) return null
    let v = q
    if (this.max !== null && v > this.max) v = this.max
    if (this.min !== null && v < this.min) v = this.min
    return v
  }

  stats(): { avg: number | null; p50: number | null; p90: number | null; p95: number | null; p99: number | null; max: number | null } {
    return {
      avg: round(this.avg()),
      p50: round(this.quantile(50)),
      p90: round(this.quantile(90)),
      p95: round(this.quantile(95)),
      p99: round(this.quantile(99)),
      max: round(this.max),
    }
  }
}

/** A histogram blob straight from values: bucket indexes sorted and counted, no bucket array. */
export function histBlobOf(values: readonly number[]): Buffer {
  const idx = Int32Array.from(values, bucketOf).sort()
  const pairs = new Int32Array(idx.length * 2)
  let n = 0
  for (let i = 0; i < idx.length; ) {
    let j = i + 1
    while (j < idx.length && idx[j] === idx[i]) j++
    pairs[n++] = idx[i]
    pairs[n++] = j - i
    i = j
  }
  return Buffer.from(pairs.buffer, 0, n * 4)
}

/**
 * Everything kept per rollup key, and everything a summary, model row or time bucket needs: the
 * proxies fill it from rows and store it; the metrics API fills it from rollup rows and raw rows.
 */
export class RollupAcc {
  requests = 0
  streaming = 0
  lastTs = 0
  readonly outcomes: Record<Outcome, number> = { success: 0, cancelled: 0, client_error: 0, backend_error: 0, network_error: 0 }
  readonly measures: Record<Measure, MeasureAgg>
  readonly tokens: Record<TokenColumn, number> = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cached_tokens: 0, reasoning_tokens: 0 }
  withUsage = 0
  estimated = 0
  cost = 0
  /** Requests with a price: with none, the cost is unknown (null), not 0. */
  priced = 0

  /** `hists`: the measures whose percentiles are needed (the rest keep count, sum, min and max). */
  constructor(hists: readonly Measure[] = MEASURES) {
    this.measures = {
      latency: new MeasureAgg(hists.includes('latency')),
      ttft: new MeasureAgg(hists.includes('ttft')),
      tpot: new MeasureAgg(hists.includes('tpot')),
      tps: new MeasureAgg(hists.includes('tps')),
      overhead: new MeasureAgg(hists.includes('overhead')),
    }
  }

  addRow(r: Pick<RequestRow, 'ts' | 'outcome' | 'stream' | 'total_ms' | 'ttft_ms' | 'tpot_ms' | 'output_tps' | 'overhead_ms' | TokenColumn | 'tokens_estimated' | 'cost_usd'>): void {
    this.requests++
    this.outcomes[r.outcome]++
    if (r.stream) this.streaming++
    if (r.ts > this.lastTs) this.lastTs = r.ts
    const values = measuresOf(r)
    for (const m of MEASURES) this.measures[m].add(values[m])
    const t = this.tokens
    t.prompt_tokens += r.prompt_tokens ?? 0
    t.completion_tokens += r.completion_tokens ?? 0
    // Totals always add up: prompt + completion, whatever the backend's own total said.
    t.total_tokens += (r.prompt_tokens ?? 0) + (r.completion_tokens ?? 0)
    t.cached_tokens += r.cached_tokens ?? 0
    t.reasoning_tokens += r.reasoning_tokens ?? 0
    if (r.completion_tokens !== null && !r.tokens_estimated) this.withUsage++
    if (r.tokens_estimated) this.estimated++
    this.cost += r.cost_usd ?? 0
    if (r.cost_usd !== null && r.cost_usd !== undefined) this.priced++
  }

  /** The summed cost, or null when no request in it had a price. */
  costOrNull(digits = 1e9): number | null {
    return this.priced > 0 ? Math.round(this.cost * digits) / digits : null
  }

  addRollup(r: RollupRow): void {
    this.requests += r.requests
    this.outcomes[r.outcome] += r.requests
    if (r.stream) this.streaming += r.requests
    if (r.last_ts > this.lastTs) this.lastTs = r.last_ts
    for (const c of MEASURE_COLUMNS) this.measures[c.m].merge(r[c.n], r[c.sum], r[c.min] ?? null, r[c.max] ?? null, r[c.hist])
    const t = this.tokens
    t.prompt_tokens += r.prompt_tokens
    t.completion_tokens += r.completion_tokens
    t.total_tokens += r.prompt_tokens + r.completion_tokens
    t.cached_tokens += r.cached_tokens
    t.reasoning_tokens += r.reasoning_tokens
    this.withUsage += r.with_usage
    this.estimated += r.estimated
    this.cost += r.cost_usd ?? 0
    this.priced += r.priced ?? 0
  }

  /** Adds another accumulator (a batch's minute group into its hour, say). */
  absorb(o: RollupAcc): void {
    this.requests += o.requests
    this.streaming += o.streaming
    if (o.lastTs > this.lastTs) this.lastTs = o.lastTs
    for (const k of OUTCOMES) this.outcomes[k] += o.outcomes[k]
    for (const m of MEASURES) this.measures[m].absorb(o.measures[m])
    for (const t of TOKENS) this.tokens[t] += o.tokens[t]
    this.withUsage += o.withUsage
    this.estimated += o.estimated
    this.cost += o.cost
    this.priced += o.priced
  }

  get failed(): number {
    return FAILED_OUTCOMES.reduce((n, o) => n + this.outcomes[o], 0)
  }

  /** success / (success + failed); cancelled requests are reported apart. */
  successRate(): number | null {
    const finished = this.outcomes.success + this.failed
    return finished ? round(this.outcomes.success / finished) : null
  }

  /** The stored form, for the key it was accumulated under (a literal, so every row has one shape). */
  toRollupRow(key: Pick<RollupRow, (typeof ROLLUP_KEY)[number]>): RollupRow {
    const { latency, ttft, tpot, tps, overhead } = this.measures
    const t = this.tokens
    return {
      bucket: key.bucket, model: key.model, stream: key.stream, outcome: key.outcome, status_code: key.status_code, key_id: key.key_id, endpoint: key.endpoint,
      requests: this.requests,
      latency_n: latency.n, latency_sum: latency.sum, latency_min: latency.min, latency_max: latency.max, latency_hist: latency.toBlob(),
      ttft_n: ttft.n, ttft_sum: ttft.sum, ttft_min: ttft.min, ttft_max: ttft.max, ttft_hist: ttft.toBlob(),
      tpot_n: tpot.n, tpot_sum: tpot.sum, tpot_min: tpot.min, tpot_max: tpot.max, tpot_hist: tpot.toBlob(),
      tps_n: tps.n, tps_sum: tps.sum, tps_min: tps.min, tps_max: tps.max, tps_hist: tps.toBlob(),
      overhead_n: overhead.n, overhead_sum: overhead.sum, overhead_min: overhead.min, overhead_max: overhead.max, overhead_hist: overhead.toBlob(),
      prompt_tokens: t.prompt_tokens, completion_tokens: t.completion_tokens, total_tokens: t.total_tokens,
      cached_tokens: t.cached_tokens, reasoning_tokens: t.reasoning_tokens,
      with_usage: this.withUsage, estimated: this.estimated, cost_usd: this.cost, priced: this.priced, last_ts: this.lastTs,
    }
  }
}

/** What one batch adds to one level: rollup rows, user counts and error counts, pre-merged per key. */
export interface LevelDelta {
  level: LevelName
  rollups: RollupRow[]
  users: { bucket: number; user: string; model: string; stream: number; key_id: string; requests: number }[]
  errors: ErrorRollupRow[]
  /** Saturation rollup rows (SAT_LEVELS only; empty at the other levels). */
  saturation: SatRollupRow[]
}

/**
 * Saturation rollups: successful requests with an in-flight count, per hour and per day only (a
 * window's ragged edges read raw rows, which carry `inflight`). Keyed by the level group, not the
 * level, so a key holds at most ~12 groups.
 */
export const SAT_LEVELS: readonly LevelName[] = ['hour', 'day']
export const SAT_MEASURES = ['latency', 'ttft', 'tps'] as const
export type SatMeasure = (typeof SAT_MEASURES)[number]
const SAT_MEASURE_COLUMNS = SAT_MEASURES.map(columnsOf)
export const SAT_KEY = ['bucket', 'model', 'stream', 'key_id', 'endpoint', 'level'] as const
/** Columns merged by adding: `tokens` and `token_ms` are the completion tokens and total ms of requests that have both. */
export const SAT_SUMS = ['requests', 'inflight_sum', 'tokens', 'token_ms', ...SAT_MEASURES.flatMap((m) => [`${m}_n`, `${m}_sum`] as const)] as const
export const SAT_COLUMNS = [
  ...SAT_KEY, 'requests', 'inflight_sum', 'tokens', 'token_ms',
  ...SAT_MEASURES.flatMap((m) => [`${m}_n`, `${m}_sum`, `${m}_min`, `${m}_max`, `${m}_hist`] as const),
] as const
export type SatRollupRow = {
  bucket: number; model: string; stream: number; key_id: string; endpoint: string; level: number
  requests: number; inflight_sum: number; tokens: number; token_ms: number
} & Record<`${SatMeasure}_n` | `${SatMeasure}_sum`, number> & Record<`${SatMeasure}_min` | `${SatMeasure}_max`, number | null> & Record<`${SatMeasure}_hist`, Uint8Array | null>

/** What a saturation rollup key (or a level group of the answer) accumulates. */
export class SatAcc {
  requests = 0
  inflightSum = 0
  tokens = 0
  tokenMs = 0
  readonly latency = new MeasureAgg()
  readonly ttft = new MeasureAgg()
  readonly tps = new MeasureAgg()

  addRow(r: { inflight: number | null; total_ms: number | null; ttft_ms: number | null; output_tps: number | null; completion_tokens: number | null }): void {
    this.requests++
    this.inflightSum += r.inflight ?? 0
    this.latency.add(r.total_ms)
    this.ttft.add(r.ttft_ms)
    this.tps.add(r.output_tps)
    if (r.completion_tokens !== null && r.total_ms !== null) {
      this.tokens += r.completion_tokens
      this.tokenMs += r.total_ms
    }
  }

  absorb(o: SatAcc): void {
    this.requests += o.requests
    this.inflightSum += o.inflightSum
    this.tokens += o.tokens
    this.tokenMs += o.tokenMs
    for (const m of SAT_MEASURES) this[m].absorb(o[m])
  }

  addRollup(r: SatRollupRow): void {
    this.requests += r.requests
    this.inflightSum += r.inflight_sum
    this.tokens += r.tokens
    this.tokenMs += r.token_ms
    for (const c of SAT_MEASURE_COLUMNS) this[c.m].merge(r[c.n], r[c.sum], r[c.min] ?? null, r[c.max] ?? null, r[c.hist])
  }

  toRow(key: Pick<SatRollupRow, (typeof SAT_KEY)[number]>): SatRollupRow {
    const { latency, ttft, tps } = this
    return {
      bucket: key.bucket, model: key.model, stream: key.stream, key_id: key.key_id, endpoint: key.endpoint, level: key.level,
      requests: this.requests, inflight_sum: this.inflightSum, tokens: this.tokens, token_ms: this.tokenMs,
      latency_n: latency.n, latency_sum: latency.sum, latency_min: latency.min, latency_max: latency.max, latency_hist: latency.toBlob(),
      ttft_n: ttft.n, ttft_sum: ttft.sum, ttft_min: ttft.min, ttft_max: ttft.max, ttft_hist: ttft.toBlob(),
      tps_n: tps.n, tps_sum: tps.sum, tps_min: tps.min, tps_max: tps.max, tps_hist: tps.toBlob(),
    }
  }
}

/** Whether a row counts toward saturation: successful, with an in-flight count of at least 1. */
export const countsForSaturation = (r: Pick<RequestRow, 'outcome' | 'inflight'>): boolean => r.outcome === 'success' && r.inflight !== null && r.inflight !== undefined && r.inflight >= 1

/**
 * Groups a batch into one delta per level, keys sorted so concurrent writers take row locks in the
 * same order (no deadlocks on PostgreSQL). The rows are read once, grouped per minute (the finest
 * level); the coarser levels merge those minute groups (a proxy's batch holds a handful) instead of
 * reading every row again.
 */
export function rollupDeltas(rows: readonly RequestRow[]): LevelDelta[] {
  const minuteMs = LEVELS[0].ms
  const groups = new Map<string, MinuteGroup<Pick<RollupRow, (typeof ROLLUP_KEY)[number]>, RollupAcc>>()
  const users = new Map<string, MinuteGroup<LevelDelta['users'][number], null>>()
  const errors = new Map<string, MinuteGroup<ErrorRollupRow, null>>()
  const sat = new Map<string, MinuteGroup<Pick<SatRollupRow, (typeof SAT_KEY)[number]>, SatAcc>>()
  for (const row of rows) {
    const bucket = row.ts - (row.ts % minuteMs)
    const model = modelOf(row)
    const stream = row.stream ? 1 : 0
    const status = row.status_code ?? 0
    const keyId = row.key_id ?? ''
    const rest = `${model}\u0000${stream}\u0000${row.outcome}\u0000${status}\u0000${keyId}\u0000${row.endpoint}`
    const k = `${bucket}\u0000${rest}`
    let g = groups.get(k)
    if (!g) groups.set(k, (g = { rest, key: { bucket, model, stream, outcome: row.outcome, status_code: status, key_id: keyId, endpoint: row.endpoint }, acc: new RollupAcc() }))
    g.acc.addRow(row)
    if (row.user) {
      const urest = `${row.user}\u0000${model}\u0000${stream}\u0000${keyId}`
      const uk = `${bucket}\u0000${urest}`
      const u = users.get(uk)
      if (u) u.key.requests++
      else users.set(uk, { rest: urest, key: { bucket, user: row.user, model, stream, key_id: keyId, requests: 1 }, acc: null })
    }
    if (countsForSaturation(row)) {
      const level = saturationLevelGroup(row.inflight!)[0]
      const srest = `${model}\u0000${stream}\u0000${keyId}\u0000${row.endpoint}\u0000${level}`
      const sk = `${bucket}\u0000${srest}`
      let g = sat.get(sk)
      if (!g) sat.set(sk, (g = { rest: srest, key: { bucket, model, stream, key_id: keyId, endpoint: row.endpoint, level }, acc: new SatAcc() }))
      g.acc.addRow(row)
    }
    if (FAILED_OUTCOMES.includes(row.outcome)) {
      const errorType = row.error_type ?? row.outcome
      // Errors are not kept per endpoint: one row per key without it.
      const erest = `${model}\u0000${stream}\u0000${row.outcome}\u0000${status}\u0000${keyId}\u0000${errorType}`
      const ek = `${bucket}\u0000${erest}`
      const e = errors.get(ek)
      if (!e) errors.set(ek, { rest: erest, key: { bucket, model, stream, outcome: row.outcome, error_type: errorType, status_code: status, key_id: keyId, count: 1, last_ts: row.ts, last_message: row.error_message }, acc: null })
      else mergeError(e.key, 1, row.ts, row.error_message)
    }
  }
  const rollupsAt = accumulatedAt(groups, () => new RollupAcc(), (acc, key) => acc.toRollupRow(key))
  const saturationAt = accumulatedAt(sat, () => new SatAcc(), (acc, key) => acc.toRow(key))
  return LEVELS.map(({ name, ms }) => ({
    level: name,
    rollups: rollupsAt(ms),
    users: USER_LEVELS.includes(name)
      ? regroup(users, ms, (u, bucket) => ({ ...u.key, bucket }), (members, bucket) => ({ ...members[0].key, bucket, requests: members.reduce((n, u) => n + u.key.requests, 0) }))
      : [],
    errors: regroup(errors, ms,
      (e, bucket) => (e.key.bucket === bucket ? e.key : { ...e.key, bucket }),
      (members, bucket) => {
        const e = { ...members[0].key, bucket }
        for (const m of members.slice(1)) mergeError(e, m.key.count, m.key.last_ts, m.key.last_message)
        return e
      }),
    saturation: SAT_LEVELS.includes(name) ? saturationAt(ms) : [],
  }))
}

/**
 * Rows of one level from minute groups that carry an accumulator: a group alone in its bucket
 * keeps its minute row (made once for all levels, bucket moved), several are absorbed into a new one.
 */
function accumulatedAt<K extends { bucket: number }, A extends { absorb(o: A): void }, R extends { bucket: number }>(
  groups: Map<string, MinuteGroup<K, A>>, make: () => A, rowOf: (acc: A, key: K) => R,
): (ms: number) => R[] {
  const minuteRows = new Map<MinuteGroup<K, A>, R>()
  return (ms) => regroup(groups, ms,
    (g, bucket) => {
      let row = minuteRows.get(g)
      if (!row) minuteRows.set(g, (row = rowOf(g.acc, g.key)))
      return row.bucket === bucket ? row : { ...row, bucket }
    },
    (members, bucket) => {
      const acc = make()
      for (const g of members) acc.absorb(g.acc)
      return rowOf(acc, { ...members[0].key, bucket })
    })
}

/** A batch's rows under one minute bucket and key: `rest` is the key without the bucket. */
interface MinuteGroup<K extends { bucket: number }, A> {
  rest: string
  key: K
  acc: A
}

function mergeError(e: ErrorRollupRow, count: number, lastTs: number, message: string | null): void {
  e.count += count
  if (lastTs >= e.last_ts) {
    e.last_ts = lastTs
    e.last_message = message
  }
}

/**
 * The minute groups of a batch at one level (bucket width `ms`), in key order: a group alone in its
 * bucket becomes `one` of it, several are merged by `many`.
 */
function regroup<G extends MinuteGroup<{ bucket: number }, unknown>, R>(minute: Map<string, G>, ms: number, one: (g: G, bucket: number) => R, many: (members: G[], bucket: number) => R): R[] {
  const byKey = new Map<string, G[]>()
  for (const g of minute.values()) {
    const k = `${g.key.bucket - (g.key.bucket % ms)}\u0000${g.rest}`
    const members = byKey.get(k)
    if (members) members.push(g)
    else byKey.set(k, [g])
  }
  const keys = [...byKey.keys()].sort()
  return keys.map((k) => {
    const members = byKey.get(k)!
    const bucket = members[0].key.bucket - (members[0].key.bucket % ms)
    return members.length === 1 ? one(members[0], bucket) : many(members, bucket)
  })
}

/** Adds two stored histograms: a merge of two sorted (index, count) lists. */
export function mergeHistBlobs(a: Uint8Array | null, b: Uint8Array | null): Buffer | null {
  if (!a || a.byteLength === 0) return b ? Buffer.from(b) : null
  if (!b || b.byteLength === 0) return Buffer.from(a)
  const x = new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4)
  const y = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4)
  const out = new Int32Array(x.length + y.length)
  let i = 0
  let j = 0
  let n = 0
  while (i < x.length || j < y.length) {
    if (j >= y.length || (i < x.length && x[i] < y[j])) {
      out[n++] = x[i++]
      out[n++] = x[i++]
    } else if (i >= x.length || y[j] < x[i]) {
      out[n++] = y[j++]
      out[n++] = y[j++]
    } else {
      out[n++] = x[i]
      out[n++] = x[i + 1] + y[j + 1]
      i += 2
      j += 2
    }
  }
  return Buffer.from(out.buffer, 0, n * 4)
}
