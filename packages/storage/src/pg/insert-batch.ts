import { BOOL_COLUMNS, ERROR_COLUMNS, LEVELS, MEASURES, ROLLUP_COLUMNS, ROLLUP_KEY, ROLLUP_SUMS, ROW_COLUMNS, SAT_COLUMNS, SAT_KEY, SAT_MEASURES, SAT_LEVELS, SAT_SUMS, USER_COLUMNS, USER_LEVELS, rollupDeltas, type RequestRow } from '@llm-proxy/core/shapes'
import { finished } from 'node:stream/promises'
import type postgres from 'postgres'
import type { Sql } from './connect.js'
import { quoted } from '../sql-names.js'
import { copyLineOf } from './copy-text.js'


/**
 * One INSERT per table whatever the batch size: the rows travel as one JSON parameter, which
 * `json_populate_recordset` turns into the table's own row type (so each column gets the table's
 * type, histograms included as int4[]). The statement's text never changes, so it is parsed and
 * planned once per connection (prepared); a multi-row VALUES list with one parameter per cell was
 * parsed, planned and bound anew for every batch, most of PostgreSQL's time per row.
 */
function jsonInsert(table: string, columns: readonly string[], tail: string): string {
  const list = columns.map(quoted).join(', ')
  return `INSERT INTO ${table} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${table}, $1::text::json) ${tail}`
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

/** Each table's statement, for the tables each level has (users per hour and day, saturation at its levels). */
const STATEMENTS = {
  requests: jsonInsert('requests', ROW_COLUMNS, 'ON CONFLICT (id) DO NOTHING RETURNING id'),
  ...Object.fromEntries(LEVELS.flatMap(({ name }) => {
    const rollup = `rollup_${name}`, users = `users_${name}`, errors = `errors_${name}`, sat = `saturation_${name}`
    return [
      [rollup, jsonInsert(rollup, ROLLUP_COLUMNS, ROLLUP_UPSERT_TAIL(rollup))],
      ...(USER_LEVELS.includes(name) ? [[users, jsonInsert(users, USER_COLUMNS, `ON CONFLICT (bucket, "user", model, stream, key_id) DO UPDATE SET requests = ${users}.requests + excluded.requests`)]] : []),
      [errors, jsonInsert(errors, ERROR_COLUMNS, `ON CONFLICT (bucket, model, stream, outcome, error_type, status_code, key_id) DO UPDATE SET
             count = ${errors}.count + excluded.count,
             last_message = CASE WHEN excluded.last_ts >= ${errors}.last_ts THEN excluded.last_message ELSE ${errors}.last_message END,
             last_ts = greatest(${errors}.last_ts, excluded.last_ts)`)],
      ...(SAT_LEVELS.includes(name) ? [[sat, jsonInsert(sat, SAT_COLUMNS, SAT_UPSERT_TAIL(sat))]] : []),
    ]
  })),
} as Record<string, string>

/** A histogram blob (int32 pairs) as the JSON array json_populate_recordset reads into int4[]. */
const histArray = (blob: Uint8Array | null): number[] | null =>
  blob && blob.byteLength > 0 ? Array.from(new Int32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)) : null

/** Rollup rows with their histograms as arrays (a Uint8Array would serialize as an object). */
function withHistArrays(rows: readonly object[], measures: readonly string[]): object[] {
  return rows.map((r) => {
    const out: Record<string, unknown> = { ...(r as Record<string, unknown>) }
    for (const m of measures) out[`${m}_hist`] = histArray(out[`${m}_hist`] as Uint8Array | null)
    return out
  })
}

type Tx = postgres.TransactionSql<Record<string, never>>
const run = (tx: Tx, table: string, rows: readonly object[]) => tx.unsafe<{ id: string }[]>(STATEMENTS[table], [JSON.stringify(rows)], { prepare: true })

const COPY_ROWS = `COPY requests (${ROW_COLUMNS.map(quoted).join(', ')}) FROM STDIN`
const rowLine = copyLineOf(ROW_COLUMNS)

/**
 * The rows through COPY FROM STDIN: PostgreSQL's bulk path, about half the server's CPU per row of
 * the JSON insert (`packages/storage/bench/write-cost.mjs`). It has no ON CONFLICT, so a row already
 * stored fails the whole COPY with a unique violation on `id`: the caller then writes the batch the
 * other way.
 */
async function copyRows(tx: Tx, rows: readonly RequestRow[]): Promise<void> {
  const copy = await tx.unsafe(COPY_ROWS).writable()
  copy.end(Buffer.from(rows.map(rowLine).join('')))
  await finished(copy)
}
/** A unique violation on the row's id (the constraint PostgreSQL named for `id … UNIQUE` in version 1). */
const alreadyStored = (err: unknown) => {
  const e = err as { code?: string; constraint_name?: string } | null
  return e?.code === '23505' && e.constraint_name === 'requests_id_key'
}

/**
 * Writes one batch in one transaction: its rows, then their rollups, merged into what other proxies
 * wrote with `ON CONFLICT DO UPDATE`. The rows go by COPY; a batch retried after a commit that did
 * land (its reply lost with the connection) fails that COPY on a stored id and is written again with
 * the insert that skips stored rows one by one, and rollups for only the rows it did insert, so a
 * row or its count is never stored twice.
 */
export async function insertBatchPg(sql: Sql, given: readonly RequestRow[]): Promise<void> {
  const rows = given.map(mended)
  try {
    await sql.begin(async (tx) => {
      await copyRows(tx, rows)
      await upsertRollups(tx, rows)
    })
  } catch (err) {
    if (!alreadyStored(err)) throw err
    await sql.begin(async (tx) => {
      const inserted = new Set<string>()
      for (const r of await run(tx, 'requests', rows.map(withIntBools))) inserted.add(r.id)
      await upsertRollups(tx, inserted.size === rows.length ? rows : rows.filter((r) => inserted.has(r.id)))
    })
  }
}

/**
 * The rollups of rows just inserted, sent together (pipelined on the transaction's connection, run
 * in this order): one round trip for all of them instead of one each.
 */
async function upsertRollups(tx: Tx, rows: readonly RequestRow[]): Promise<void> {
  const upserts: Promise<unknown>[] = []
  for (const delta of rollupDeltas(rows)) {
    const level = delta.level
    if (delta.rollups.length > 0) upserts.push(run(tx, `rollup_${level}`, withHistArrays(delta.rollups, MEASURES)))
    if (delta.users.length > 0 && USER_LEVELS.includes(level)) upserts.push(run(tx, `users_${level}`, delta.users))
    if (delta.saturation.length > 0) upserts.push(run(tx, `saturation_${level}`, withHistArrays(delta.saturation, SAT_MEASURES)))
    if (delta.errors.length > 0) upserts.push(run(tx, `errors_${level}`, delta.errors))
  }
  await Promise.all(upserts)
}

/** The row's booleans as 0/1: the columns are smallint, and JSON `true` is not a smallint. */
function withIntBools(row: RequestRow): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row }
  for (const c of BOOL_COLUMNS) out[c] = row[c] ? 1 : 0
  return out
}

/**
 * The row with text PostgreSQL accepts (the same object when there is nothing to mend, as for
 * nearly every row): no NUL bytes, which PostgreSQL text cannot hold (SQLite can: a client-supplied
 * user or model name with one would fail the whole batch), and no lone UTF-16 surrogates, which
 * JSON carries as escapes but PostgreSQL refuses; they become U+FFFD, as in UTF-8. The rollups are
 * made from the mended row, so their keys match the stored row.
 */
function mended(row: RequestRow): RequestRow {
  let out: RequestRow | null = null
  for (const c of ROW_COLUMNS) {
    const v = row[c]
    if (typeof v === 'string' && UNSTORABLE.test(v)) (out ??= { ...row })[c as 'user'] = v.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\ufffd')
  }
  return out ?? row
}
const UNSTORABLE = /[\u0000\ud800-\udfff]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
