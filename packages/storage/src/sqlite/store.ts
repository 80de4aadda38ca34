import { BOOL_COLUMNS, ERROR_COLUMNS, ROLLUP_COLUMNS, ROLLUP_KEY, ROLLUP_SUMS, ROW_COLUMNS, mergeHistBlobs, rollupDeltas, type RequestRow } from '@llm-proxy/core/shapes'
import { LEVELS, MEASURES, SAT_COLUMNS, SAT_KEY, SAT_LEVELS, SAT_MEASURES, SAT_SUMS, USER_COLUMNS, USER_LEVELS } from '@llm-proxy/core/shapes'
import type Database from 'better-sqlite3'
import { quoted } from '../sql-names.js'

/** SQLite's synchronous store; in the proxy it runs inside the writer thread (see worker.ts). */
export interface SqliteStore {
  /** Rows and their rollups in one transaction. */
  insertBatch(rows: readonly RequestRow[]): void
  /** Rollups only, inside a transaction the caller holds (backfill). */
  addRollups(rows: readonly RequestRow[]): void
  /** Saturation rollups only, inside a transaction the caller holds (backfill of version 9). */
  addSaturation(rows: readonly RequestRow[]): void
  deleteBefore(beforeTs: number): number
}

/**
 * Binds an object's values in `columns` order into one reused array (booleans as 0 and 1). Positional
 * binding: with named parameters (`@col`) better-sqlite3 looks each name up on the object, ~25% of a
 * rollup upsert; and no copy of the row is made. The array is passed spread (`run(...values)`):
 * better-sqlite3 reads call arguments directly but an array's elements one API call each (a row
 * insert 7.1 µs against 8.2 in `write-cost`-like batches of 500).
 */
const positional = (columns: readonly string[], booleans: readonly string[] = []) => {
  const isBool = columns.map((c) => booleans.includes(c))
  const out: unknown[] = new Array(columns.length)
  return (o: object): unknown[] => {
    for (let i = 0; i < columns.length; i++) {
      const v = (o as Record<string, unknown>)[columns[i]]
      out[i] = isBool[i] ? (v ? 1 : 0) : v
    }
    return out
  }
}
const placeholders = (columns: readonly string[]) => columns.map(() => '?').join(', ')
/**
 * A histogram column's merge. A batch without a value for a measure (no TTFT in a non-streamed
 * answer) leaves it as it is, without a call into JavaScript for nothing.
 */
const histMerge = (m: string) => `${m}_hist = CASE WHEN excluded.${m}_hist IS NULL THEN ${m}_hist ELSE hist_merge(${m}_hist, excluded.${m}_hist) END`
const minMax = (m: string) => `${m}_min = min(coalesce(${m}_min, excluded.${m}_min), coalesce(excluded.${m}_min, ${m}_min)),
        ${m}_max = max(coalesce(${m}_max, excluded.${m}_max), coalesce(excluded.${m}_max, ${m}_max))`

export function createSqliteStore(db: Database.Database, o: { inTransaction?: boolean } = {}): SqliteStore {
  db.function('hist_merge', { deterministic: true }, (a: unknown, b: unknown) => mergeHistBlobs(a as Uint8Array | null, b as Uint8Array | null))
  const insert = db.prepare(`INSERT INTO requests (${ROW_COLUMNS.map(quoted).join(', ')}) VALUES (${placeholders(ROW_COLUMNS)})`)
  const remove = db.prepare('DELETE FROM requests WHERE ts < ?')
  const rowParams = positional(ROW_COLUMNS, BOOL_COLUMNS)
  const rollupParams = positional(ROLLUP_COLUMNS)
  const userParams = positional(USER_COLUMNS)
  const errorParams = positional(ERROR_COLUMNS)
  const satParams = positional(SAT_COLUMNS)

  const statements = LEVELS.map(({ name }) => ({
    rollup: db.prepare(`
      INSERT INTO rollup_${name} (${ROLLUP_COLUMNS.join(', ')}) VALUES (${placeholders(ROLLUP_COLUMNS)})
      ON CONFLICT (${ROLLUP_KEY.join(', ')}) DO UPDATE SET
        ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
        ${MEASURES.map((m) => `${minMax(m)},\n        ${histMerge(m)}`).join(',\n')},
        last_ts = max(last_ts, excluded.last_ts)`),
    users: USER_LEVELS.includes(name)
      ? db.prepare(`
      INSERT INTO users_${name} (${USER_COLUMNS.map(quoted).join(', ')}) VALUES (${placeholders(USER_COLUMNS)})
      ON CONFLICT (bucket, user, model, stream, key_id) DO UPDATE SET requests = requests + excluded.requests`)
      : null,
    errors: db.prepare(`
      INSERT INTO errors_${name} (${ERROR_COLUMNS.join(', ')}) VALUES (${placeholders(ERROR_COLUMNS)})
      ON CONFLICT (bucket, model, stream, outcome, error_type, status_code, key_id) DO UPDATE SET
        count = count + excluded.count,
        last_message = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last_message ELSE last_message END,
        last_ts = max(last_ts, excluded.last_ts)`),
  }))
  const satStatements = LEVELS.map(({ name }) => SAT_LEVELS.includes(name) ? db.prepare(`
      INSERT INTO saturation_${name} (${SAT_COLUMNS.join(', ')}) VALUES (${placeholders(SAT_COLUMNS)})
      ON CONFLICT (${SAT_KEY.join(', ')}) DO UPDATE SET
        ${SAT_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
        ${SAT_MEASURES.map((m) => `${minMax(m)},\n        ${histMerge(m)}`).join(',\n')}`) : null)

  const addRollups = (rows: readonly RequestRow[]) => {
    rollupDeltas(rows).forEach((delta, i) => {
      const s = statements[i]
      for (const r of delta.rollups) s.rollup.run(...rollupParams(r))
      if (s.users) for (const u of delta.users) s.users.run(...userParams(u))
      for (const e of delta.errors) s.errors.run(...errorParams(e))
      const sat = satStatements[i]
      if (sat) for (const r of delta.saturation) sat.run(...satParams(r))
    })
  }
  const addSaturation = (rows: readonly RequestRow[]) => {
    rollupDeltas(rows).forEach((delta, i) => {
      const sat = satStatements[i]
      if (sat) for (const r of delta.saturation) sat.run(...satParams(r))
    })
  }
  const insertAll = db.transaction((rows: readonly RequestRow[]) => {
    for (const row of rows) insert.run(...rowParams(row))
    // Same transaction, so a reader never sees rows without their aggregates or the reverse.
    addRollups(rows)
  })
  return {
    insertBatch: (rows) => (o.inTransaction ? insertAll(rows) : insertAll.immediate(rows)),
    addRollups,
    addSaturation,
    deleteBefore: (beforeTs) => remove.run(beforeTs).changes,
  }
}
