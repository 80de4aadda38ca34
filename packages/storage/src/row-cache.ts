/**
 * Parsed rows of queries over history that has stopped changing (a 30-day window's day rollups),
 * kept by the metrics API between requests. An entry is used only while its fingerprint, a cheap
 * aggregate over the same rows read in the same snapshot, gives the same answer, so a row that
 * lands late in an old bucket (a proxy's backlog after an outage, say) is seen at once. Rollups
 * only grow: every change adds to `requests`, so `count(*)` and `sum(requests)` catch any of them.
 */
export class RowCache {
  private entries = new Map<string, { fingerprint: string; rows: readonly unknown[] }>()
  private rows = 0

  /**
   * `maxRows`: parsed rows kept in all. A rollup row with its histograms is ~0.5–3 KB parsed; a
   * 30-day answer reuses ~2,000–6,000 of them, so the default holds a dozen windows in tens of MB.
   */
  constructor(private readonly maxRows = 50_000) {}

  async get<T>(key: string, fingerprint: () => Promise<string>, load: () => Promise<T[]>): Promise<readonly T[]> {
    const print = await fingerprint()
    const hit = this.entries.get(key)
    if (hit) {
      // Most recently used last: eviction takes from the front.
      this.entries.delete(key)
      this.rows -= hit.rows.length
      if (hit.fingerprint === print) {
        this.entries.set(key, hit)
        this.rows += hit.rows.length
        return hit.rows as readonly T[]
      }
    }
    const rows = await load()
    if (rows.length <= this.maxRows / 4) {
      this.entries.set(key, { fingerprint: print, rows })
      this.rows += rows.length
      for (const [k, e] of this.entries) {
        if (this.rows <= this.maxRows) break
        this.entries.delete(k)
        this.rows -= e.rows.length
      }
    }
    return rows
  }

  /** `Snapshot.allCached` over a snapshot's `all`: keyed by the SQL and its parameters. */
  allCached(all: <T>(sql: string, params?: Record<string, unknown>) => Promise<T[]>) {
    return <T>(sql: string, params: Record<string, unknown>, fingerprintSql: string): Promise<readonly T[]> =>
      this.get(`${sql}\u0000${JSON.stringify(params)}`, async () => JSON.stringify(await all(fingerprintSql, params)), () => all<T>(sql, params))
  }

  clear(): void {
    this.entries.clear()
    this.rows = 0
  }
}
