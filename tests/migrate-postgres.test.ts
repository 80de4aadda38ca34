// The SQLite → PostgreSQL migration command, run as a user runs it; the metrics API must answer the
// same JSON, the same numbers and the same Prometheus text before and after.
import type { RequestRow } from '@llm-proxy/core'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import { createSqliteStore, openWriterDb } from '@llm-proxy/storage'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, expect, test } from 'vitest'
import { root } from './helpers.js'
import { createTestDatabase } from './support/postgres.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const DAY = 86_400_000
const NOW = Date.UTC(2026, 2, 1, 12)

function rows(count: number, start: number, span: number, seed: number): RequestRow[] {
  let x = seed
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const outcomes = ['success', 'success', 'success', 'cancelled', 'client_error', 'backend_error', 'network_error'] as const
  return Array.from({ length: count }, (_, i) => {
    const stream = rand() < 0.6
    const outcome = outcomes[Math.floor(rand() * outcomes.length)]
    return {
      id: `m-${seed}-${i}`, ts: start + Math.floor(rand() * span), endpoint: '/v1/chat/completions', stream,
      model_requested: 'req', model: ['llama', 'qwen', 'mistral'][Math.floor(rand() * 3)], status_code: outcome === 'success' ? 200 : outcome === 'client_error' ? 429 : outcome === 'cancelled' ? 499 : 500,
      outcome, error_type: outcome === 'success' || outcome === 'cancelled' ? null : `e_${outcome}`, error_message: outcome === 'success' ? null : 'why',
      finish_reason: 'stop', ttft_ms: stream ? 5 + rand() * 900 : null, ttlt_ms: null, total_ms: 10 + rand() ** 2 * 30_000,
      tpot_ms: stream ? 2 + rand() * 40 : null, output_tps: 1 + rand() * 200, prompt_tokens: Math.floor(rand() * 900), completion_tokens: Math.floor(rand() * 400),
      total_tokens: null, cached_tokens: Math.floor(rand() * 10), reasoning_tokens: null, tokens_estimated: rand() < 0.1, client_ip: '127.0.0.1',
      user: rand() < 0.5 ? `u${Math.floor(rand() * 6)}` : null, user_agent: i % 50 === 0 ? 'tab\there\nnew "q" back\\slash \\N' : 'test', chunk_count: null, request_bytes: 10, response_bytes: 20,
      key_id: null, cost_usd: rand() < 0.5 ? rand() / 100 : null, overhead_ms: rand() < 0.8 ? rand() * 2 : null, inflight: Math.floor(rand() * 8),
    }
  })
}

test('llm-proxy-migrate moves rows and rollups; the metrics API answers the same on both engines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'metrics.db')
  const db = openWriterDb(file)
  const store = createSqliteStore(db)
  store.insertBatch(rows(1500, NOW - 45 * DAY, 10 * DAY, 1)) // older than the retention below
  store.insertBatch(rows(6000, NOW - 20 * DAY, 20 * DAY, 2))
  store.insertBatch(rows(800, NOW - 3_600_000, 3_600_000, 3))
  store.deleteBefore(NOW - 30 * DAY) // only the rollups remember these now
  db.close()

  const pg = await createTestDatabase()
  cleanups.push(pg.drop)
  const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'packages/storage/dist/cli/sqlite-to-postgres.js'), '--from', file, '--to', pg.url])
  expect(stdout).toMatch(/copied 6800 rows(,| and) \d+ rollup rows/)

  const before = buildMetricsApi({ config: { dbPath: file, corsOrigins: [] }, now: () => NOW })
  const after = buildMetricsApi({ config: { dbPath: file, databaseUrl: pg.url, corsOrigins: [] }, now: () => NOW })
  cleanups.push(() => before.close(), () => after.close())
  const urls = [
    '/metrics', `/metrics?start=${NOW - 50 * DAY}&end=${NOW - 35 * DAY}`, `/metrics?start=${NOW - 7 * DAY + 12_345}&model=qwen`,
    `/metrics?start=${NOW - 2 * DAY}&outcome=backend_error`, `/metrics?start=${NOW - 30 * DAY}&user=u3`, `/metrics?start=${NOW - 3_600_000}`,
    '/metrics/timeseries', `/metrics/timeseries?bucket=1h&start=${NOW - 2 * DAY}&stream=true`, `/metrics/timeseries?start=${NOW - 50 * DAY}&end=${NOW}`,
    '/metrics/saturation', `/metrics/saturation?start=${NOW - 50 * DAY}&end=${NOW - 35 * DAY}`, `/metrics/saturation?start=${NOW - 7 * DAY + 12_345}&model=qwen`,
    `/metrics/saturation?start=${NOW - 30 * DAY}&user=u3`, `/metrics/saturation?start=${NOW - 3_600_000}&stream=true`,
    '/metrics/models', '/metrics/requests?limit=200', `/metrics/requests?limit=50&model=llama&start=${NOW - 5 * DAY}`, '/metrics/prometheus', '/metrics/requests.csv',
  ]
  for (const url of urls) {
    const [a, b] = await Promise.all([before.inject({ url }), after.inject({ url })])
    expect(a.statusCode, url).toBe(200)
    expect(b.statusCode, url).toBe(200)
    // The paging cursor names each engine's own row sequence; the rows must be the same.
    const comparable = (body: string) => (url.startsWith('/metrics/requests?') ? JSON.stringify(JSON.parse(body).data) : body)
    const same = comparable(b.body) === comparable(a.body)
    expect(same, `${url} differs`).toBe(true)
  }
  expect((await after.inject({ url: `/metrics?start=${NOW - 50 * DAY}&end=${NOW - 35 * DAY}` })).json().requests.total).toBe(1500)
  // Saturation rollups outlive the raw rows too: every successful request with an in-flight count is there.
  const old = rows(1500, NOW - 45 * DAY, 10 * DAY, 1).filter((r) => r.outcome === 'success' && r.inflight! >= 1).length
  const sat = (await after.inject({ url: `/metrics/saturation?start=${NOW - 50 * DAY}&end=${NOW - 35 * DAY}` })).json()
  expect(sat.models.reduce((n: number, m: { requests: number }) => n + m.requests, 0)).toBe(old)
})
