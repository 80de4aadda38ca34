import { BOOL_COLUMNS, MEASURES, ROLLUP_COLUMNS, ROLLUP_KEY, ROLLUP_SUMS, ROW_COLUMNS, SAT_COLUMNS, SAT_KEY, SAT_MEASURES, SAT_SUMS, rollupDeltas, type RequestRow } from '@llm-proxy/core/shapes'
import { histToPg, type Sql } from './connect.js'

const q = (c: string) => (c === 'user' ? '"user"' : c)

/** Builds a multi-row INSERT with positional parameters. */
function multiInsert(table: string, columns: readonly string[], rows: readonly Record<string, unknown>[], tail: string, casts: Record<string, string> = {}) {
  const values: unknown[] = []
  const tuples = rows.map((r) => `(${columns.map((c) => `$${values.push(r[c] ?? null)}${casts[c] ?? ''}`).join(', ')})`)
  return { text: `INSERT INTO ${table} (${columns.map(q).join(', ')}) VALUES ${tuples.join(', ')} ${tail}`, values }
}

const ROLLUP_UPSERT_TAIL = (table: string) => `
  ON CONFLICT (${ROLLUP_KEY.join(', ')}) DO UPDATE SET
    ${ROLLUP_SUMS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')},
    ${MEASURES.map((m) => `${m}_min = least(${table}.${m}_min, excluded.${m}_min), ${m}_max = greatest(${table}.${m}_max, excluded.${m}_max),
    ${m}_hist = hist_merge(${table}.${m}_hist, excluded.${m}_hist)`).join(',\n')},
    last_ts = greatest(${table}.last_ts, excluded.last_ts)`
const SAT_UPSERT_TAIL = (table: string) => `
  ON CONFLICT (${SAT_KEY.join(', ')}) DO UPDATE SET
    ${SAT_SUMS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')},
    ${SAT_MEASURES.map((m) => `${m}_min = least(${table}.${m}_min, excluded.${m}_min), ${m}_max = greatest(${table}.${m}_max, excluded.${m}_max),
    ${m}_hist = hist_merge(${table}.${m}_hist, excluded.${m}_hist)`).join(',\n')}`
const HIST_CASTS = Object.fromEntries(MEASURES.map((m) => [`${m}_hist`, '::int4[]']))

/** Rows per INSERT statement: PostgreSQL takes at most 65,535 parameters per statement. */
const ROWS_PER_STATEMENT = Math.floor(60_000 / ROW_COLUMNS.length)

/**
 * Writes one batch in one transaction: rows (a retried batch whose commit did land is skipped row
 * by row, so a row is never stored twice), then the rollups of the rows actually inserted, merged
 * into what other proxies wrote with `ON CONFLICT DO UPDATE`.
 */
export async function insertBatchPg(sql: Sql, given: readonly RequestRow[]): Promise<void> {
  const rows = given.map(withoutNul)
  await sql.begin(async (tx) => {
    const inserted = new Set<string>()
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT).map((row) => {
        const p: Record<string, unknown> = { ...row }
        for (const c of BOOL_COLUMNS) p[c] = row[c] ? 1 : 0
        return p
      })
      const { text, values } = multiInsert('requests', ROW_COLUMNS, chunk, 'ON CONFLICT (id) DO NOTHING RETURNING id')
      for (const r of await tx.unsafe<{ id: string }[]>(text, values as never[])) inserted.add(r.id)
    }
    const fresh = inserted.size === rows.length ? rows : rows.filter((r) => inserted.has(r.id))
    for (const delta of rollupDeltas(fresh)) {
      const rollups = delta.rollups.map((r) => ({ ...r, ...Object.fromEntries(MEASURES.map((m) => [`${m}_hist`, histToPg(r[`${m}_hist`])])) }))
      const table = `rollup_${delta.level}`
      for (let i = 0; i < rollups.length; i += 500) {
        const { text, values } = multiInsert(table, ROLLUP_COLUMNS, rollups.slice(i, i + 500), ROLLUP_UPSERT_TAIL(table), HIST_CASTS)
        await tx.unsafe(text, values as never[])
      }
      if (delta.users.length > 0 && (delta.level === 'hour' || delta.level === 'day')) {
        const t = `users_${delta.level}`
        const { text, values } = multiInsert(t, ['bucket', 'user', 'model', 'stream', 'key_id', 'requests'], delta.users,
          `ON CONFLICT (bucket, "user", model, stream, key_id) DO UPDATE SET requests = ${t}.requests + excluded.requests`)
        await tx.unsafe(text, values as never[])
      }
      if (delta.saturation.length > 0) {
        const t = `saturation_${delta.level}`
        const sat = delta.saturation.map((r) => ({ ...r, ...Object.fromEntries(SAT_MEASURES.map((m) => [`${m}_hist`, histToPg(r[`${m}_hist`])])) }))
        for (let i = 0; i < sat.length; i += 1000) {
          const { text, values } = multiInsert(t, SAT_COLUMNS, sat.slice(i, i + 1000), SAT_UPSERT_TAIL(t), HIST_CASTS)
          await tx.unsafe(text, values as never[])
        }
      }
      if (delta.errors.length > 0) {
        const t = `errors_${delta.level}`
        const { text, values } = multiInsert(t, ['bucket', 'model', 'stream', 'outcome', 'error_type', 'status_code', 'key_id', 'count', 'last_ts', 'last_message'], delta.errors as never,
          `ON CONFLICT (bucket, model, stream, outcome, error_type, status_code, key_id) DO UPDATE SET
             count = ${t}.count + excluded.count,
             last_message = CASE WHEN excluded.last_ts >= ${t}.last_ts THEN excluded.last_message ELSE ${t}.last_message END,
             last_ts = greatest(${t}.last_ts, excluded.last_ts)`)
        await tx.unsafe(text, values as never[])
      }
    }
  })
}

/**
 * PostgreSQL text cannot hold NUL bytes (SQLite can): a client-supplied user or model name with one
 * would fail the whole batch. They are dropped from the stored text instead.
 */
function withoutNul(row: RequestRow): RequestRow {
  let out: RequestRow | null = null
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'string' && v.includes('\u0000')) (out ??= { ...row })[k as 'user'] = v.replaceAll('\u0000', '')
  }
  return out ?? row
}
