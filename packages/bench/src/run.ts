import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { StreamReader } from './sse.js'
import { mean, percentile, round2 } from './stats.js'

export interface BenchmarkOptions {
  baseUrl: string
  endpoint: string
  apiKey?: string
  model: string
  /** Total measured requests (closed or open loop); ignored when `durationMs` is set. */
  requests?: number
  durationMs?: number
  concurrency: number
  /** Open loop: arrivals per second, independent of completions. Closed loop when absent. */
  rate?: number
  stream: boolean
  payload?: Record<string, unknown>
  maxTokens: number
  warmup: number
  label?: string
  headers?: Record<string, string>
  onProgress?: (done: number, total: number | null) => void
}

export interface BenchmarkResult {
  label: string | null
  base_url: string
  endpoint: string
  model: string
  stream: boolean
  requests: number
  successful: number
  concurrency: number
  rate: number | null
  total_duration_ms: number
  average_latency_ms: number | null
  p50_latency_ms: number | null
  p90_latency_ms: number | null
  p99_latency_ms: number | null
  throughput_rps: number
  error_rate: number
  errors: Record<string, number>
  ttft_p50_ms: number | null
  ttft_p90_ms: number | null
  ttft_p99_ms: number | null
  tpot_avg_ms: number | null
  tpot_p50_ms: number | null
  output_tps_per_request_avg: number | null
  output_tps_overall: number | null
  completion_tokens: number
}

interface Sample {
  ok: boolean
  status: string
  latencyMs: number
  ttftMs: number | null
  tpotMs: number | null
  tps: number | null
  tokens: number
}

/** Joins base URL and endpoint, tolerating an SDK-style base that already ends in /v1. */
export function targetUrl(baseUrl: string, endpoint: string): URL {
  const base = new URL(baseUrl)
  let prefix = base.pathname.replace(/\/+$/, '')
  if (prefix.endsWith('/v1') && endpoint.startsWith('/v1/')) prefix = prefix.slice(0, -3)
  return new URL(prefix + endpoint, base.origin)
}

export function defaultPayload(endpoint: string, o: Pick<BenchmarkOptions, 'model' | 'stream' | 'maxTokens'>): Record<string, unknown> {
  const prompt = 'Write a short story about a lighthouse keeper.'
  // Both report usage in every stream; neither knows stream_options.
  if (endpoint.endsWith('/responses')) return { model: o.model, input: prompt, max_output_tokens: o.maxTokens, ...(o.stream ? { stream: true } : {}) }
  if (endpoint.endsWith('/messages')) {
    return { model: o.model, max_tokens: o.maxTokens, messages: [{ role: 'user', content: prompt }], ...(o.stream ? { stream: true } : {}) }
  }
  const streamFields = o.stream ? { stream: true, stream_options: { include_usage: true } } : {}
  if (endpoint.endsWith('/embeddings')) return { model: o.model, input: 'The quick brown fox jumps over the lazy dog.' }
  if (endpoint.endsWith('/completions') && !endpoint.endsWith('/chat/completions')) {
    return { model: o.model, prompt: 'Write a short story about a lighthouse keeper.', max_tokens: o.maxTokens, ...streamFields }
  }
  return {
    model: o.model,
    messages: [{ role: 'user', content: 'Write a short story about a lighthouse keeper.' }],
    max_tokens: o.maxTokens,
    ...streamFields,
  }
}

/** Anthropic's Messages API takes its key as x-api-key, with a version header; the rest a bearer token. */
export function authHeaders(endpoint: string, apiKey: string | undefined): Record<string, string> {
  if (endpoint.endsWith('/messages')) return { 'anthropic-version': '2023-06-01', ...(apiKey ? { 'x-api-key': apiKey } : {}) }
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {}
}

/** Fails fast, with a message a person understands, when nothing listens at the URL. */
export async function checkReachable(url: URL): Promise<void> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port, timeout: 5000 })
    socket.once('connect', () => (socket.destroy(), resolve()))
    socket.once('timeout', () => (socket.destroy(), reject(new Error(`timed out connecting to ${url.host}`))))
    socket.once('error', (err: Error & { code?: string }) => reject(new Error(`cannot reach ${url.origin} (${err.code ?? err.message})`)))
  })
}

export async function runBenchmark(o: BenchmarkOptions): Promise<BenchmarkResult> {
  const url = targetUrl(o.baseUrl, o.endpoint)
  await checkReachable(url)
  const payload = o.payload ?? defaultPayload(o.endpoint, o)
  const stream = o.stream || payload.stream === true
  const body = JSON.stringify(stream ? { ...payload, stream: true } : payload)
  const headers: Record<string, string> = { 'content-type': 'application/json', ...authHeaders(o.endpoint, o.apiKey), ...o.headers }
  const pool = new Pool(url.origin, { connections: o.concurrency, pipelining: 1, headersTimeout: 600_000, bodyTimeout: 600_000 })

  async function one(): Promise<Sample> {
    const t0 = performance.now()
    try {
      const res = await pool.request({ path: url.pathname + url.search, method: 'POST', headers, body })
      const ok = res.statusCode >= 200 && res.statusCode < 300
      if (stream && ok && String(res.headers['content-type']).includes('text/event-stream')) {
        const reader = new StreamReader()
        res.body.setEncoding('utf8')
        for await (const text of res.body) reader.push(text as string, performance.now())
        const latencyMs = performance.now() - t0
        const tokens = reader.tokens
        const decodeMs = reader.firstOutputAt !== null && reader.lastOutputAt !== null ? reader.lastOutputAt - reader.firstOutputAt : null
        return {
          ok, status: String(res.statusCode), latencyMs,
          ttftMs: reader.firstOutputAt !== null ? reader.firstOutputAt - t0 : null,
          tpotMs: decodeMs !== null && tokens >= 2 ? decodeMs / (tokens - 1) : null,
          tps: decodeMs && tokens >= 2 ? (tokens - 1) / (decodeMs / 1000) : null,
          tokens,
        }
      }
      const text = await res.body.text()
      const latencyMs = performance.now() - t0
      let tokens = 0
      try {
        const usage = JSON.parse(text).usage
        tokens = usage?.completion_tokens ?? usage?.output_tokens ?? 0
      } catch {}
      return { ok, status: String(res.statusCode), latencyMs, ttftMs: null, tpotMs: null, tps: ok && tokens ? tokens / (latencyMs / 1000) : null, tokens }
    } catch (err) {
      return { ok: false, status: 'network', latencyMs: performance.now() - t0, ttftMs: null, tpotMs: null, tps: null, tokens: 0 }
    }
  }

  try {
    for (let i = 0; i < o.warmup; i += o.concurrency) await Promise.all(Array.from({ length: Math.min(o.concurrency, o.warmup - i) }, one))

    const samples: Sample[] = []
    const total = o.durationMs ? null : (o.requests ?? 100)
    const deadline = o.durationMs ? performance.now() + o.durationMs : Infinity
    const more = (started: number) => (total !== null ? started < total : performance.now() < deadline)
    const record = (s: Sample) => {
      samples.push(s)
      o.onProgress?.(samples.length, total)
    }
    const t0 = performance.now()
    let started = 0
    if (o.rate) {
      // Open loop: arrivals on a fixed schedule, whatever the server's speed.
      const interval = 1000 / o.rate
      const inflight: Promise<void>[] = []
      while (more(started)) {
        const due = t0 + started * interval
        const wait = due - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        started++
        inflight.push(one().then(record))
      }
      await Promise.all(inflight)
    } else {
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (more(started)) {
            started++
            record(await one())
          }
        }),
      )
    }
    const elapsed = performance.now() - t0
    return summarize(o, url, samples, elapsed, stream)
  } finally {
    await pool.close()
  }
}

function summarize(o: BenchmarkOptions, url: URL, samples: Sample[], elapsedMs: number, stream: boolean): BenchmarkResult {
  const good = samples.filter((s) => s.ok)
  const lat = good.map((s) => s.latencyMs)
  const ttft = good.map((s) => s.ttftMs).filter((v): v is number => v !== null)
  const tpot = good.map((s) => s.tpotMs).filter((v): v is number => v !== null)
  const tps = good.map((s) => s.tps).filter((v): v is number => v !== null)
  const errors: Record<string, number> = {}
  for (const s of samples) if (!s.ok) errors[s.status] = (errors[s.status] ?? 0) + 1
  const tokens = good.reduce((n, s) => n + s.tokens, 0)
  return {
    label: o.label ?? null,
    base_url: o.baseUrl,
    endpoint: url.pathname,
    model: o.model,
    stream,
    requests: samples.length,
    successful: good.length,
    concurrency: o.concurrency,
    rate: o.rate ?? null,
    total_duration_ms: round2(elapsedMs)!,
    average_latency_ms: round2(mean(lat)),
    p50_latency_ms: round2(percentile(lat, 50)),
    p90_latency_ms: round2(percentile(lat, 90)),
    p99_latency_ms: round2(percentile(lat, 99)),
    throughput_rps: round2(samples.length / (elapsedMs / 1000))!,
    error_rate: samples.length ? round2((samples.length - good.length) / samples.length)! : 0,
    errors,
    ttft_p50_ms: round2(percentile(ttft, 50)),
    ttft_p90_ms: round2(percentile(ttft, 90)),
    ttft_p99_ms: round2(percentile(ttft, 99)),
    tpot_avg_ms: round2(mean(tpot)),
    tpot_p50_ms: round2(percentile(tpot, 50)),
    output_tps_per_request_avg: round2(mean(tps)),
    output_tps_overall: round2(tokens / (elapsedMs / 1000)),
    completion_tokens: tokens,
  }
}
