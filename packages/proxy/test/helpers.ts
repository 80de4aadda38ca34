import type { RequestRow } from '@llm-proxy/core'
import { startMockBackend, type MockBackend, type MockBackendOptions } from '@llm-proxy/mock-backend'
import { connectPg, createPgSink, createSqliteSink, type RowSink } from '@llm-proxy/storage'
import Database from 'better-sqlite3'
import { TEST_ENGINE, createTestDatabase } from '../../../tests/support/postgres.js'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions'
import { buildProxy, type ProxyAppConfig } from '../src/app.js'
import { startEventOutputs, type EventOutputOptions, type EventOutputs } from '../src/events/outputs.js'
import type { CaptureConfig, EventsConfig } from '@llm-proxy/core'
import pino from 'pino'
import { buildAdminApi } from '../src/keys/admin.js'
import { KeyGuard } from '../src/keys/guard.js'
import type { Pricer } from '../src/metering/exchange.js'

export function testConfig(over: Partial<ProxyAppConfig> = {}): ProxyAppConfig {
  return {
    backendUrl: 'http://127.0.0.1:9',
    bodyLimit: 50 * 1024 * 1024,
    streamUsage: 'inject',
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 30_000,
    idleTimeoutMs: 30_000,
    trustProxy: false,
    ...over,
  }
}

export function tmpDir(prefix = 'proxy-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Rows as the proxy queues them, awaitable one by one (no sleeps). */
export class RowQueue {
  readonly all: RequestRow[] = []
  private waiters: { count: number; resolve: (rows: RequestRow[]) => void }[] = []

  push = (row: RequestRow) => {
    this.all.push(row)
    this.waiters = this.waiters.filter((w) => {
      if (this.all.length < w.count) return true
      w.resolve(this.all.slice(0, w.count))
      return false
    })
  }

  /** Resolves once `count` rows in total have been recorded. */
  until(count: number): Promise<RequestRow[]> {
    if (this.all.length >= count) return Promise.resolve(this.all.slice(0, count))
    return new Promise((resolve) => this.waiters.push({ count, resolve }))
  }

  /** The next row after those already seen by `until`/`next`. */
  private seen = 0
  async next(): Promise<RequestRow> {
    const rows = await this.until(++this.seen)
    return rows[this.seen - 1]
  }
}

export interface Stack {
  backend: MockBackend | null
  url: string
  client: OpenAI
  /** The official Anthropic SDK, pointed at the proxy. */
  anthropic: Anthropic
  rows: RowQueue
  /** SQLite only: the file rows go to (the `-postgres` project stores in PostgreSQL instead). */
  dbFile: string
  app: ReturnType<typeof buildProxy>
  /** The event outputs, when asked for. */
  events: EventOutputs | null
  /** With `keys`: the admin API (its URL and token) and the guard. */
  admin: { url: string; token: string; call: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }> } | null
  guard: KeyGuard | null
  /** The store the proxy writes to (captures' retention is run against it in tests). */
  sink: RowSink
  /** SQLite file or PostgreSQL URL, for a metrics API reading the same database. */
  storage: { dbPath: string; databaseUrl?: string }
  /** Rows in the store, after flushing the queue. */
  stored(): Promise<Record<string, unknown>[]>
  /** Everything the store holds, as text (the SQLite files' bytes, or every PostgreSQL table). */
  dump(): Promise<string>
  close(): Promise<void>
}

export const CLIENT_KEY = 'sk-client-secret-0123456789'

/** The real proxy on an ephemeral port, in front of the simulated backend (or `backendUrl`). */
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef0123456789'

export async function startStack(o: {
  mock?: MockBackendOptions
  backendUrl?: string
  config?: Partial<ProxyAppConfig>
  /** AUTH_MODE=keys with the admin API; `now` pins the guard's clock. */
  keys?: { now?: () => number; secretKey?: string }
  /** Overrides the pricer (by default PRICES_FILE rules from the config, then the bundled table). */
  pricer?: Pricer | null
  /** Content capture (CAPTURE and companions; REDACT defaults to pii, CAPTURE_MAX_BYTES to 64 KB). */
  capture?: Partial<CaptureConfig>
  /** Event outputs (EVENT_LOG, webhook, OTLP), started as server.ts starts them; logs go to `logger`. */
  events?: { config: EventsConfig; logger?: pino.Logger } & Partial<Pick<EventOutputOptions, 'webhook' | 'stdout'>>
} = {}): Promise<Stack> {
  const backend = o.backendUrl ? null : await startMockBackend(o.mock)
  const tmp = tmpDir()
  const dbFile = join(tmp.dir, 'metrics.db')
  const pg = TEST_ENGINE === 'postgres' ? await createTestDatabase() : null
  const sink: RowSink = pg ? await createPgSink(pg.url) : await createSqliteSink({ file: dbFile })
  // A second connection to read what the writer stored.
  const read = pg ? pgRows(pg.url) : sqliteRows(dbFile)
  const rows = new RowQueue()
  const guard = o.keys ? new KeyGuard(sink.keys, { syncMs: 100, now: o.keys.now, secretKey: o.keys.secretKey }) : null
  await guard?.start()
  const adminApp = guard ? buildAdminApi({ store: sink.keys, guard, token: ADMIN_TOKEN, secretKey: o.keys?.secretKey, now: o.keys?.now }) : null
  let admin: Stack['admin'] = null
  if (adminApp) {
    await adminApp.listen({ host: '127.0.0.1', port: 0 })
    const adminUrl = `http://127.0.0.1:${(adminApp.server.address() as AddressInfo).port}`
    admin = {
      url: adminUrl,
      token: ADMIN_TOKEN,
      async call(method, path, body) {
        const res = await fetch(adminUrl + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
        return { status: res.status, body: res.status === 204 ? null : await res.json() }
      },
    }
  }
  const backendUrl = o.backendUrl ?? backend!.url
  const events = o.events
    ? await startEventOutputs(o.events.config, {
        logger: o.events.logger ?? pino({ level: 'silent' }),
        backendUrl,
        stdout: o.events.stdout,
        webhook: o.events.webhook,
        keyName: (id) => guard?.byKeyId(id)?.rec.name,
      })
    : null
  const app = buildProxy({
    config: testConfig({ backendUrl, ...o.config }),
    sink,
    keyGuard: guard ?? undefined,
    events,
    onRecorded: rows.push,
    flushIntervalMs: 5,
    pricer: o.pricer,
    capture: o.capture ? { config: { mode: 'off', maxBytes: 64 * 1024, redact: 'pii', ...o.capture }, store: sink.captures } : null,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 })
  const anthropic = new Anthropic({ baseURL: url, apiKey: CLIENT_KEY, maxRetries: 0 })
  return {
    backend, url, client, anthropic, rows, dbFile, app, admin, guard, events, sink,
    storage: { dbPath: dbFile, databaseUrl: pg?.url },
    async stored() {
      await app.rows.flush()
      return read.all()
    },
    async dump() {
      await app.rows.flush()
      await app.captures?.flush()
      return read.dump()
    },
    async close() {
      await app.close()
      await adminApp?.close()
      await guard?.stop()
      await backend?.close()
      await read.close()
      await sink.close()
      await pg?.drop()
      tmp.remove()
    },
  }
}

function sqliteRows(file: string) {
  const db = new Database(file, { readonly: true })
  return {
    all: async () => db.prepare('SELECT * FROM requests ORDER BY seq').all() as Record<string, unknown>[],
    dump: async () => readdirSync(dirname(file)).map((f) => readFileSync(join(dirname(file), f)).toString('latin1')).join('\n'),
    close: async () => db.close(),
  }
}

function pgRows(url: string) {
  const sql = connectPg(url, { max: 1 })
  return {
    all: async () => (await sql.unsafe('SELECT * FROM requests ORDER BY seq')) as unknown as Record<string, unknown>[],
    async dump() {
      const tables = await sql.unsafe<{ t: string }[]>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")
      const parts = await Promise.all(tables.map(({ t }) => sql.unsafe<{ x: string }[]>(`SELECT coalesce(string_agg(r::text, E'\\n'), '') AS x FROM ${t} r`)))
      return parts.map(([p]) => p.x).join('\n')
    },
    close: () => sql.end(),
  }
}

/** A hand-scripted upstream for byte-exact tests; force-closes its sockets on close. */
export async function startScriptedUpstream(
  handler: (req: IncomingMessage & { body: string }, res: ServerResponse) => void,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => handler(Object.assign(req, { body: Buffer.concat(parts).toString() }), res))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export const chatBody = (over: Partial<ChatCompletionCreateParamsNonStreaming> = {}): ChatCompletionCreateParamsNonStreaming => ({
  model: 'mock-llama-3.2-1b',
  messages: [{ role: 'user', content: 'Say hello to the proxy tests' }],
  ...over,
})

export const streamBody = (over: Partial<ChatCompletionCreateParamsStreaming> = {}): ChatCompletionCreateParamsStreaming => ({
  ...chatBody(),
  stream: true,
  ...over,
})
