#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { DEFAULT_MODELS, startMockBackend } from './index.js'

const usage = `mock-backend: a simulated OpenAI-compatible backend (chat, completions, embeddings,
the Responses API) that also speaks Anthropic Messages (POST /v1/messages)

Options (flag, or environment variable):
  --host HOST             MOCK_HOST           default 127.0.0.1
  --port PORT             MOCK_PORT           default 11434
  --ttft-ms MS            MOCK_TTFT_MS        default 200
  --tps N                 MOCK_TPS            default 30 (0 = no delay)
  --answer-tokens N       MOCK_ANSWER_TOKENS  default 64
  --models a,b            MOCK_MODELS         default ${DEFAULT_MODELS.join(',')}
  --capacity N            MOCK_CAPACITY       default 0 (off). Slow-down mode, like a batching GPU
                          server: past N generation requests at once, a request that starts while
                          n are running gets n/N times the TTFT and N/n of the token rate.
Per request: headers x-mock-scenario, x-mock-ttft-ms, x-mock-tokens-per-second, x-mock-answer-tokens,
x-mock-cached-tokens, x-mock-cache-write-tokens (Anthropic), x-mock-content-encoding (gzip, deflate, br).
Scenarios: error-<status>[-text], hang, hang-after-first-token, stream-error, stream-reset,
reasoning, tool-call, refusal (chat), no-usage, no-done, failed (Responses API). Chat and completions
answer \`n\` choices.`

function fail(message: string): never {
  console.error(`mock-backend: ${message}\n\n${usage}`)
  process.exit(2)
}

let values: Record<string, string | boolean | undefined>
try {
  // `pnpm mock-backend -- --port 1` hands the `--` through: skip it rather than read the rest as positionals.
  const argv = process.argv.slice(2)
  values = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      host: { type: 'string' }, port: { type: 'string' }, 'ttft-ms': { type: 'string' }, tps: { type: 'string' },
      'answer-tokens': { type: 'string' }, models: { type: 'string' }, capacity: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  }).values
} catch (err) {
  fail((err as Error).message)
}
if (values.help) {
  console.log(usage)
  process.exit(0)
}

const num = (flag: string, env: string, fallback: number, min = 0) => {
  const raw = (values[flag] as string | undefined) ?? process.env[env]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) fail(`--${flag} (${env}) must be a number ≥ ${min}, got ${JSON.stringify(raw)}`)
  return n
}

const backend = await startMockBackend({
  host: (values.host as string | undefined) ?? process.env.MOCK_HOST ?? '127.0.0.1',
  port: num('port', 'MOCK_PORT', 11434),
  ttftMs: num('ttft-ms', 'MOCK_TTFT_MS', 200),
  tokensPerSecond: num('tps', 'MOCK_TPS', 30),
  answerTokens: num('answer-tokens', 'MOCK_ANSWER_TOKENS', 64, 1),
  capacity: num('capacity', 'MOCK_CAPACITY', 0),
  models: ((values.models as string | undefined) ?? process.env.MOCK_MODELS)?.split(',').map((m) => m.trim()).filter(Boolean),
}).catch((err: Error) => fail(err.message))

console.log(`mock-backend listening on ${backend.url}; models: ${backend.models.join(', ')}`)
const stop = () => backend.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
