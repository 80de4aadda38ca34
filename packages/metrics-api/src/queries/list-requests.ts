import { BOOL_COLUMNS } from '@llm-proxy/core'
import type { FilterQuery, RequestRecord, RequestsPage } from '@llm-proxy/core/contracts'
import type { MetricsReader, Snapshot } from '@llm-proxy/storage'
import { filterSql } from './plan.js'

type StoredRow = Record<string, unknown> & { seq: number; ts: number; key_name: string | null }

/** Every row with its key's name (a deleted key's rows keep their key id, and no name). */
const FROM = 'SELECT requests.*, api_keys.name AS key_name FROM requests LEFT JOIN api_keys ON api_keys.id = requests.key_id'

export function toRecord({ seq: _, ...r }: StoredRow): RequestRecord {
  const out: Record<string, unknown> = { ...r, ts: new Date(r.ts).toISOString() }
  for (const c of BOOL_COLUMNS) out[c] = r[c] === 1 || r[c] === true
  return out as RequestRecord
}

/** The cursor is the (ts, seq) of the last row served: newest-first paging that new rows cannot disturb. */
export function encodeCursor(ts: number, seq: number): string {
  return Buffer.from(`${ts}:${seq}`).toString('base64url')
}
export function decodeCursor(cursor: string): { ts: number; seq: number } | null {
  const m = /^(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString())
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
export async function listRequests(db: Snapshot | null, f: FilterQuery & { limit: number; cursor?: { ts: number; seq: number } }): Promise<RequestsPage> {
  if (!db) return { data: [], next_cursor: null }
  const { sql, params } = whereClause(f)
  let where = sql
  if (f.cursor) {
    where += ' AND (ts < @cts OR (ts = @cts AND seq < @cseq))'
    Object.assign(params, { cts: f.cursor.ts, cseq: f.cursor.seq })
  }
  const rows = await db.all<StoredRow>(`${FROM} ${where} ORDER BY ts DESC, seq DESC LIMIT @limit`, { ...params, limit: f.limit + 1 })
  const page = rows.slice(0, f.limit)
  const last = page[page.length - 1]
  return { data: page.map(toRecord), next_cursor: rows.length > f.limit && last ? encodeCursor(last.ts, last.seq) : null }
}

export async function getRequest(db: Snapshot | null, id: string): Promise<RequestRecord | null> {
  if (!db) return null
  const [row] = await db.all<StoredRow>(`${FROM} WHERE requests.id = @id`, { id })
  return row ? toRecord(row) : null
}

/** Every matching row, newest first, for CSV export; read on its own connection so it can be slow. */
export async function* iterateRequests(reader: MetricsReader, f: FilterQuery): AsyncGenerator<RequestRecord> {
  const { sql, params } = whereClause(f)
  for await (const row of reader.stream<StoredRow>(`${FROM} ${sql} ORDER BY ts DESC, seq DESC`, params)) yield toRecord(row)
}
