import { StorageUnavailableError, type MetricsReader, type Snapshot } from '../types.js'
import { connect, isTransientPgError, toPositional, type Sql } from './connect.js'
import { pgSchemaVersion } from './migrations.js'
import { READ_SCHEMA_VERSION } from '../read-schema.js'
import { RowCache } from '../row-cache.js'


/** The metrics API's PostgreSQL reader: one REPEATABLE READ, read-only transaction per answer. */
export function createPgReader(url: string): MetricsReader {
  const sql: Sql = connect(url, { max: 4, application: 'llm-proxy-metrics-api' })
  let ready = false
  const unavailable = (err: unknown) =>
    isTransientPgError(err) ? new StorageUnavailableError(`PostgreSQL is not reachable (DATABASE_URL): ${(err as Error).message}`, { cause: err }) : err

  const schemaReady = async (): Promise<boolean> => {
    if (ready) return true
    const v = await pgSchemaVersion(sql)
    return (ready = v !== null && v >= READ_SCHEMA_VERSION)
  }
  const cache = new RowCache()
  const snapshotOf = (tx: Sql): Snapshot => {
    const all = async <T>(text: string, params: Record<string, unknown> = {}) => {
      const p = toPositional(text, params)
      // Histograms arrive as the readers want them (the connection's int4[] parser): no per-row pass.
      return (await tx.unsafe<Record<string, unknown>[]>(p.text, p.values as never[])) as unknown as T[]
    }
    return {
      all,
      allCached: cache.allCached(all),
    }
  }

  return {
    engine: 'postgres',
    async schemaVersion() {
      try {
        return await pgSchemaVersion(sql)
      } catch (err) {
        throw unavailable(err)
      }
    },
    async read<T>(fn: (s: Snapshot | null) => Promise<T>): Promise<T> {
      try {
        if (!(await schemaReady())) return await fn(null)
        return (await sql.begin('isolation level repeatable read read only', (tx) => fn(snapshotOf(tx as unknown as Sql)))) as T
      } catch (err) {
        throw unavailable(err)
      }
    },
    async *stream<T>(text: string, params: Record<string, unknown> = {}): AsyncIterable<T> {
      if (!(await schemaReady())) return
      const p = toPositional(text, params)
      for await (const rows of sql.unsafe<Record<string, unknown>[]>(p.text, p.values as never[]).cursor(500)) {
        for (const r of rows) yield r as T
      }
    },
    close: () => sql.end({ timeout: 5 }),
  }
}
