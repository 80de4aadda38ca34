// node packages/proxy/bench/keys-cost.mjs [--requests 200000] — what AUTH_MODE=keys adds per request
// on the proxy's own code path, in-process: reading the presented key, its lookup (SHA-256 once per
// connection), expiry and revocation, the limits (requests/minute, tokens/minute, a budget) with their
// x-ratelimit-* headers, the usage counted after the response, and the backend headers without the
// client's key. CPU-bound: µs per request, beside the headers the proxy builds without keys (the same
// request).
import { parseArgs } from 'node:util'
import { KeyGuard } from '../dist/keys/guard.js'
import { hashSecret, newSecret, presentedSecret } from '../dist/keys/secrets.js'
import { backendRequestHeaders } from '../dist/upstream/headers.js'

const { values: a } = parseArgs({ options: { requests: { type: 'string', default: '200000' } } })
const N = Number(a.requests)
const secret = newSecret()
const now = Date.now()
const guard = new KeyGuard({ listKeys: async () => [], syncCounters: async () => [] })
guard.load([{
  id: 'key_bench', name: 'bench', owner: null, hash: hashSecret(secret), display: 'lmp-…', created_at: now, updated_at: now, expires_at: now + 86_400_000,
  revoked_at: null, rpm: 10_000_000, tpm: 1_000_000_000, budget_tokens: 1_000_000_000_000, budget_usd: null, budget_period: 'month', models: null,
  upstream_key_enc: null, capture: 'inherit',
}])
const client = { host: '127.0.0.1:8001', 'content-type': 'application/json', 'content-length': '120', 'user-agent': 'OpenAI/JS 4.77.0', accept: 'application/json', authorization: `Bearer ${secret}`, connection: 'keep-alive' }
// The options as forward.ts makes them for each request: one literal of the same shape in both modes
// (a spread of a shared object per call, as this file did before, cost ~1.7 µs by itself and was
// counted as the keys' cost).
const headerOptions = (stripClientKey) => ({ backendApiKey: undefined, stripClientKey, apiKeyHeader: 'authorization', remoteAddress: '127.0.0.1', protocol: 'http', bodyLength: 120 })
/** The request's socket, as the proxy passes it: a keep-alive client presents its key again on it. */
const connection = {}

function withKeys() {
  const auth = guard.authenticate(presentedSecret(client), connection)
  if ('error' in auth) throw new Error('the key was refused')
  const admitted = guard.admit(auth.key)
  if ('error' in admitted) throw new Error('the limits refused the key')
  const headers = backendRequestHeaders(client, headerOptions(true))
  guard.recordUsage(auth.key.rec.id, 76, 0)
  return headers['content-length'].length + Object.keys(admitted.headers).length
}
const withoutKeys = () => backendRequestHeaders(client, headerOptions(false))['content-length'].length

const cpuUs = (fn) => {
  let sink = 0
  for (let i = 0; i < N / 10; i++) sink += fn() // warm-up
  const t = process.cpuUsage()
  for (let i = 0; i < N; i++) sink += fn()
  const c = process.cpuUsage(t)
  if (sink === 0) throw new Error('nothing measured')
  return (c.user + c.system) / N
}
console.log(`AUTH_MODE=keys, the proxy's own code per request, ${N} requests per figure (median of 5)`)
const runs = { without: [], with: [] }
for (let r = 0; r < 5; r++) {
  runs.without.push(cpuUs(withoutKeys))
  runs.with.push(cpuUs(withKeys))
}
const median = (xs) => [...xs].sort((x, y) => x - y)[2]
console.log(`  backend headers only (passthrough)   ${median(runs.without).toFixed(2)} µs`)
console.log(`  with keys                            ${median(runs.with).toFixed(2)} µs  (+${(median(runs.with) - median(runs.without)).toFixed(2)} µs per request)`)
