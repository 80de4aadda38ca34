import type { RequestRow } from '@llm-proxy/core'
import { connectPg, createPgSink, createSqliteStore, openWriterDb, toPositional, type RowSink } from '@llm-proxy/storage'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_ENGINE, createTestDatabase } from '../../../tests/support/postgres.js'
import { buildMetricsApi } from '../src/app.js'

export { TEST_ENGINE }

let n = 0
export function row(over: Partial<RequestRow> = {}): RequestRow {
  n++
  return {
    id: `req-${n}-${Math.random().toString(36).slice(2)}`, ts: Date.UTC(2026, 0, 10, 12), endpoint: '/v1/chat/completions', stream: false,
    model_requested: 'm1', model: 'm1', status_code: 200, outcome: 'success', error_type: null, error_message: null,
    finish_reason: 'stop', ttft_ms: null, ttlt_ms: null, total_ms: 100, tpot_ms: null, output_tps: null,
    prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cached_tokens: 0, reasoning_tokens: null,
    tokens_estimated: false, client_ip: '127.0.0.1', user: null, user_agent: 'test', chunk_count: null,
    request_bytes: 100, response_bytes: 200, key_id: null, cost_usd: null, overhead_ms: null, inflight: null, ...over,
  }
}

/**
 * A database written the way the proxy writes it (SQLite, or PostgreSQL in the `-postgres`
 * projects), and the real API over it.
 */
export function setup(o: { now?: number; apiToken?: string; corsOrigins?: string[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'metrics-api-'))
  const dbFile = join(dir, 'metrics.db')
  const pg = TEST_ENGINE === 'postgres' ? createTestDatabase() : null
  type Writer = Pick<RowSink, 'insertBatch' | 'deleteBefore' | 'close'>
  let sink: Promise<Writer> | null = null
  const open = (): Promise<Writer> =>
    (sink ??= pg
      ? pg.then((db): Promise<Writer> => createPgSink(db.url))
      : Promise.resolve(
          ((): Writer => {
            // The synchronous store the writer thread uses, called directly: tests insert, then read.
            const db = openWriterDb(dbFile)
            const store = createSqliteStore(db)
            return { insertBatch: async (rows: readonly RequestRow[]) => store.insertBatch(rows), deleteBefore: async (ts: number) => store.deleteBefore(ts), close: async () => void db.close() }
          })(),
        ))
  const make = async () =>
    buildMetricsApi({
      config: { dbPath: dbFile, databaseUrl: pg ? (await pg).url : undefined, corsOrigins: o.corsOrigins ?? ['http://localhost:3000'], apiToken: o.apiToken },
      now: () => o.now ?? Date.UTC(2026, 0, 20),
    })
  let app = make()
  return {
    dbFile,
    engine: TEST_ENGINE,
    /** Where the API reads, for tests that open a reader of their own. */
    readerConfig: async () => ({ dbPath: dbFile, databaseUrl: pg ? (await pg).url : undefined }),
    get app() {
      return app
    },
    insert: async (rows: RequestRow[]) => (await open()).insertBatch(rows),
    /** Runs SQL on the database the way a writer would (a capture stored, a table dropped). */
    async exec(sql: string, params: Record<string, unknown> = {}) {
      await open()
      if (pg) {
        const db = connectPg((await pg).url, { max: 1 })
        const q = toPositional(sql, params)
        await db.unsafe(q.text, q.values as never[])
        await db.end()
      } else {
        const db = openWriterDb(dbFile)
        db.prepare(sql).run(params)
        db.close()
      }
    },
    deleteBefore: async (ts: number) => (await open()).deleteBefore(ts),
    async restart() {
      await (await app).close()
      app = make()
    },
    get: async (url: string, headers: Record<string, string> = {}) => {
      const res = await (await app).inject({ method: 'GET', url, headers })
      return { status: res.statusCode, body: String(res.headers['content-type'] ?? '').includes('json') ? res.json() : res.body, headers: res.headers }
    },
    async close() {
      await (await app).close()
      if (sink) await (await sink).close()
      if (pg) await (await pg).drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
