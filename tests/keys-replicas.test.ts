// Keys across proxies on one PostgreSQL database: limits shared, revocation seen everywhere within 2 s.
import { startMockBackend } from '@llm-proxy/mock-backend'
import { once } from 'node:events'
import { afterEach, expect, test } from 'vitest'
import { freePort, startProxyServer } from './helpers.js'
import { createTestDatabase } from './support/postgres.js'

const ADMIN_TOKEN = 'replica-admin-token-0123456789abcdef'
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const startProxy = (env: Record<string, string>) => startProxyServer({ AUTH_MODE: 'keys', ...env }, (f) => cleanups.push(f))

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock-llama-3.2-1b', messages: [{ role: 'user', content: 'hi' }] }),
  }).then(async (r) => (await r.arrayBuffer(), r.status))

test('two proxies on PostgreSQL: a 10 rpm key gets 10 (plus the documented overshoot) across both; a revocation reaches the other proxy within 2 s', async () => {
  const db = await createTestDatabase()
  cleanups.push(db.drop)
  const backend = await startMockBackend({ ttftMs: 1, tokensPerSecond: 5000, answerTokens: 3 })
  cleanups.push(() => backend.close())
  const adminPort = await freePort()
  const a = await startProxy({ BACKEND_URL: backend.url, DATABASE_URL: db.url, ADMIN_TOKEN, ADMIN_PORT: String(adminPort) })
  const b = await startProxy({ BACKEND_URL: backend.url, DATABASE_URL: db.url })
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${adminPort}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json())

  const key = await admin('POST', '/admin/keys', { name: 'shared', limits: { rpm: 10 } })
  // The second proxy learns of the new key within one sync.
  for (let t = Date.now(); (await chat(b.url, key.secret)) === 401; ) {
    if (Date.now() - t > 2_000) throw new Error('the new key did not reach the second proxy in 2 s')
    await new Promise((r) => setTimeout(r, 50))
  }
  // The limit is per calendar minute: the ~3 s below must not straddle two (wait for the next one if near the end).
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50))
  const statuses: number[] = []
  for (let i = 0; i < 24; i++) {
    statuses.push(await chat(i % 2 ? b.url : a.url, key.secret))
    await new Promise((r) => setTimeout(r, 120)) // spread over ~3 s: a few syncs happen
  }
  const admitted = statuses.filter((s) => s === 200).length
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true)
  // Overshoot bound: what the other proxy admitted within one sync interval (1 s ≈ 4 requests here).
  expect(admitted).toBeGreaterThanOrEqual(10)
  expect(admitted).toBeLessThanOrEqual(10 + 4)

  const other = await admin('POST', '/admin/keys', { name: 'to-revoke' })
  for (let t = Date.now(); (await chat(b.url, other.secret)) !== 200; ) {
    if (Date.now() - t > 2_000) throw new Error('the key did not reach the second proxy')
    await new Promise((r) => setTimeout(r, 50))
  }
  const revokedAt = Date.now()
  expect((await admin('POST', `/admin/keys/${other.id}/revoke`)).status).toBe('revoked') // an empty JSON body is fine
  while ((await chat(b.url, other.secret)) !== 401) {
    expect(Date.now() - revokedAt).toBeLessThan(2_000)
    await new Promise((r) => setTimeout(r, 50))
  }
  expect(Date.now() - revokedAt).toBeLessThan(2_000)
  for (const p of [a, b]) {
    p.child.kill('SIGTERM')
    expect((await once(p.child, 'exit'))[0], p.output()).toBe(0)
  }
})
