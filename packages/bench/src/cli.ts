#!/usr/bin/env node
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { compareResults, formatTable } from './format.js'
import { runBenchmark, type BenchmarkResult } from './run.js'

const usage = `llm-bench: load-test an OpenAI-compatible endpoint, directly or through the proxy

Usage: llm-bench --base-url URL [options]
       llm-bench --compare a.json b.json

  --base-url URL          server to test, e.g. http://localhost:8001 (required)
  --endpoint PATH         default /v1/chat/completions; also /v1/completions, /v1/embeddings,
                          /v1/responses (OpenAI Responses API), /v1/messages (Anthropic)
  --api-key KEY           sent as a bearer token, or as x-api-key on /v1/messages
                          (default: $OPENAI_API_KEY, or $ANTHROPIC_API_KEY on /v1/messages)
  --model NAME            default llama3.2:1b
  --requests N            measured requests (default 100)
  --duration SECONDS      run for this long instead of a request count
  --concurrency N         requests in flight / connections (default 1)
  --rate R                open loop: R arrivals per second, whatever the server's speed
  --stream                stream the answers (measures TTFT and time per output token)
  --payload JSON          request body to send instead of the default prompt
  --payload-file FILE     the same, from a file
  --max-tokens N          max_tokens of the default prompt (default 128)
  --warmup N              unmeasured requests first (default 0)
  --header "Name: value"  extra request header (repeatable)
  --output FILE           write the results as JSON
  --label TEXT            name this run (shown in tables and --compare)
  --compare A B           print two saved runs side by side with ratios`

function fail(message: string, code = 2): never {
  console.error(`llm-bench: ${message}${code === 2 ? `\n\n${usage}` : ''}`)
  process.exit(code)
}

let parsed: ReturnType<typeof parse>
function parse() {
  // `pnpm bench -- --flag` hands the script a literal "--" first.
  const args = process.argv.slice(2)
  return parseArgs({
    args: args[0] === '--' ? args.slice(1) : args,
    allowPositionals: true,
    options: {
      'base-url': { type: 'string' }, endpoint: { type: 'string', default: '/v1/chat/completions' }, 'api-key': { type: 'string' },
      model: { type: 'string', default: 'llama3.2:1b' }, requests: { type: 'string' }, duration: { type: 'string' },
      concurrency: { type: 'string', default: '1' }, rate: { type: 'string' }, stream: { type: 'boolean', default: false },
      payload: { type: 'string' }, 'payload-file': { type: 'string' }, 'max-tokens': { type: 'string', default: '128' },
      warmup: { type: 'string', default: '0' }, header: { type: 'string', multiple: true, default: [] }, output: { type: 'string' },
      label: { type: 'string' }, compare: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  })
}
try {
  parsed = parse()
} catch (err) {
  fail((err as Error).message)
}
const v = parsed.values
if (v.help) {
  console.log(usage)
  process.exit(0)
}

if (v.compare) {
  if (parsed.positionals.length !== 2) fail('--compare takes two result files')
  const [a, b] = parsed.positionals.map((f) => {
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as BenchmarkResult
    } catch (err) {
      return fail(`cannot read ${f}: ${(err as Error).message}`, 1)
    }
  })
  console.log(compareResults(a, b))
  process.exit(0)
}

const positive = (name: string, raw: string | undefined, integer = true): number | undefined => {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) fail(`--${name} must be a positive ${integer ? 'whole ' : ''}number, got ${JSON.stringify(raw)}`)
  return n
}
if (!v['base-url']) fail('--base-url is required')
try {
  const u = new URL(v['base-url'])
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error()
} catch {
  fail(`--base-url must be an http(s) URL, got ${JSON.stringify(v['base-url'])}`)
}
if (v.requests && v.duration) fail('use --requests or --duration, not both')
let payload: Record<string, unknown> | undefined
try {
  const text = v.payload ?? (v['payload-file'] ? readFileSync(v['payload-file'], 'utf8') : undefined)
  payload = text === undefined ? undefined : JSON.parse(text)
} catch (err) {
  fail(`the payload is not valid JSON: ${(err as Error).message}`)
}
const headers: Record<string, string> = {}
for (const h of v.header) {
  const i = h.indexOf(':')
  if (i < 1) fail(`--header must look like "Name: value", got ${JSON.stringify(h)}`)
  headers[h.slice(0, i).trim()] = h.slice(i + 1).trim()
}

// A results file that cannot be written is found out now, not after the whole run.
if (v.output) {
  const file = resolve(v.output)
  try {
    accessSync(dirname(file), constants.W_OK)
  } catch {
    fail(`--output ${v.output}: cannot write to ${dirname(file)}; choose a writable folder (in the proxy image: /results)`)
  }
}

// A progress bar only for a person at a terminal.
const showProgress = process.stderr.isTTY && !process.env.CI
const onProgress = showProgress
  ? (done: number, total: number | null) => {
      const width = 30
      const frac = total ? done / total : 0
      const bar = total ? '█'.repeat(Math.round(frac * width)).padEnd(width, '░') : ''
      process.stderr.write(`\r${bar} ${done}${total ? `/${total}` : ''} requests`)
    }
  : undefined

let result: BenchmarkResult
try {
  result = await runBenchmark({
    baseUrl: v['base-url']!,
    endpoint: v.endpoint!,
    apiKey: v['api-key'] ?? (v.endpoint!.endsWith('/messages') ? process.env.ANTHROPIC_API_KEY : process.env.OPENAI_API_KEY),
    model: v.model!,
    requests: positive('requests', v.requests),
    durationMs: v.duration ? positive('duration', v.duration, false)! * 1000 : undefined,
    concurrency: positive('concurrency', v.concurrency)!,
    rate: positive('rate', v.rate, false),
    stream: v.stream!,
    payload,
    maxTokens: positive('max-tokens', v['max-tokens'])!,
    warmup: v.warmup === '0' ? 0 : positive('warmup', v.warmup)!,
    label: v.label,
    headers,
    onProgress,
  })
} catch (err) {
  fail((err as Error).message, 1)
}
if (showProgress) process.stderr.write('\n')
console.log(formatTable(result))
if (v.output) writeFileSync(v.output, JSON.stringify(result, null, 2) + '\n')
process.exit(result.successful === 0 && result.requests > 0 ? 1 : 0)
