import type Database from 'better-sqlite3'
import { LogHistogram } from '../histogram.js'
import type { RequestRow } from '../row.js'

/**
 * Aggregates kept beside the raw rows so the metrics API answers over months of data in
 * milliseconds, and so counters survive retention. Four levels; each row of a level covers one
 * aligned bucket (UTC) for one (model, stream, outcome, status) key. The proxy maintains them in the
 * same transaction as the rows they summarize.
 */
export const LEVELS = [
  { name: 'minute', ms: 60_000 },
  { name: 'hour', ms: 3_600_000 },
  // Half days let a 30-day series (60 points of 12 h) read 60 rows per key, not 720.
  { name: 'halfday', ms: 43_200_000 },
  { name: 'day', ms: 86_400_000 },
] as const
export type LevelName = (typeof LEVELS)[number]['name']

/**
 * Per-user counts are kept per hour and per day only (they are the costliest rollup to write); a
 * query reads them for whole hours and counts users from raw rows for the rest.
 */
export const USER_LEVELS: readonly LevelName[] = ['hour', 'day']

export const MEASURES = ['latency', 'ttft', 'tpot', 'tps'] as const
export type Measure = (typeof MEASURES)[number]
const TOKENS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens'] as const

/** The model a row is reported under: the backend's name, else what the client asked for. */
export const modelOf = (row: Pick<RequestRow, 'model' | 'model_requested'>) => row.model ?? row.model_requested ?? ''

/** Timing measures of a row; cancelled requests do not count toward latency figures (DESIGN.md §4). */
export function measuresOf(row: RequestRow): Record<Measure, number | null> {
  if (row.outcome === 'cancelled') return { latency: null, ttft: null, tpot: null, tps: null }
  return { latency: row.total_ms, ttft: row.ttft_ms, tpot: row.tpot_ms, tps: row.output_tps }
}

export function rollupSchemaSql(): string {
  return LEVELS.map(({ name }) => `
    CREATE TABLE rollup_${name} (
      bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
      status_code INTEGER NOT NULL, requests INTEGER NOT NULL,
      ${MEASURES.map((m) => `${m}_n INTEGER NOT NULL, ${m}_sum REAL NOT NULL, ${m}_max REAL, ${m}_hist BLOB`).join(',\n      ')},
      ${TOKENS.map((t) => `${t} INTEGER NOT NULL`).join(', ')},
      with_usage INTEGER NOT NULL, estimated INTEGER NOT NULL, last_ts INTEGER NOT NULL,
      PRIMARY KEY (bucket, model, stream, outcome, status_code)
    ) WITHOUT ROWID;
    ${USER_LEVELS.includes(name) ? `CREATE TABLE users_${name} (
      bucket INTEGER NOT NULL, user TEXT NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, requests INTEGER NOT NULL,
      PRIMARY KEY (bucket, user, model, stream)
    ) WITHOUT ROWID;` : ''}
    CREATE TABLE errors_${name} (
      bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
      error_type TEXT NOT NULL, status_code INTEGER NOT NULL, count INTEGER NOT NULL,
      last_ts INTEGER NOT NULL, last_message TEXT,
      PRIMARY KEY (bucket, model, stream, outcome, error_type, status_code)
    ) WITHOUT ROWID;`).join('\n')
}

/** Fills the rollups from rows already stored (the migration that adds them uses it). */
export function backfillRollups(db: Database.Database): void {
  const write = createRollupWriter(db)
  const select = db.prepare('SELECT * FROM requests WHERE seq > ? ORDER BY seq LIMIT 5000')
  for (let last = 0; ; ) {
    const raw = select.all(last) as (RequestRow & { seq: number })[]
    if (raw.length === 0) break
    write(raw.map((r) => ({ ...r, stream: Boolean(r.stream), tokens_estimated: Boolean(r.tokens_estimated) })))
    last = raw[raw.length - 1].seq
  }
}

interface Group {
  bucket: number
  model: string
  stream: number
  outcome: string
  status_code: number
  requests: number
  measures: Record<Measure, { n: number; sum: number; max: number | null; hist: LogHistogram }>
  tokens: Record<(typeof TOKENS)[number], number>
  with_usage: number
  estimated: number
  cost_usd: number
  with_cost: number
  last_ts: number
}

/** Adds two stored histograms: a merge of two sorted (index, count) lists, no decoding into arrays. */
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

/** Returns the function the request store calls with each batch, inside its transaction. */
export function createRollupWriter(db: Database.Database): (rows: readonly RequestRow[]) => void {
  db.function('hist_merge', { deterministic: true }, (a: unknown, b: unknown) => mergeHistBlobs(a as Uint8Array | null, b as Uint8Array | null))
  // Cost columns arrive with migration 4; migration 2's backfill runs this writer before they exist.
  const COST = db.prepare("SELECT 1 FROM pragma_table_info('rollup_minute') WHERE name = 'cost_usd'").get() !== undefined ? ['cost_usd', 'with_cost'] : []

  const upserts = LEVELS.map(({ name }) => {
    const cols = [
      'bucket', 'model', 'stream', 'outcome', 'status_code', 'requests',
      ...MEASURES.flatMap((m) => [`${m}_n`, `${m}_sum`, `${m}_max`, `${m}_hist`]),
      ...TOKENS, 'with_usage', 'estimated', ...COST, 'last_ts',
    ]
    const add = (c: string) => `${c} = ${c} + excluded.${c}`
    const rollup = db.prepare(`
      INSERT INTO rollup_${name} (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})
      ON CONFLICT (bucket, model, stream, outcome, status_code) DO UPDATE SET
        ${['requests', ...MEASURES.flatMap((m) => [`${m}_n`, `${m}_sum`]), ...TOKENS, 'with_usage', 'estimated', ...COST].map(add).join(', ')},
        ${MEASURES.map((m) => `${m}_max = max(coalesce(${m}_max, excluded.${m}_max), coalesce(excluded.${m}_max, ${m}_max)), ${m}_hist = hist_merge(${m}_hist, excluded.${m}_hist)`).join(',\n        ')},
        last_ts = max(last_ts, excluded.last_ts)`)
    const users = USER_LEVELS.includes(name)
      ? db.prepare(`
      INSERT INTO users_${name} (bucket, user, model, stream, requests) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (bucket, user, model, stream) DO UPDATE SET requests = requests + excluded.requests`)
      : null
    const errors = db.prepare(`
      INSERT INTO errors_${name} (bucket, model, stream, outcome, error_type, status_code, count, last_ts, last_message)
      VALUES (@bucket, @model, @stream, @outcome, @error_type, @status_code, @count, @last_ts, @last_message)
      ON CONFLICT (bucket, model, stream, outcome, error_type, status_code) DO UPDATE SET
        count = count + excluded.count,
        last_message = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last_message ELSE last_message END,
        last_ts = max(last_ts, excluded.last_ts)`)
    return { rollup, users, errors }
  })

  return (rows) => {
    LEVELS.forEach(({ ms }, li) => {
      const s = upserts[li]
      const groups = new Map<string, Group>()
      const users = new Map<string, number>()
      const errors = new Map<string, { bucket: number; model: string; stream: number; outcome: string; error_type: string; status_code: number; count: number; last_ts: number; last_message: string | null }>()
      for (const row of rows) {
        const bucket = row.ts - (row.ts % ms)
        const model = modelOf(row)
        const stream = row.stream ? 1 : 0
        const status = row.status_code ?? 0
        const key = `${bucket}\u0000${model}\u0000${stream}\u0000${row.outcome}\u0000${status}`
        let g = groups.get(key)
        if (!g) {
          g = {
            bucket, model, stream, outcome: row.outcome, status_code: status, requests: 0,
            measures: Object.fromEntries(MEASURES.map((m) => [m, { n: 0, sum: 0, max: null, hist: new LogHistogram() }])) as Group['measures'],
            tokens: Object.fromEntries(TOKENS.map((t) => [t, 0])) as Group['tokens'],
            with_usage: 0, estimated: 0, cost_usd: 0, with_cost: 0, last_ts: row.ts,
          }
          groups.set(key, g)
        }
        g.requests++
        g.last_ts = Math.max(g.last_ts, row.ts)
        const values = measuresOf(row)
        for (const m of MEASURES) {
          const v = values[m]
          if (v === null) continue
          const acc = g.measures[m]
          acc.n++
          acc.sum += v
          acc.max = acc.max === null ? v : Math.max(acc.max, v)
          acc.hist.add(v)
        }
        for (const t of TOKENS) g.tokens[t] += row[t] ?? 0
        if (row.completion_tokens !== null && !row.tokens_estimated) g.with_usage++
        if (row.tokens_estimated) g.estimated++
        if (row.cost_usd != null) {
          g.cost_usd += row.cost_usd
          g.with_cost++
        }
        if (row.user && s.users) {
          const uk = `${bucket}\u0000${row.user}\u0000${model}\u0000${stream}`
          users.set(uk, (users.get(uk) ?? 0) + 1)
        }
        if (row.outcome !== 'success' && row.outcome !== 'cancelled') {
          const errorType = row.error_type ?? row.outcome
          const ek = `${key}\u0000${errorType}`
          const e = errors.get(ek)
          if (!e) errors.set(ek, { bucket, model, stream, outcome: row.outcome, error_type: errorType, status_code: status, count: 1, last_ts: row.ts, last_message: row.error_message })
          else {
            e.count++
            if (row.ts >= e.last_ts) {
              e.last_ts = row.ts
              e.last_message = row.error_message
            }
          }
        }
      }
      for (const g of groups.values()) {
        const params: Record<string, unknown> = {
          bucket: g.bucket, model: g.model, stream: g.stream, outcome: g.outcome, status_code: g.status_code,
          requests: g.requests, with_usage: g.with_usage, estimated: g.estimated, last_ts: g.last_ts, ...g.tokens,
        }
        if (COST.length) Object.assign(params, { cost_usd: g.cost_usd, with_cost: g.with_cost })
        for (const m of MEASURES) {
          const acc = g.measures[m]
          params[`${m}_n`] = acc.n
          params[`${m}_sum`] = acc.sum
          params[`${m}_max`] = acc.max
          params[`${m}_hist`] = acc.n > 0 ? acc.hist.toBlob() : null
        }
        s.rollup.run(params)
      }
      for (const [uk, n] of users) {
        const [bucket, user, model, stream] = uk.split('\u0000')
        s.users!.run(Number(bucket), user, model, Number(stream), n)
      }
      for (const e of errors.values()) s.errors.run(e)
    })
  }
}
