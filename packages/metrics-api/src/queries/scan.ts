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
    // Buckets before the current one are history: their parsed rows are reused while unchanged.
    for (const part of splitAtCurrentBucket(seg, level)) {
      const read = <T>(table: string, select: string, where: string, changes: string, groupBy = '') => readRollup<T>(db, part, { table, select, where, changes, groupBy }, params)
      if (visit.rollup) for (const row of await read<RollupRow>(`rollup_${level}`, visit.columns ?? '*', sql.rollup, 'requests')) visit.rollup(row)
      if (visit.user) {
        // Users are rolled up per hour and per day only: half days read the hours, minutes the raw rows.
        const rows =
          level === 'minute'
            ? await db.all<{ user: string; requests: number }>(`SELECT "user", count(*) AS requests FROM requests WHERE ts >= @from AND ts < @to AND "user" IS NOT NULL${sql.raw} GROUP BY "user"`, { ...params, from: part.from, to: part.to })
            : await read<{ user: string; requests: number }>(`users_${level === 'halfday' ? 'hour' : level}`, '"user", sum(requests) AS requests', sql.users, 'requests', ' GROUP BY "user"')
        for (const r of rows) visit.user(r.user, r.requests)
      }
      if (visit.error) for (const row of await read<ErrorRollupRow>(`errors_${level}`, '*', sql.rollup, 'count')) visit.error(row)
    }
  }
}

/**
 * A rollup segment cut where the current bucket of its level begins: before it, history (read
 * through the snapshot's row cache); from it on, rows that change with every batch (read each time).
 * Minute rows are never kept: they are the ragged edge of a window that moves with every request,
 * read once each.
 */
export function splitAtCurrentBucket(seg: { from: number; to: number }, level: LevelName, now = Date.now()): { from: number; to: number; history: boolean }[] {
  if (level === 'minute') return [{ from: seg.from, to: seg.to, history: false }]
  const ms = LEVELS.find((l) => l.name === level)!.ms
  const cut = Math.min(seg.to, Math.max(seg.from, now - (now % ms)))
  const parts: { from: number; to: number; history: boolean }[] = []
  if (cut > seg.from) parts.push({ from: seg.from, to: cut, history: true })
  if (seg.to > cut) parts.push({ from: cut, to: seg.to, history: false })
  return parts
}

/**
 * One rollup table's rows over a part of a segment: history through the snapshot's row cache, with
 * the count and the sum of `changes` (a column every write to a rollup row increases) over the same
 * rows as its fingerprint; the current buckets as they are.
 */
export function readRollup<T>(
  db: Snapshot,
  part: { from: number; to: number; history: boolean },
  q: { table: string; select: string; where: string; changes: string; groupBy?: string },
  params: Record<string, unknown>,
): Promise<readonly T[]> {
  const from = `FROM ${q.table} WHERE bucket >= @from AND bucket < @to${q.where}`
  const sql = `SELECT ${q.select} ${from}${q.groupBy ?? ''}`
  const p = { ...params, from: part.from, to: part.to }
  return part.history ? db.allCached<T>(sql, p, `SELECT count(*) AS n, coalesce(sum(${q.changes}), 0) AS r ${from}`) : db.all<T>(sql, p)
}

/** Start of the data: the first day bucket with rows (rollups outlive retention), or null. */
export async function firstTs(db: Snapshot): Promise<number | null> {
  const [row] = await db.all<{ b: number | null }>('SELECT min(bucket) AS b FROM rollup_day')
  if (!row || row.b === null) return null
  const [raw] = await db.all<{ t: number | null }>('SELECT min(ts) AS t FROM requests WHERE ts >= @from AND ts < @to', { from: row.b, to: row.b + 86_400_000 })
  return raw?.t ?? row.b
}
