import type Database from 'better-sqlite3'
import { ROW_COLUMNS, type RequestRow } from '../row.js'
import { createRollupWriter } from './rollups.js'

/** The proxy's storage interface: one call per batch, one transaction per call. */
export interface RequestStore {
  insertBatch(rows: readonly RequestRow[]): void
  /** Deletes raw rows older than `beforeTs`; aggregates kept elsewhere are untouched. Returns rows deleted. */
  deleteBefore(beforeTs: number): number
}

function toParams(row: RequestRow): Record<string, unknown> {
  return { ...row, stream: row.stream ? 1 : 0, tokens_estimated: row.tokens_estimated ? 1 : 0 }
}

export function createRequestStore(db: Database.Database): RequestStore {
  // Statements are prepared once [undici: lib/cache/sqlite-cache-store.js].
  const insert = db.prepare(
    `INSERT INTO requests (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map((c) => '@' + c).join(', ')})`,
  )
  const remove = db.prepare('DELETE FROM requests WHERE ts < ?')
  const updateRollups = createRollupWriter(db)
  const insertAll = db.transaction((rows: readonly RequestRow[]) => {
    for (const row of rows) insert.run(toParams(row))
    // Same transaction, so a reader never sees rows without their aggregates or the reverse.
    updateRollups(rows)
  })
  return {
    insertBatch: (rows) => void insertAll.immediate(rows),
    deleteBefore: (beforeTs) => remove.run(beforeTs).changes,
  }
}
