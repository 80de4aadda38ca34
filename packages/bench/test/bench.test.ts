import { startMockBackend, type MockBackend } from '@llm-proxy/mock-backend'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { compareResults, percentile, runBenchmark, targetUrl } from '../src/index.js'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, CI: 'true' } }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  )

let backend: MockBackend | null = null
afterEach(async () => {
  await backend?.close()
  backend = null
})
const model = 'mock-llama-3.2-1b'

test('percentiles are nearest rank', () => {
  expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3)
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9)
  expect(percentile([], 50)).toBeNull()
})

test('an SDK-style base URL ending in /v1 is not doubled', () => {
  expect(targetUrl('http://h:1/v1', '/v1/chat/completions').href).toBe('http://h:1/v1/chat/completions')
  expect(targetUrl('http://h:1/openai/', '/v1/embeddings').href).toBe('http://h:1/openai/v1/embeddings')
})

describe('against the simulated backend with known timing', () => {
  test('streaming: TTFT, TPOT, tokens/s and latency match the backend settings', async () => {
    // 100 ms to the first token, then 50 tokens/s: 11 tokens take 100 + 10 × 20 = 300 ms.
    backend = await startMockBackend({ ttftMs: 100, tokensPerSecond: 50, answerTokens: 11 })
    const r = await runBenchmark({ baseUrl: backend.url, endpoint: '/v1/chat/completions', model, requests: 12, concurrency: 4, stream: true, maxTokens: 64, warmup: 0 })
    expect(r.requests).toBe(12)
    expect(r.error_rate).toBe(0)
    expect(r.ttft_p50_ms!).toBeGreaterThanOrEqual(100)
    expect(r.ttft_p50_ms!).toBeLessThan(180)
    expect(r.tpot_avg_ms!).toBeGreaterThan(15)
    expect(r.tpot_avg_ms!).toBeLessThan(30)
    expect(r.output_tps_per_request_avg!).toBeGreaterThan(33)
    expect(r.output_tps_per_request_avg!).toBeLessThan(67)
    expect(r.p50_latency_ms!).toBeGreaterThanOrEqual(300)
    expect(r.p50_latency_ms!).toBeLessThan(450)
    expect(r.p99_latency_ms!).toBeGreaterThanOrEqual(r.p50_latency_ms!)
    // Closed loop, 4 at a time, ~0.3 s each: about 13 requests/s at best.
    expect(r.throughput_rps).toBeGreaterThan(6)
    expect(r.throughput_rps).toBeLessThan(13.5)
    expect(r.completion_tokens).toBe(12 * 11)
  })

  test('non-streaming and errors by status', async () => {
    backend = await startMockBackend({ answerTokens: 5 })
    const ok = await runBenchmark({ baseUrl: backend.url, endpoint: '/v1/chat/completions', model, requests: 10, concurrency: 2, stream: false, maxTokens: 64, warmup: 2 })
    expect(ok).toMatchObject({ requests: 10, successful: 10, error_rate: 0, errors: {}, ttft_p50_ms: null })
    expect(backend.requests).toHaveLength(12) // warm-up included
    const bad = await runBenchmark({ baseUrl: backend.url, endpoint: '/v1/chat/completions', model, requests: 4, concurrency: 2, stream: false, maxTokens: 64, warmup: 0, headers: { 'x-mock-scenario': 'error-503' } })
    expect(bad).toMatchObject({ requests: 4, successful: 0, error_rate: 1, errors: { '503': 4 } })
  })

  test('open loop: arrivals follow --rate, not the server', async () => {
    backend = await startMockBackend({ ttftMs: 200, answerTokens: 1 })
    const r = await runBenchmark({ baseUrl: backend.url, endpoint: '/v1/chat/completions', model, requests: 10, concurrency: 10, rate: 20, stream: false, maxTokens: 8, warmup: 0 })
    // 10 arrivals 50 ms apart, each answered in ~200 ms: ~0.65 s in all, far less than 10 × 200 ms.
    // Node's timers run on a millisecond clock, so each of the two waits (the last arrival, the
    // backend's TTFT) can end up to 1 ms early by performance.now(): 649.75 ms was seen in CI.
    expect(r.total_duration_ms).toBeGreaterThanOrEqual(450 + 200 - 2)
    expect(r.total_duration_ms).toBeLessThan(1500)
  })
})

describe('the CLI', () => {
  test('prints a table, writes JSON with the documented fields, compares two runs', async () => {
    backend = await startMockBackend({ answerTokens: 3 })
    const dir = mkdtempSync(join(tmpdir(), 'llm-bench-'))
    try {
      const a = join(dir, 'a.json')
      const b = join(dir, 'b.json')
      const first = await run(['--base-url', backend.url, '--model', model, '--requests', '5', '--output', a, '--label', 'direct'])
      expect(first.code).toBe(0)
      expect(first.stdout).toContain('throughput')
      expect(first.stdout).not.toContain('█') // no progress bar outside a terminal
      const second = await run(['--', '--base-url', `${backend.url}/v1`, '--model', model, '--requests', '5', '--stream', '--output', b])
      expect(second.code).toBe(0)
      const json = JSON.parse(readFileSync(a, 'utf8'))
      for (const k of ['base_url', 'endpoint', 'requests', 'concurrency', 'total_duration_ms', 'average_latency_ms', 'p50_latency_ms', 'p90_latency_ms', 'p99_latency_ms', 'throughput_rps', 'error_rate', 'errors']) {
        expect(json).toHaveProperty(k)
      }
      const cmp = await run(['--compare', a, b])
      expect(cmp.code).toBe(0)
      expect(cmp.stdout).toContain('B / A')
      expect(cmp.stdout).toContain('direct')
      expect(compareResults(json, json)).toContain('1.00×')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('an unreachable URL is a clear error and exit 1; a bad flag exits 2', async () => {
    const down = await run(['--base-url', 'http://127.0.0.1:9', '--requests', '1'])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/)
    const bad = await run(['--base-url', 'http://127.0.0.1:9', '--concurrency', 'lots'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--concurrency')
    expect((await run(['--nope'])).code).toBe(2)
  })

  test('an --output that cannot be written fails before the first request, not after the run', async () => {
    backend = await startMockBackend({ tokensPerSecond: 0 })
    const dir = mkdtempSync(join(tmpdir(), 'bench-out-'))
    try {
      const r = await run(['--base-url', backend.url, '--model', model, '--requests', '2', '--output', join(dir, 'missing', 'x.json')])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`cannot write to ${join(dir, 'missing')}`)
      expect(r.stderr).toContain('/results')
      expect(backend.requests).toHaveLength(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the Responses API and Anthropic Messages', () => {
  test.each(['/v1/responses', '/v1/messages'])('%s streaming: TTFT and tokens/s from the protocol\'s own events', async (endpoint) => {
    backend = await startMockBackend({ ttftMs: 80, tokensPerSecond: 50, answerTokens: 11 })
    const r = await runBenchmark({ baseUrl: backend.url, endpoint, model, requests: 4, concurrency: 2, stream: true, maxTokens: 64, warmup: 0, apiKey: 'k' })
    expect(r.error_rate).toBe(0)
    expect(r.ttft_p50_ms!).toBeGreaterThanOrEqual(80)
    expect(r.ttft_p50_ms!).toBeLessThan(200)
    expect(r.output_tps_per_request_avg!).toBeGreaterThan(25)
    expect(r.output_tps_per_request_avg!).toBeLessThan(80)
    expect(r.completion_tokens).toBe(4 * 11)
    const sent = backend.requests[0]
    if (endpoint === '/v1/messages') {
      expect(sent.headers['x-api-key']).toBe('k')
      expect(sent.headers['anthropic-version']).toBe('2023-06-01')
      expect(sent.body).toMatchObject({ max_tokens: 64, stream: true, messages: [{ role: 'user' }] })
    } else {
      expect(sent.headers.authorization).toBe('Bearer k')
      expect(sent.body).toMatchObject({ max_output_tokens: 64, stream: true, input: expect.any(String) })
    }
    expect(sent.body).not.toHaveProperty('stream_options')
  })

  test.each(['/v1/responses', '/v1/messages'])('%s non-streaming: tokens from usage.output_tokens', async (endpoint) => {
    backend = await startMockBackend({ answerTokens: 6 })
    const r = await runBenchmark({ baseUrl: backend.url, endpoint, model, requests: 3, concurrency: 1, stream: false, maxTokens: 64, warmup: 0 })
    expect(r.error_rate).toBe(0)
    expect(r.completion_tokens).toBe(18)
  })

  test('the CLI takes --endpoint /v1/messages', async () => {
    backend = await startMockBackend({ answerTokens: 3 })
    const r = await run(['--base-url', backend.url, '--endpoint', '/v1/messages', '--model', model, '--requests', '2', '--stream'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('/v1/messages')
  })
})
