// AUTH_MODE=keys with the admin API: real proxy, real store, the openai SDK as the client.
import OpenAI from 'openai'
import { Agent, request } from 'undici'
import { afterEach, expect, test } from 'vitest'
import { chatBody, startStack, streamBody, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

/** A clock held still 10 s into a minute, moved by hand: rate windows without waiting. */
function clock(start = Date.UTC(2026, 5, 1, 12, 0, 10)) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const client = (s: Stack, apiKey: string) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0 })
async function createKey(s: Stack, body: Record<string, unknown>) {
  const res = await s.admin!.call('POST', '/admin/keys', body)
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body as { id: string; secret: string; display: string }
}

test('a request without a usable key is a 401 in OpenAI shape, with a row; the proxy key never goes upstream', async () => {
  stack = await startStack({ keys: {} })
  const key = await createKey(stack, { name: 'alice' })
  expect(key.secret).toMatch(/^lmp-[A-Za-z0-9_-]{43}$/)

  const none = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody()) })
  expect(none.status).toBe(401)
  expect(((await none.json()) as { error: unknown }).error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" })
  expect(await stack.rows.next()).toMatchObject({ status_code: 401, outcome: 'client_error', error_type: 'missing_api_key', key_id: null })
  const err = await client(stack, 'lmp-not-a-key').chat.completions.create(chatBody()).catch((e) => e)
  expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
  expect(err.code).toBe('invalid_api_key')
  expect(await stack.rows.next()).toMatchObject({ status_code: 401, outcome: 'client_error', error_type: 'invalid_api_key', key_id: null })
  const ok = await client(stack, key.secret).chat.completions.create(chatBody())
  expect(ok.choices[0].message.content).toBeTruthy()
  expect(await stack.rows.next()).toMatchObject({ status_code: 200, outcome: 'success', key_id: key.id })
  const upstream = stack.backend!.requests.at(-1)!
  expect(upstream.headers.authorization).toBeUndefined()
  expect(JSON.stringify(upstream.headers)).not.toContain(key.secret)

  await stack.admin!.call('POST', `/admin/keys/${key.id}/revoke`)
  const revoked = await client(stack, key.secret).chat.completions.create(chatBody()).catch((e) => e)
  expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError)
  expect(revoked.message).toMatch(/revoked/)
  expect(await stack.rows.next()).toMatchObject({ status_code: 401, error_type: 'revoked_api_key', key_id: key.id })
  // Listing models needs a key too (no row: not metered).
  expect((await fetch(`${stack.url}/v1/models`)).status).toBe(401)
})

test('one keep-alive connection, several keys in turn: each request is its own key; revocation holds on the open connection', async () => {
  stack = await startStack({ keys: {} })
  const alice = await createKey(stack, { name: 'alice' })
  const bob = await createKey(stack, { name: 'bob' })
  // One socket for everything (a load balancer's pooled connection carries several clients' keys).
  const agent = new Agent({ connections: 1, pipelining: 1 })
  let connections = 0
  const send = async (secret: string | null) => {
    const res = await request(`${stack!.url}/v1/chat/completions`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
      body: JSON.stringify(chatBody()),
    })
    await res.body.text()
    return res.statusCode
  }
  agent.on('connect', () => connections++)
  const statuses = [await send(alice.secret), await send(alice.secret), await send(bob.secret), await send(`${alice.secret.slice(0, -1)}x`), await send(null), await send(alice.secret)]
  await stack.admin!.call('POST', `/admin/keys/${alice.id}/revoke`)
  statuses.push(await send(alice.secret), await send(bob.secret))
  await agent.close()
  expect(statuses).toEqual([200, 200, 200, 401, 401, 200, 401, 200])
  const rows = await stack.rows.until(8)
  expect(rows.map((r) => [r.key_id, r.error_type])).toEqual([
    [alice.id, null], [alice.id, null], [bob.id, null], [null, 'invalid_api_key'], [null, 'missing_api_key'], [alice.id, null], [alice.id, 'revoked_api_key'], [bob.id, null],
  ])
  expect(connections).toBe(1)
})

test('an expired key is refused; the key own upstream key, else BACKEND_API_KEY, goes upstream', async () => {
  const c = clock()
  stack = await startStack({ keys: { now: c.now, secretKey: 'secret-key-0123456789abcdef0123456789' }, config: { backendApiKey: 'sk-owner' } })
  const plain = await createKey(stack, { name: 'plain', expires_in: '1h' })
  const own = await createKey(stack, { name: 'own', upstream_key: 'sk-team-upstream' })
  await client(stack, plain.secret).chat.completions.create(chatBody())
  expect(stack.backend!.requests.at(-1)!.headers.authorization).toBe('Bearer sk-owner')
  await client(stack, own.secret).chat.completions.create(chatBody())
  expect(stack.backend!.requests.at(-1)!.headers.authorization).toBe('Bearer sk-team-upstream')
  // The upstream key is stored encrypted and never shown again.
  expect(JSON.stringify((await stack.admin!.call('GET', `/admin/keys/${own.id}`)).body)).not.toContain('sk-team-upstream')
  expect(await stack.dump()).not.toContain('sk-team-upstream')

  c.advance(3_600_000)
  const err = await client(stack, plain.secret).chat.completions.create(chatBody()).catch((e) => e)
  expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
  expect(err.message).toMatch(/expired/)
  await stack.rows.until(3)
  expect(stack.rows.all[2]).toMatchObject({ error_type: 'expired_api_key', key_id: plain.id })
})

test('5 requests per minute: exactly 5 get through, then 429 with retry-after and x-ratelimit headers; the next minute opens again', async () => {
  const c = clock()
  stack = await startStack({ keys: { now: c.now } })
  const key = await createKey(stack, { name: 'bob', limits: { rpm: 5 } })
  const statuses: number[] = []
  let limited: Response | null = null
  for (let i = 0; i < 7; i++) {
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' }, body: JSON.stringify(chatBody()) })
    statuses.push(res.status)
    if (res.status === 200) expect(res.headers.get('x-ratelimit-remaining-requests')).toBe(String(5 - statuses.length))
    else limited = res
    await res.arrayBuffer()
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429])
  expect(limited!.headers.get('retry-after')).toBe('50') // 10 s into the minute
  expect(limited!.headers.get('x-ratelimit-limit-requests')).toBe('5')
  expect(limited!.headers.get('x-ratelimit-remaining-requests')).toBe('0')
  expect(limited!.headers.get('x-ratelimit-reset-requests')).toBe('50s')
  const rows = await stack.rows.until(7)
  expect(rows.slice(5).map((r) => [r.status_code, r.error_type, r.key_id])).toEqual([[429, 'rate_limit_requests', key.id], [429, 'rate_limit_requests', key.id]])

  // The SDK sees OpenAI's error.
  const err = await client(stack, key.secret).chat.completions.create(chatBody()).catch((e) => e)
  expect(err).toBeInstanceOf(OpenAI.RateLimitError)
  expect(err.code).toBe('rate_limit_exceeded')
  c.advance(50_000)
  expect((await client(stack, key.secret).chat.completions.create(chatBody())).choices).toHaveLength(1)
})

test('a token budget: requests already running finish; once used up, 429 insufficient_quota until the period ends', async () => {
  stack = await startStack({ keys: {}, mock: { answerTokens: 10 } })
  const key = await createKey(stack, { name: 'carol', limits: { budget_tokens: 40, budget_period: 'day' } })
  const c = client(stack, key.secret)
  let ok = 0
  for (let i = 0; i < 10; i++) {
    const res = await c.chat.completions.create(chatBody()).catch((e) => e)
    if (res instanceof OpenAI.RateLimitError) {
      expect(res.code).toBe('insufficient_quota')
      break
    }
    ok++
  }
  const used = (await stack.rows.until(ok)).reduce((n, r) => n + (r.prompt_tokens ?? 0) + (r.completion_tokens ?? 0), 0)
  expect(used).toBeGreaterThanOrEqual(40)
  expect(used - 40).toBeLessThan(used / ok) // at most one request past the budget
  expect(await stack.rows.next().then(() => stack!.rows.all.at(-1))).toMatchObject({ status_code: 429, error_type: 'insufficient_quota', key_id: key.id })
  const usage = (await stack.admin!.call('GET', `/admin/keys/${key.id}/usage`)).body
  expect(usage, JSON.stringify({ usage, used, ok })).toMatchObject({ tokens: used, budget_remaining_tokens: 0, requests: ok }) // refused requests are not usage
  // The key holder can read the same on the public port, and nothing about other keys.
  const mine = await (await fetch(`${stack.url}/v1/key`, { headers: { authorization: `Bearer ${key.secret}` } })).json()
  expect(mine).toMatchObject({ key: { id: key.id, name: 'carol' }, tokens: used, budget_remaining_tokens: 0 })
  expect(JSON.stringify(mine)).not.toContain(key.secret)
})

test('models outside the allow-list are 404 model_not_found (a row), streaming included', async () => {
  stack = await startStack({ keys: {} })
  const key = await createKey(stack, { name: 'dave', models: ['mock-llama-*'] })
  const c = client(stack, key.secret)
  const stream = await c.chat.completions.create(streamBody())
  for await (const _ of stream);
  const err = await c.chat.completions.create(chatBody({ model: 'mock-qwen2.5-7b' })).catch((e) => e)
  expect(err).toBeInstanceOf(OpenAI.NotFoundError)
  expect(err.code).toBe('model_not_found')
  const rows = await stack.rows.until(2)
  expect(rows[1]).toMatchObject({ status_code: 404, error_type: 'model_not_found', key_id: key.id, model_requested: 'mock-qwen2.5-7b' })
})

test('rotation: a new secret for the same key (history kept), the old one refused', async () => {
  stack = await startStack({ keys: {} })
  const key = await createKey(stack, { name: 'erin' })
  await client(stack, key.secret).chat.completions.create(chatBody())
  const rotated = (await stack.admin!.call('POST', `/admin/keys/${key.id}/rotate`)).body
  expect(rotated.id).toBe(key.id)
  expect(rotated.secret).not.toBe(key.secret)
  expect(await client(stack, key.secret).chat.completions.create(chatBody()).catch((e) => e)).toBeInstanceOf(OpenAI.AuthenticationError)
  await client(stack, rotated.secret).chat.completions.create(chatBody())
  const rows = await stack.rows.until(3)
  expect(rows.map((r) => [r.status_code, r.key_id])).toEqual([[200, key.id], [401, null], [200, key.id]])
})

test('the admin API needs its token, validates input, and is not served on the public port', async () => {
  stack = await startStack({ keys: {} })
  const admin = stack.admin!
  expect((await fetch(`${admin.url}/admin/keys`)).status).toBe(401)
  expect((await fetch(`${admin.url}/admin/keys`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef012345' } })).status).toBe(401)
  expect((await fetch(`${stack.url}/admin/keys`, { headers: { authorization: `Bearer ${admin.token}` } })).status).toBe(404)
  const bad = await admin.call('POST', '/admin/keys', { name: 'x', limits: { rpm: -1 } })
  expect(bad.status).toBe(400)
  expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param: 'limits.rpm' })
  expect((await admin.call('POST', '/admin/keys', { name: 'x', upstream_key: 'sk' })).body.error.message).toMatch(/SECRET_KEY/)
  const key = await createKey(stack, { name: 'frank', owner: 'team-a', expires_in: '30d', limits: { rpm: 60, budget_usd: 5 } })
  const list = (await admin.call('GET', '/admin/keys')).body
  expect(list.data).toHaveLength(1)
  expect(list.data[0]).toMatchObject({ id: key.id, name: 'frank', owner: 'team-a', status: 'active', display: key.display, limits: { rpm: 60, budget_usd: 5 } })
  expect(JSON.stringify(list)).not.toContain(key.secret)
  expect(JSON.stringify(list)).not.toMatch(/hash/)
  const updated = (await admin.call('PATCH', `/admin/keys/${key.id}`, { limits: { rpm: 10 }, models: ['gpt-*'] })).body
  expect(updated).toMatchObject({ limits: { rpm: 10, budget_usd: 5 }, models: ['gpt-*'] })
  expect((await admin.call('DELETE', `/admin/keys/${key.id}`)).status).toBe(204)
  expect((await admin.call('GET', `/admin/keys/${key.id}`)).status).toBe(404)
})
