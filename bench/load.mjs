// Load generator for the overhead benchmark, run in its own process so it does not share a core's
// event loop with what it measures. Prints one JSON line: count, errors, rps, latency and TTFT percentiles.
import { Pool } from 'undici'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'

const { values: a } = parseArgs({
  options: {
    url: { type: 'string' },
    requests: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1' },
    stream: { type: 'boolean', default: false },
    header: { type: 'string', multiple: true, default: [] },
    'max-tokens': { type: 'string', default: '64' },
    // A conversation of about this many bytes instead of the one-line prompt (real prompts carry history).
    'prompt-bytes': { type: 'string', default: '0' },
  },
})
const url = new URL(a.url)
const total = Number(a.requests)
const concurrency = Number(a.concurrency)
const headers = { 'content-type': 'application/json', authorization: 'Bearer bench' }
for (const h of a.header) {
  const i = h.indexOf(':')
  headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim()
}
const promptBytes = Number(a['prompt-bytes'])
const turn = 'Earlier in this conversation the user asked about the proxy and the assistant answered at length. '
const turnText = turn.repeat(Math.ceil(promptBytes / 10 / turn.length)).slice(0, Math.floor(promptBytes / 10))
const history = promptBytes > 0 ? Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: turnText })) : []
const body = JSON.stringify({
  model: 'mock-llama-3.2-1b',
  messages: [...history, { role: 'user', content: 'Benchmark prompt: tell me something.' }],
  stream: a.stream,
  max_tokens: Number(a['max-tokens']),
})
const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 })
const CONTENT = Buffer.from('"content":"')

const latencies = []
const ttfts = []
let errors = 0
let started = 0

async function one() {
  const t0 = performance.now()
  try {
    const res = await pool.request({ path: url.pathname, method: 'POST', headers, body })
    let ttft = null
    for await (const chunk of res.body) {
      if (ttft === null && a.stream) {
        // First chunk with a non-empty content delta.
        const i = chunk.indexOf(CONTENT)
        if (i !== -1 && chunk[i + CONTENT.length] !== 0x22) ttft = performance.now() - t0
      }
    }
    if (res.statusCode !== 200) errors++
    latencies.push(performance.now() - t0)
    if (ttft !== null) ttfts.push(ttft)
  } catch {
    errors++
  }
}

async function worker() {
  while (started < total) {
    started++
    await one()
  }
}

const t0 = performance.now()
await Promise.all(Array.from({ length: concurrency }, worker))
const elapsed = performance.now() - t0
await pool.close()

const pct = (arr, p) => {
  if (!arr.length) return null
  const s = [...arr].sort((x, y) => x - y)
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]
}
console.log(JSON.stringify({
  count: total, errors, elapsedMs: elapsed, rps: (total / elapsed) * 1000,
  p50: pct(latencies, 50), p99: pct(latencies, 99), ttftP50: pct(ttfts, 50), ttftP99: pct(ttfts, 99),
}))
