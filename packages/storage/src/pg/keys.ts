import { KEY_SQL, pruneParams, toCounter, windowParams } from '../keys-sql.js'
import type { KeyCounter, KeyRecord, KeyStore } from '../types.js'
import { toPositional, type Sql } from './connect.js'

/** The key store on PostgreSQL, shared by every proxy. */
export function createPgKeys(sql: Sql): KeyStore {
  const run = <T>(q: string, params: Record<string, unknown> = {}, on: Sql = sql) => {
    const p = toPositional(q, params)
    return on.unsafe<T[]>(p.text, p.values as never[]) as unknown as Promise<T[]>
  }
  const fix = (r: Record<string, unknown>) => r as unknown as KeyRecord
  let lastPrune = 0
  return {
    listKeys: async () => (await run<Record<string, unknown>>(KEY_SQL.list)).map(fix),
    insertKey: async (key) => void (await run(KEY_SQL.insert, key as unknown as Record<string, unknown>)),
    async updateKey(id, patch) {
      const fields = Object.keys(patch).filter((k) => k !== 'id')
      if (fields.length) await run(KEY_SQL.update(fields), { ...patch, id })
      const [row] = await run<Record<string, unknown>>(KEY_SQL.get, { id })
      return row ? fix(row) : null
    },
    deleteKey: async (id) =>
      (await sql.begin(async (tx) => {
        await run(KEY_SQL.deleteCounters, { id }, tx as unknown as Sql)
        const p = toPositional(KEY_SQL.delete, { id })
        return (await tx.unsafe(p.text, p.values as never[])).count > 0
      })) as boolean,
    async syncCounters(replica, mine: readonly KeyCounter[], windows, scope) {
      const now = Date.now()
      // One statement for all of this replica's counters.
      if (mine.length > 0) {
        const values: unknown[] = []
        const tuples = mine.map((c) => `(${[c.key_id, c.kind, c.window_start, replica, c.requests, c.tokens, c.cost_usd, now].map((v) => `$${values.push(v)}`).join(', ')})`)
        await sql.unsafe(KEY_SQL.upsertCounters(tuples.join(', ')), values as never[])
      }
      if (now - lastPrune > 60_000) {
        lastPrune = now
        await run(KEY_SQL.prune, pruneParams(now))
      }
      if (windows.length === 0) return []
      return (await run<Record<string, unknown>>(KEY_SQL.sums(windows.length, scope), windowParams(replica, windows))).map(toCounter)
    },
  }
}
