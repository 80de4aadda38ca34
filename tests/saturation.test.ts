// The saturation view end to end: the real proxy in front of the simulated backend in slow-down
// mode, driven at concurrency 1 … 10 with the openai SDK; the metrics API finds the knee where it is.
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import { startMockBackend } from '@llm-proxy/mock-backend'
import { buildProxy } from '@llm-proxy/proxy'
import { Saturation, saturationLevelGroup } from '@llm-proxy/core/contracts'
import { createSqliteSink } from '@llm-proxy/storage'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { expect, onTestFinished, test } from 'vitest'

const CAPACITY = 3
const LEVELS = [1, 2, 3, 4, 5, 6, 7, 8, 10]
const MODEL = 'mock-llama-3.2-1b'

test('slow-down mode: per-request tokens/s halves, and TTFT p95 doubles, at twice the capacity (one level group of timer noise)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'saturation-'))
  const dbFile = join(dir, 'metrics.db')
  const backend = await startMockBackend({ ttftMs: 60, tokensPerSecond: 200, answerTokens: 16, capacity: CAPACITY })
  const sink = await createSqliteSink({ file: dbFile })
  const proxy = buildProxy({
    config: { backendUrl: backend.url, bodyLimit: 1 << 20, streamUsage: 'inject', connectTimeoutMs: 2_000, headersTimeoutMs: 30_000, idleTimeoutMs: 30_000, trustProxy: false },
    sink,
    flushIntervalMs: 5,
  })
  await proxy.listen({ host: '127.0.0.1', port: 0 })
  const api = buildMetricsApi({ config: { dbPath: dbFile, corsOrigins: [] } })
  onTestFinished(async () => {
    await api.close()
    await proxy.close()
    await sink.close()
    await backend.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}/v1`, apiKey: 'k', maxRetries: 0 })
  const start = Date.now()

  // Closed loop: `level` workers, each sending its next request when the last one is done, so the
  // backend sees `level` at a time; enough rounds that every level gives at least 12 requests.
  for (const level of LEVELS) {
    const rounds = Math.ceil(12 / level)
    await Promise.all(
      Array.from({ length: level }, async () => {
        for (let i = 0; i < rounds; i++) {
          const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'hi' }] })
          for await (const _ of stream) {
            // drained
          }
        }
      }),
    )
  }
  await proxy.rows.flush()

  const res = await api.inject({ method: 'GET', url: `/metrics/saturation?start=${start}&model=${MODEL}` })
  expect(res.statusCode).toBe(200)
  const sat = Saturation.parse(res.json())
  expect(sat.models.map((m) => m.model)).toEqual([MODEL])
  const [m] = sat.models
  if (process.env.SATURATION_DEBUG) console.log(JSON.stringify(m, null, 1))
  expect(m.requests).toBe(LEVELS.reduce((n, l) => n + l * Math.ceil(12 / l), 0))
  // Below capacity, every request runs at full speed: no group reads half, and the baseline is level 1.
  const full = m.levels.find((l) => l.level === 1)!
  for (const l of m.levels.filter((l) => l.level_max <= CAPACITY && !l.sparse)) expect(l.output_tps_p50!).toBeGreaterThan(full.output_tps_p50! * 0.75)
  // Past capacity C, a request starting among n runs at C/n of the speed: exactly half at n = 2C,
  // so timer jitter decides whether the group holding 2C or the next one is the first to read ≤ half.
  const expected = [saturationLevelGroup(2 * CAPACITY)[0], saturationLevelGroup(saturationLevelGroup(2 * CAPACITY)[1] + 1)[0]]
  expect(m.tps_halved).not.toBeNull()
  expect(m.tps_halved!.baseline_level).toBe(1)
  expect(expected).toContain(m.tps_halved!.level)
  expect(m.ttft_p95_doubled).not.toBeNull()
  expect(expected).toContain(m.ttft_p95_doubled!.level)
  // The backend's total output rate grows up to capacity, then stays flat (it is the backend's limit).
  const at = (lvl: number) => m.levels.find((l) => l.level === lvl)!.output_tps_total!
  expect(at(3)).toBeGreaterThan(at(1) * 2)
  expect(at(7)).toBeLessThan(at(3) * 1.5)
}, 60_000)
