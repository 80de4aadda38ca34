// Several proxies on one PostgreSQL database, as behind a load balancer, and PostgreSQL going away
// for a while: exactly one row per request, rollups equal to the rows, the metrics API agreeing.
import { startMockBackend, type MockBackend } from '@llm-proxy/mock-backend'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import postgres from 'postgres'
import { afterEach, expect, test } from 'vitest'
import { startProxyServer } from './helpers.js'
import { createTestDatabase } from './support/postgres.js'
// @ts-expect-error plain JS helper shared with .ci/run
import { pauseCluster, resumeCluster, startCluster, stopCluster } from '../scripts/pg-cluster.mjs'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const startProxy = (env: Record<string, string>) => startProxyServer({ ...env }, (f) => cleanups.push(f))

const body = (user: string, stream = false) => JSON.stringify({ model: 'mock-llama-3.2-1b', messages: [{ role: 'user', content: 'hi' }], user, stream })

test('three proxies on one PostgreSQL database: one row per request, rollups equal the rows, one proxy stopped mid-load loses nothing', async () => {
  const db = await createTestDatabase()
  cleanups.push(db.drop)
  const backend: MockBackend = await startMockBackend({ ttftMs: 1, tokensPerSecond: 2000, answerTokens: 4 })
  cleanups.push(() => backend.close())
  const proxies = await Promise.all([0, 1, 2].map(() => startProxy({ BACKEND_URL: backend.url, DATABASE_URL: db.url, SHUTDOWN_TIMEOUT_MS: '3000' })))
  const alive = new Set(proxies)

  const TOTAL = 3000
  const sent = new Set<string>()
  const cancelled = new Set<string>()
  let next = 0
  let rr = 0
  /** Round robin over the proxies still up, as a load balancer does: a refused connection goes to the next one. */
  async function send(i: number) {
    const user = `r${i}`
    const abort = i % 60 === 7
    for (;;) {
      const p = [...alive][rr++ % alive.size]
      const controller = new AbortController()
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        // A cancelled request is one still running when its client leaves.
        if (abort) headers['x-mock-scenario'] = 'hang-after-first-token'
        const res = await fetch(`http://127.0.0.1:${p.port}/v1/chat/completions`, { method: 'POST', headers, body: body(user, abort), signal: controller.signal })
        sent.add(user)
        if (abort) {
          const reader = res.body!.getReader()
          await reader.read()
          controller.abort()
          cancelled.add(user)
        } else await res.arrayBuffer()
        return
      } catch (err) {
        if (sent.has(user)) return
        if (!/ECONNREFUSED|other side closed|SocketError|fetch failed/.test(String((err as Error).cause ?? err))) throw err
        // Refused before it reached a proxy: no row expected; try another.
      }
    }
  }
  const workers = Array.from({ length: 24 }, async () => {
    while (next < TOTAL) {
      const i = next++
      if (i === 1200) {
        // One proxy leaves mid-load, as in a rolling restart.
        const victim = proxies[1]
        alive.delete(victim)
        victim.child.kill('SIGTERM')
        void victim.exited.then((code) => expect(code, victim.output()).toBe(0))
      }
      await send(i)
    }
  })
  await Promise.all(workers)
  expect(await proxies[1].exited).toBe(0)
  await Promise.all([proxies[0], proxies[2]].map(async (p) => (p.child.kill('SIGTERM'), expect(await p.exited, p.output()).toBe(0))))

  const sql = postgres(db.url, { max: 1, onnotice: () => {} })
  cleanups.push(() => sql.end())
  const users = (await sql`SELECT "user" AS u, outcome FROM requests`) as unknown as { u: string; outcome: string }[]
  expect(users).toHaveLength(sent.size)
  expect(new Set(users.map((r) => r.u))).toEqual(sent)
  expect(sent.size).toBe(TOTAL)
  expect(users.filter((r) => r.outcome === 'cancelled').map((r) => r.u).sort()).toEqual([...cancelled].sort())
  for (const level of ['minute', 'hour', 'halfday', 'day']) {
    const [roll] = await sql.unsafe(`SELECT sum(requests)::int AS n, sum(prompt_tokens)::int AS p, sum(latency_n)::int AS l FROM rollup_${level}`)
    const [raw] = await sql.unsafe(`SELECT count(*)::int AS n, sum(prompt_tokens)::int AS p, count(*) FILTER (WHERE outcome <> 'cancelled')::int AS l FROM requests`)
    expect(roll, level).toEqual(raw)
  }
  const api = buildMetricsApi({ config: { dbPath: '/nonexistent', databaseUrl: db.url, corsOrigins: [] } })
  cleanups.push(() => api.close())
  const summary = (await api.inject({ url: '/metrics' })).json()
  expect(summary.requests.total).toBe(TOTAL)
  expect(summary.requests.cancelled).toBe(cancelled.size)
  expect(summary.requests.success).toBe(TOTAL - cancelled.size)
})

test('PostgreSQL down for a while: no request fails, rows wait and land; the metrics API answers 503, then recovers', async () => {
  // A cluster of its own, since this test stops it.
  const cluster = await startCluster()
  cleanups.push(() => stopCluster(cluster.dir, 'immediate'))
  const backend = await startMockBackend({ ttftMs: 1, tokensPerSecond: 2000, answerTokens: 4 })
  cleanups.push(() => backend.close())
  const proxy = await startProxy({ BACKEND_URL: backend.url, DATABASE_URL: cluster.url })
  const api = buildMetricsApi({ config: { dbPath: '/nonexistent', databaseUrl: cluster.url, corsOrigins: [] } })
  cleanups.push(() => api.close())
  const call = async (user: string) => {
    const res = await fetch(`http://127.0.0.1:${proxy.port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(user) })
    await res.arrayBuffer()
    return res.status
  }
  for (let i = 0; i < 10; i++) expect(await call(`before-${i}`)).toBe(200)
  expect((await api.inject({ url: '/metrics' })).statusCode).toBe(200)

  pauseCluster(cluster.dir)
  for (let i = 0; i < 40; i++) expect(await call(`during-${i}`).catch((err) => `${err}: ${proxy.output()}`)).toBe(200)
  const down = await api.inject({ url: '/metrics' })
  expect(down.statusCode).toBe(503)
  expect(down.json().error).toMatchObject({ code: 'storage_unavailable', type: 'server_error' })
  expect(down.json().error.message).toMatch(/PostgreSQL/)

  resumeCluster(cluster.dir, cluster.port)
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} })
  cleanups.push(() => sql.end())
  // Rows land on the writer's next retry (backoff up to 5 s); no event to await in another process.
  for (let t = Date.now(); ; ) {
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM requests`
    if (n === 50) break
    if (Date.now() - t > 20_000) throw new Error(`only ${n} of 50 rows landed`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const up = await api.inject({ url: '/metrics' })
  expect(up.statusCode).toBe(200)
  expect(up.json().requests.total).toBe(50)
  proxy.child.kill('SIGTERM')
  expect(await proxy.exited).toBe(0)
})
