import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { RequestRecord, RequestsPage } from '@llm-proxy/core/contracts'
import type Database from 'better-sqlite3'
import { filterSql } from './plan.js'
import { prepare } from './scan.js'

type StoredRow = Omit<RequestRecord, 'ts' | 'stream' | 'tokens_estimated'> & { seq: number; ts: number; stream: number; tokens_estimated: number }

export function toRecord({ seq: _, ...r }: StoredRow): RequestRecord {
  return { ...r, ts: new Date(r.ts).toISOString(), stream: r.stream === 1, tokens_estimated: r.tokens_estimated === 1 }
}

/** The cursor is the (ts, seq) of the last row served: newest-first paging that new rows cannot disturb. */
export function encodeCursor(ts: number, seq: number): string {
  return Buffer.from(`${ts}:${seq}`).toString('base64url')
}
export function decodeCursor(cursor: string): { ts: number; seq: number } | null {
  const m = /^(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())
  return m ? { ts: Number(m[1]), seq: Number(m[2]) } : null
}

function whereClause(f: FilterQuery): { sql: string; params: Record<string, unknown> } {
  const { raw, params } = filterSql(f)
  let sql = 'WHERE 1 = 1' + raw
  if (f.start !== undefined) (sql += ' AND ts >= @start'), (params.start = f.start)
  if (f.end !== undefined) (sql += ' AND ts < @end'), (params.end = f.end)
  return { sql, params }
}

/** `GET /metrics/requests`: newest first, `limit` rows after `cursor`. */
export function listRequests(db: Database.Database | null, f: FilterQuery & { limit: number; cursor?: { ts: number; seq: number } }): RequestsPage {
  if (!db) return { data: [], next_cursor: null }
  const { sql, params } = whereClause(f)
  let where = sql
  if (f.cursor) {
    where += ' AND (ts < @cts OR (ts = @cts AND seq < @cseq))'
    Object.assign(params, { cts: f.cursor.ts, cseq: f.cursor.seq })
  }
  const rows = prepare(db, `SELECT * FROM requests ${where} ORDER BY ts DESC, seq DESC LIMIT @limit`).all({ ...params, limit: f.limit + 1 }) as StoredRow[]
  const page = rows.slice(0, f.limit)
  const last = page[page.length - 1]
  return { data: page.map(toRecord), next_cursor: rows.length > f.limit && last ? encodeCursor(last.ts, last.seq) : null }
}

export function getRequest(db: Database.Database | null, id: string): RequestRecord | null {
  if (!db) return null
  const row = prepare(db, 'SELECT * FROM requests WHERE id = ?').get(id) as StoredRow | undefined
  return row ? toRecord(row) : null
}

/** Every matching row, newest first, for CSV export; runs on its own connection so it can be slow. */
export function* iterateRequests(db: Database.Database, f: FilterQuery): Generator<RequestRecord> {
  const { sql, params } = whereClause(f)
  for (const row of db.prepare(`SELECT * FROM requests ${sql} ORDER BY ts DESC, seq DESC`).iterate(params) as Iterable<StoredRow>) {
    yield toRecord(row)
  }
}
