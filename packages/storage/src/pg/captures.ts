import { CAPTURE_SQL } from '../capture-sql.js'
import type { CaptureStore } from '../types.js'
import { toPositional, type Sql } from './connect.js'

/** The capture store on PostgreSQL. */
export function createPgCaptures(sql: Sql): CaptureStore {
  return {
    async insert(records) {
      if (records.length === 0) return
      await sql.begin(async (tx) => {
        for (const r of records) {
          // Both sides are JSON text, where NUL is escaped: PostgreSQL text takes them as they are.
          const p = toPositional(CAPTURE_SQL.insert, r as unknown as Record<string, unknown>)
          await tx.unsafe(p.text, p.values as never[])
        }
      })
    },
    async deleteBefore(before) {
      const p = toPositional(CAPTURE_SQL.deleteBefore, { before })
      return (await sql.unsafe(p.text, p.values as never[])).count
    },
  }
}
