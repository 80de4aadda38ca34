import { LEVELS, type LevelName } from '@llm-proxy/core'
import type { FilterQuery } from '@llm-proxy/core/contracts'
import type Database from 'better-sqlite3'
import { RAW_COLUMNS, type RawRow, type RollupRow } from './aggregate.js'
import { filterSql, planSegments } from './plan.js'

export interface ErrorRollupRow {
  bucket: number; model: string; stream: number; outcome: string; error_type: string; status_code: number
  count: number; last_ts: number; last_message: string | null
}

/** What a query wants from each place: raw rows feed all three. */
export interface Visitor {
  raw?(row: RawRow): void
  rollup?(row: RollupRow): void
  user?(bucket: number, user: string, requests: number): void
  error?(row: ErrorRollupRow): void
  /** Rollup columns to read, when not all (histograms are the costly part). */
  columns?: string
}

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>()
function prepare(db: Database.Database, sql: string): Database.Statement {
  let cache = statements.get(db)
  if (!cache) statements.set(db, (cache = new Map()))
  let stmt = cache.get(sql)
  if (!stmt) cache.set(sql, (stmt = db.prepare(sql)))
  return stmt
}

/**
 * Reads [start, end) through the rollups where they can answer, raw rows elsewhere; `coarsest`
 * limits the rollup level (a time series in 5-minute buckets reads minute rollups at most).
 * A `user` or `endpoint` filter reads raw rows only: rollups are not kept per user or endpoint. User rollups carry model and
 * stream but no outcome, so callers that filter on outcome must not ask for `user` (see get-summary.ts).
 */
export function scan(db: Database.Database, f: FilterQuery, start: number, end: number, visit: Visitor, coarsest = LEVELS.length - 1): void {
  const sql = filterSql(f)
  // Rollups are kept per model, stream, outcome and status: a user or endpoint filter reads raw rows.
  const segments = f.user !== undefined || f.endpoint !== undefined ? [{ source: 'raw' as const, from: start, to: end }] : planSegments(start, end, coarsest)
  for (const seg of segments) {
    const params = { ...sql.params, from: seg.from, to: seg.to }
    if (seg.source === 'raw') {
      if (!visit.raw) continue
      const stmt = prepare(db, `SELECT ${RAW_COLUMNS} FROM requests WHERE ts >= @from AND ts < @to${sql.raw}`)
      for (const row of stmt.iterate(params) as Iterable<RawRow>) visit.raw(row)
      continue
    }
    const level: LevelName = seg.source
    if (visit.rollup) {
      const rows = prepare(db, `SELECT ${visit.columns ?? '*'} FROM rollup_${level} WHERE bucket >= @from AND bucket < @to${sql.rollup}`).all(params) as RollupRow[]
      for (const row of rows) visit.rollup(row)
    }
    if (visit.user) {
      // Users are rolled up per hour and per day only: half days read the hours, minutes the raw rows.
      const rows = (
        level === 'minute'
          ? prepare(db, `SELECT 0 AS bucket, user, count(*) AS requests FROM requests WHERE ts >= @from AND ts < @to AND user IS NOT NULL${sql.raw} GROUP BY user`)
          : prepare(db, `SELECT bucket, user, requests FROM users_${level === 'halfday' ? 'hour' : level} WHERE bucket >= @from AND bucket < @to${sql.users}`)
      ).all(params) as { bucket: number; user: string; requests: number }[]
      for (const r of rows) visit.user(r.bucket, r.user, r.requests)
    }
    if (visit.error) {
      const rows = prepare(db, `SELECT * FROM errors_${level} WHERE bucket >= @from AND bucket < @to${sql.rollup}`).all(params) as ErrorRollupRow[]
      for (const row of rows) visit.error(row)
    }
  }
}

/** Start of the data: the first day bucket with rows (rollups outlive retention), or null. */
export function firstTs(db: Database.Database): number | null {
  const row = prepare(db, 'SELECT min(bucket) AS b FROM rollup_day').get() as { b: number | null }
  if (row.b === null) return null
  const raw = prepare(db, 'SELECT min(ts) AS t FROM requests WHERE ts >= ? AND ts < ?').get(row.b, row.b + 86_400_000) as { t: number | null }
  return raw.t ?? row.b
}

export { prepare }
