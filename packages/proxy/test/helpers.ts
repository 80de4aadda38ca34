import { createRequestStore, openWriterDb, type RequestRow } from '@llm-proxy/core'
import { startMockBackend, type MockBackend, type MockBackendOptions } from '@llm-proxy/mock-backend'
import type Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions'
import { buildProxy, type ProxyAppConfig } from '../src/app.js'
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
  db: Database.Database
  dbFile: string
  app: ReturnType<typeof buildProxy>
  /** Rows in SQLite, after flushing the queue. */
  stored(): Record<string, unknown>[]
  close(): Promise<void>
}

export const CLIENT_KEY = 'sk-client-secret-0123456789'

/** The real proxy on an ephemeral port, in front of the simulated backend (or `backendUrl`). */
export async function startStack(
  o: { mock?: MockBackendOptions; backendUrl?: string; config?: Partial<ProxyAppConfig>; pricer?: Pricer | null } = {},
): Promise<Stack> {
  const backend = o.backendUrl ? null : await startMockBackend(o.mock)
  const tmp = tmpDir()
  const dbFile = join(tmp.dir, 'metrics.db')
  const db = openWriterDb(dbFile)
  const rows = new RowQueue()
  const app = buildProxy({
    config: testConfig({ backendUrl: o.backendUrl ?? backend!.url, ...o.config }),
    store: createRequestStore(db),
    onRecorded: rows.push,
    flushIntervalMs: 5,
    pricer: o.pricer,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 })
  const anthropic = new Anthropic({ baseURL: url, apiKey: CLIENT_KEY, maxRetries: 0 })
  return {
    backend, url, client, anthropic, rows, db, dbFile, app,
    stored() {
      app.rows.flush()
      return db.prepare('SELECT * FROM requests ORDER BY seq').all() as Record<string, unknown>[]
    },
    async close() {
      await app.close()
      await backend?.close()
      db.close()
      tmp.remove()
    },
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
