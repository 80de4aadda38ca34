import type Database from 'better-sqlite3'
import { CAPTURE_SQL } from '../capture-sql.js'
import type { CaptureRecord } from '../types.js'

/** The capture store on SQLite, synchronous: it runs in the writer thread beside the rows. */
export function createSqliteCaptures(db: Database.Database) {
  const insert = db.prepare(CAPTURE_SQL.insert)
  const remove = db.prepare(CAPTURE_SQL.deleteBefore)
  const insertAll = db.transaction((records: readonly CaptureRecord[]) => {
    for (const r of records) insert.run(r)
  })
  return {
    insert: (records: readonly CaptureRecord[]) => insertAll.immediate(records),
    deleteBefore: (before: number) => remove.run({ before }).changes,
  }
}
