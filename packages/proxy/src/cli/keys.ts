#!/usr/bin/env node
// `pnpm keys …`: the admin API from a terminal. ADMIN_TOKEN (and ADMIN_URL, default
// http://127.0.0.1:8003) from the environment.
import { parseArgs } from 'node:util'

const usage = `Usage: pnpm keys <command> [options]

  create --name NAME [--owner TEAM] [--expires 30d] [--rpm N] [--tpm N]
         [--budget-tokens N | --budget-usd N] [--period day|month] [--models 'llama*,gpt-4o']
         [--upstream-key sk-...] [--capture inherit|off|errors|all]      prints the key once
  list                                        every key (never their secrets)
  get ID                                      one key
  update ID [the options of create]           change a key's name, limits, models, expiry, capture
  rotate ID                                   a new secret for the same key (the old one stops working)
  revoke ID                                   the key stops working on every proxy within 2 s
  delete ID                                   remove the key (its rows keep its id)
  usage ID                                    requests, tokens and cost in the budget period

Options: --json prints the API's JSON. Environment: ADMIN_TOKEN (required), ADMIN_URL.`

const options = {
  name: { type: 'string' }, owner: { type: 'string' }, expires: { type: 'string' }, rpm: { type: 'string' }, tpm: { type: 'string' },
  'budget-tokens': { type: 'string' }, 'budget-usd': { type: 'string' }, period: { type: 'string' }, models: { type: 'string' },
  'upstream-key': { type: 'string' }, capture: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const

function fail(message: string, code = 2): never {
  console.error(`keys: ${message}`)
  process.exit(code)
}

let parsed
try {
  parsed = parseArgs({ options, allowPositionals: true })
} catch (err) {
  fail(`${(err as Error).message}\n\n${usage}`)
}
const { values: v, positionals } = parsed
const [command, id] = positionals
if (v.help || !command) {
  console.log(usage)
  process.exit(command || v.help ? 0 : 2)
}
const token = process.env.ADMIN_TOKEN
if (!token) fail('set ADMIN_TOKEN (the proxy\'s admin token) in the environment')
const base = (process.env.ADMIN_URL ?? 'http://127.0.0.1:8003').replace(/\/+$/, '')

const int = (name: string, s: string | undefined) => {
  if (s === undefined) return undefined
  if (!/^\d+$/.test(s) || Number(s) <= 0) fail(`--${name} expects a whole number above 0 (got "${s}")`)
  return Number(s)
}
function body(): Record<string, unknown> {
  const limits: Record<string, unknown> = {}
  if (v.rpm !== undefined) limits.rpm = int('rpm', v.rpm)
  if (v.tpm !== undefined) limits.tpm = int('tpm', v.tpm)
  if (v['budget-tokens'] !== undefined) limits.budget_tokens = int('budget-tokens', v['budget-tokens'])
  if (v['budget-usd'] !== undefined) {
    const n = Number(v['budget-usd'])
    if (!(n > 0)) fail(`--budget-usd expects an amount above 0 (got "${v['budget-usd']}")`)
    limits.budget_usd = n
  }
  if (v.period !== undefined) limits.budget_period = v.period
  const b: Record<string, unknown> = {}
  if (v.name !== undefined) b.name = v.name
  if (v.owner !== undefined) b.owner = v.owner
  if (v.expires !== undefined) b.expires_in = v.expires
  if (Object.keys(limits).length) b.limits = limits
  if (v.models !== undefined) b.models = v.models.split(',').map((m) => m.trim()).filter(Boolean)
  if (v['upstream-key'] !== undefined) b.upstream_key = v['upstream-key']
  if (v.capture !== undefined) b.capture = v.capture
  return b
}

async function call(method: string, path: string, payload?: unknown): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
      body: payload ? JSON.stringify(payload) : undefined,
    })
  } catch (err) {
    fail(`cannot reach the admin API at ${base} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); is the proxy running with ADMIN_TOKEN set?`, 1)
  }
  if (res.status === 204) return null
  const json = (await res.json().catch(() => null)) as { error?: { message: string } } | null
  if (!res.ok) fail(json?.error?.message ?? `HTTP ${res.status}`, 1)
  return json
}

type View = { id: string; name: string; owner: string | null; display: string; status: string; expires_at: string | null; limits: Record<string, unknown>; models: string[] | null }
const limitsText = (l: Record<string, unknown>) =>
  [l.rpm && `${l.rpm} rpm`, l.tpm && `${l.tpm} tpm`, l.budget_tokens && `${l.budget_tokens} tokens/${l.budget_period}`, l.budget_usd && `$${l.budget_usd}/${l.budget_period}`].filter(Boolean).join(', ') || 'no limits'
const line = (k: View) => `${k.id}  ${k.name.padEnd(16)} ${k.display}  ${k.status.padEnd(7)} ${k.expires_at ? `expires ${k.expires_at.slice(0, 10)}` : 'no expiry'}  ${limitsText(k.limits)}${k.models ? `  models: ${k.models.join(',')}` : ''}`
const need = () => id ?? fail(`${command} needs a key id (see: pnpm keys list)`)

const out = (x: unknown, text: () => string) => console.log(v.json ? JSON.stringify(x, null, 2) : text())
switch (command) {
  case 'create': {
    if (!v.name) fail('create needs --name')
    const k = (await call('POST', '/admin/keys', body())) as View & { secret: string }
    out(k, () => `${line(k)}\n\nsecret (shown once, store it now):\n${k.secret}`)
    break
  }
  case 'list': {
    const { data } = (await call('GET', '/admin/keys')) as { data: View[] }
    out({ data }, () => (data.length ? data.map(line).join('\n') : 'no keys yet (pnpm keys create --name NAME)'))
    break
  }
  case 'get': {
    const k = (await call('GET', `/admin/keys/${encodeURIComponent(need())}`)) as View
    out(k, () => line(k))
    break
  }
  case 'update': {
    const k = (await call('PATCH', `/admin/keys/${encodeURIComponent(need())}`, body())) as View
    out(k, () => line(k))
    break
  }
  case 'rotate': {
    const k = (await call('POST', `/admin/keys/${encodeURIComponent(need())}/rotate`)) as View & { secret: string }
    out(k, () => `${line(k)}\n\nnew secret (shown once; the old one no longer works):\n${k.secret}`)
    break
  }
  case 'revoke': {
    const k = (await call('POST', `/admin/keys/${encodeURIComponent(need())}/revoke`)) as View
    out(k, () => line(k))
    break
  }
  case 'delete':
    await call('DELETE', `/admin/keys/${encodeURIComponent(need())}`)
    if (!v.json) console.log(`deleted ${id}`)
    break
  case 'usage': {
    const u = (await call('GET', `/admin/keys/${encodeURIComponent(need())}/usage`)) as { key: View; period: { start: string; end: string }; requests: number; tokens: number; cost_usd: number; budget_remaining_tokens: number | null; budget_remaining_usd: number | null }
    out(u, () => `${line(u.key)}\n${u.period.start} → ${u.period.end}: ${u.requests} requests, ${u.tokens} tokens, $${u.cost_usd}` +
      `${u.budget_remaining_tokens !== null ? `, ${u.budget_remaining_tokens} tokens left` : ''}${u.budget_remaining_usd !== null ? `, $${u.budget_remaining_usd} left` : ''}`)
    break
  }
  default:
    fail(`unknown command "${command}"\n\n${usage}`)
}
