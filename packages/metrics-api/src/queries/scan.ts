import { LEVELS, type ErrorRollupRow, type LevelName, type RollupRow } from '@llm-proxy/core'
import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { Snapshot } from '@llm-proxy/storage'
import { RAW_COLUMNS, type RawRow } from './aggregate.js'
import { filterSql, planSegments } from './plan.js'

export type { ErrorRollupRow }

/** What a query wants from each place: raw rows feed all three. */
export interface Visitor {
  raw?(row: RawRow): void
  rollup?(row: RollupRow): void
  /** Requests per user over the segment (summed in the database: the rollups hold one row per bucket). */
  user?(user: string, requests: number): void
  error?(row: ErrorRollupRow): void
  /** Rollup columns to read, when not all (histograms are the costly part). */
  columns?: string
}

/**
 * Reads [start, end) through the rollups where they can answer, raw rows elsewhere; `coarsest`
 * limits the rollup level (a time series in 5-minute buckets reads minute rollups at most; -1 reads
 * raw rows only). A `user` or `endpoint` filter reads raw rows only: rollups are not kept per user or endpoint. User rollups
 * carry model and stream but no outcome, so callers that filter on outcome must not ask for `user`.
 */
export async function scan(db: Snapshot, f: FilterQuery, start: number, end: number, visit: Visitor, coarsest = LEVELS.length - 1): Promise<void> {
  const sql = filterSql(f)
  // Rollups are kept per model, stream, outcome and status: a user or endpoint filter reads raw rows.
  const segments = f.user !== undefined || f.endpoint !== undefined ? [{ source: 'raw' as const, from: start, to: end }] : planSegments(start, end, coarsest)
  for (const seg of segments) {
    const params = { ...sql.params, from: seg.from, to: seg.to }
    if (seg.source === 'raw') {
      if (!visit.raw) continue
      for (const row of await db.all<RawRow>(`SELECT ${RAW_COLUMNS} FROM requests WHERE ts >= @from AND ts < @to${sql.raw}`, params)) visit.raw(row)
      continue
    }
    const level: LevelName = seg.source
    if (visit.rollup) {
      const rows = await db.all<RollupRow>(`SELECT ${visit.columns ?? '*'} FROM rollup_${level} WHERE bucket >= @from AND bucket < @to${sql.rollup}`, params)
      for (const row of rows) visit.rollup(row)
    }
    if (visit.user) {
      // Users are rolled up per hour and per day only: half days read the hours, minutes the raw rows.
      const rows =
        level === 'minute'
          ? await db.all<{ user: string; requests: number }>(`SELECT "user", count(*) AS requests FROM requests WHERE ts >= @from AND ts < @to AND "user" IS NOT NULL${sql.raw} GROUP BY "user"`, params)
          : await db.all<{ user: string; requests: number }>(`SELECT "user", sum(requests) AS requests FROM users_${level === 'halfday' ? 'hour' : level} WHERE bucket >= @from AND bucket < @to${sql.users} GROUP BY "user"`, params)
      for (const r of rows) visit.user(r.user, r.requests)
    }
    if (visit.error) {
      const rows = await db.all<ErrorRollupRow>(`SELECT * FROM errors_${level} WHERE bucket >= @from AND bucket < @to${sql.rollup}`, params)
      for (const row of rows) visit.error(row)
    }
  }
}

/** Start of the data: the first day bucket with rows (rollups outlive retention), or null. */
export async function firstTs(db: Snapshot): Promise<number | null> {
  const [row] = await db.all<{ b: number | null }>('SELECT min(bucket) AS b FROM rollup_day')
  if (!row || row.b === null) return null
  const [raw] = await db.all<{ t: number | null }>('SELECT min(ts) AS t FROM requests WHERE ts >= @from AND ts < @to', { from: row.b, to: row.b + 86_400_000 })
  return raw?.t ?? row.b
}
