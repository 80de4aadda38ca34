import type Database from 'better-sqlite3'
import { KEY_SQL, pruneParams, toCounter, windowParams } from '../keys-sql.js'
import type { KeyCounter, KeyRecord } from '../types.js'

/** The key store on SQLite, synchronous: it runs in the writer thread beside the rows. */
export function createSqliteKeys(db: Database.Database) {
  const stmt = new Map<string, Database.Statement>()
  const prep = (sql: string) => {
    let s = stmt.get(sql)
    if (!s) stmt.set(sql, (s = db.prepare(sql)))
    return s
  }
  let lastPrune = 0
  return {
    listKeys: () => prep(KEY_SQL.list).all() as KeyRecord[],
    insertKey: (key: KeyRecord) => void prep(KEY_SQL.insert).run(key),
    updateKey(id: string, patch: Partial<KeyRecord>): KeyRecord | null {
      const fields = Object.keys(patch).filter((k) => k !== 'id')
      if (fields.length) prep(KEY_SQL.update(fields)).run({ ...patch, id })
      return (prep(KEY_SQL.get).get({ id }) as KeyRecord | undefined) ?? null
    },
    deleteKey: (id: string) =>
      db.transaction(() => {
        prep(KEY_SQL.deleteCounters).run({ id })
        return prep(KEY_SQL.delete).run({ id }).changes > 0
      })(),
    syncCounters(replica: string, mine: readonly KeyCounter[], windows: readonly { kind: string; start: number }[], scope: 'others' | 'all'): KeyCounter[] {
      const now = Date.now()
      return db.transaction(() => {
        for (const c of mine) prep(KEY_SQL.upsertCounter).run({ ...c, replica, updated_at: now })
        if (now - lastPrune > 60_000) {
          prep(KEY_SQL.prune).run(pruneParams(now))
          lastPrune = now
        }
        if (windows.length === 0) return []
        return (prep(KEY_SQL.sums(windows.length, scope)).all(windowParams(replica, windows)) as Record<string, unknown>[]).map(toCounter)
      }).immediate()
    },
  }
}
