import Anthropic from '@anthropic-ai/sdk'
import { countPromptTokens } from '@llm-proxy/mock-backend'
import { afterEach, describe, expect, test } from 'vitest'
import { CLIENT_KEY, freePort, startScriptedUpstream, startStack, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

const model = 'mock-llama-3.2-1b'
const messages = [{ role: 'user' as const, content: 'Tell the proxy tests something' }]
const prompt = countPromptTokens({ messages })

const expectAnthropicError = (body: unknown, type: string) =>
  expect(body).toEqual({ type: 'error', error: { type, message: expect.any(String) } })

describe('POST /v1/messages with the official @anthropic-ai/sdk', () => {
  test('non-streaming: messages.create, every field of the row; x-api-key and anthropic-version forwarded', async () => {
    stack = await startStack({ mock: { answerTokens: 9 } })
    const msg = await stack.anthropic.messages.create(
      { model, max_tokens: 100, messages },
      { headers: { 'x-mock-cached-tokens': '2', 'x-mock-cache-write-tokens': '3' } },
    )
    const row = await stack.rows.next()
    expect(msg.stop_reason).toBe('end_turn')
    expect(row).toMatchObject({
      endpoint: '/v1/messages',
      stream: false,
      model_requested: model,
      model: msg.model,
      status_code: 200,
      outcome: 'success',
      finish_reason: 'end_turn',
      ttft_ms: null,
      // Anthropic's input_tokens leaves out cache reads and writes; prompt_tokens is all three.
      prompt_tokens: msg.usage.input_tokens + 2 + 3,
      completion_tokens: 9,
      total_tokens: prompt + 9,
      cached_tokens: 2,
      reasoning_tokens: null,
      tokens_estimated: false,
    })
    expect(row.prompt_tokens).toBe(prompt)
    // This SDK sends its key as a bearer token; it reaches the backend as the client sent it.
    const h = stack.backend!.requests[0].headers
    expect(h.authorization).toBe(`Bearer ${CLIENT_KEY}`)
    expect(h['anthropic-version']).toBeTruthy()
    expect(row.user_agent).toMatch(/Anthropic/i)
  })

  test('a client that authenticates with x-api-key (as Anthropic clients do): forwarded with anthropic-version', async () => {
    stack = await startStack()
    const client = new Anthropic({ baseURL: stack.url, apiKey: null, defaultHeaders: { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' }, maxRetries: 0 })
    await client.messages.create({ model, max_tokens: 10, messages })
    await stack.rows.next()
    const h = stack.backend!.requests[0].headers
    expect(h['x-api-key']).toBe(CLIENT_KEY)
    expect(h['anthropic-version']).toBe('2023-06-01')
  })

  test('messages.stream: TTFT at the first content_block_delta, tokens from message_start + message_delta', async () => {
    stack = await startStack({ mock: { ttftMs: 100, tokensPerSecond: 50, answerTokens: 11 } })
    const stream = stack.anthropic.messages.stream({ model, max_tokens: 100, messages }, { headers: { 'x-mock-cached-tokens': '4' } })
    const types: string[] = []
    stream.on('streamEvent', (e) => types.push(e.type))
    const final = await stream.finalMessage()
    const row = await stack.rows.next()
    // The SDK does not surface the `ping` that follows message_start.
    types.splice(1, 0, 'ping')
    expect(types[0]).toBe('message_start')
    expect(types.at(-1)).toBe('message_stop')
    expect(row).toMatchObject({
      stream: true,
      outcome: 'success',
      finish_reason: 'end_turn',
      model,
      // message_delta repeats the input and cache fields (cumulative): they are not added twice.
      prompt_tokens: prompt,
      cached_tokens: 4,
      completion_tokens: final.usage.output_tokens,
      total_tokens: prompt + 11,
      tokens_estimated: false,
      chunk_count: types.length,
    })
    expect(final.usage.output_tokens).toBe(11)
    expect(row.ttft_ms!).toBeGreaterThanOrEqual(100)
    expect(row.ttft_ms!).toBeLessThan(100 + 400)
    // Each stored time is rounded to the microsecond, so allow for that.
    expect(row.tpot_ms!).toBeCloseTo((row.ttlt_ms! - row.ttft_ms!) / 10, 2)
    // Loose bounds (a loaded machine bunches events); the definition itself is exact.
    expect(row.output_tps!).toBeCloseTo((row.completion_tokens! - 1) / ((row.ttlt_ms! - row.ttft_ms!) / 1000), 0)
    expect(row.output_tps!).toBeGreaterThan(20)
    expect(row.output_tps!).toBeLessThan(150)
  })

  test('thinking deltas are output (TTFT), tool input deltas too; stop_reason tool_use', async () => {
    stack = await startStack({ mock: { answerTokens: 3 } })
    const thinking = await stack.anthropic.messages.stream({ model, max_tokens: 100, messages }, { headers: { 'x-mock-scenario': 'reasoning' } }).finalMessage()
    expect(thinking.content[0].type).toBe('thinking')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'success', completion_tokens: 3 + 4, finish_reason: 'end_turn' })

    const tool = await stack.anthropic.messages
      .stream({ model, max_tokens: 100, messages, tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] }, { headers: { 'x-mock-scenario': 'tool-call' } })
      .finalMessage()
    expect(tool.content[0]).toMatchObject({ type: 'tool_use', input: { city: 'Paris', unit: 'celsius' } })
    const row = await stack.rows.next()
    expect(row).toMatchObject({ outcome: 'success', finish_reason: 'tool_use', completion_tokens: 4 })
    expect(row.ttft_ms).not.toBeNull()
  })

  test('max_tokens: stop_reason max_tokens', async () => {
    stack = await startStack({ mock: { answerTokens: 30 } })
    await stack.anthropic.messages.create({ model, max_tokens: 4, messages, stream: true }).then(async (s) => { for await (const _ of s); })
    expect(await stack.rows.next()).toMatchObject({ outcome: 'success', finish_reason: 'max_tokens', completion_tokens: 4 })
  })

  test('an overloaded_error event mid-stream is a backend_error; the SDK raises it', async () => {
    stack = await startStack()
    const err = await stack.anthropic.messages.stream({ model, max_tokens: 100, messages }, { headers: { 'x-mock-scenario': 'stream-error' } }).finalMessage().catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.APIError)
    expect(String(err.message)).toMatch(/Overloaded/)
    const row = await stack.rows.next()
    expect(row).toMatchObject({ outcome: 'backend_error', error_type: 'overloaded_error', error_message: 'Overloaded', status_code: 200 })
    expect(row.ttft_ms).not.toBeNull()
  })

  test('529 overloaded_error from the backend passes through unchanged and is a backend_error', async () => {
    stack = await startStack()
    const err = await stack.anthropic.messages.create({ model, max_tokens: 10, messages }, { headers: { 'x-mock-scenario': 'error-529' } }).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.APIError)
    expect(err.status).toBe(529)
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } })
    expect(await stack.rows.next()).toMatchObject({ outcome: 'backend_error', status_code: 529, error_type: 'overloaded_error', error_message: 'Overloaded' })
  })

  test('a 4xx from the backend: client_error with Anthropic error type', async () => {
    stack = await startStack()
    const err = await stack.anthropic.messages.create({ model: 'no-such-model', max_tokens: 10, messages }).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.NotFoundError)
    expect(await stack.rows.next()).toMatchObject({ outcome: 'client_error', status_code: 404, error_type: 'not_found_error' })
  })

  test('a stream that ends without message_stop or stop_reason is an incomplete_stream', async () => {
    const up = await startScriptedUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(
        'event: message_start\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":5,"output_tokens":1}}}\n\n' +
          'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
      )
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages, stream: true }) })
      await res.text()
      // message_start's output_tokens is a count so far: without a message_delta, output is counted from the stream.
      expect(await stack.rows.next()).toMatchObject({ outcome: 'backend_error', error_type: 'incomplete_stream', prompt_tokens: 5, completion_tokens: 1, tokens_estimated: true, total_tokens: 6 })
    } finally {
      await up.close()
    }
  })
})

describe('the proxy answers /v1/messages in Anthropic shape', () => {
  test('BACKEND_API_KEY goes upstream as x-api-key; the client key does not', async () => {
    stack = await startStack({ config: { backendApiKey: 'sk-ant-server-side' } })
    await stack.anthropic.messages.create({ model, max_tokens: 10, messages }, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })
    await stack.rows.next()
    const h = stack.backend!.requests[0].headers
    expect(h['x-api-key']).toBe('sk-ant-server-side')
    expect(h.authorization).toBeUndefined()
    expect(JSON.stringify(h)).not.toContain(CLIENT_KEY)
  })

  test('malformed JSON → 400 invalid_request_error, and a row', async () => {
    stack = await startStack()
    const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' })
    expect(res.status).toBe(400)
    expectAnthropicError(await res.json(), 'invalid_request_error')
    expect(await stack.rows.next()).toMatchObject({ endpoint: '/v1/messages', outcome: 'client_error', error_type: 'invalid_json' })
  })

  test('backend down → 502 api_error, the SDK gets an APIError; a network_error row', async () => {
    stack = await startStack({ backendUrl: `http://127.0.0.1:${await freePort()}` })
    const err = await stack.anthropic.messages.create({ model, max_tokens: 10, messages }).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.APIError)
    expect(err.status).toBe(502)
    expectAnthropicError(err.error, 'api_error')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'network_error', error_type: 'backend_unreachable' })
  })

  test('a body over BODY_LIMIT → 413 request_too_large', async () => {
    stack = await startStack({ config: { bodyLimit: 500 } })
    const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(1000) }] }) })
    expect(res.status).toBe(413)
    expectAnthropicError(await res.json(), 'request_too_large')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'client_error', status_code: 413 })
  })

  test('GET /v1/messages → 405 in Anthropic shape with Allow: POST, no row', async () => {
    stack = await startStack()
    const res = await fetch(`${stack.url}/v1/messages`)
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    const body = (await res.json()) as any
    expectAnthropicError(body, 'invalid_request_error')
    expect(body.error.message).toMatch(/use POST/)
    expect(await stack.stored()).toHaveLength(0)
  })
})

describe('AUTH_MODE=keys on /v1/messages', () => {
  test('refusals in Anthropic shape; x-api-key carries the proxy key; the key never goes upstream; cost counts toward its budget', async () => {
    stack = await startStack({ keys: {}, config: { backendApiKey: 'sk-ant-owner' }, mock: { models: ['claude-sonnet-4-20250514'], answerTokens: 10 } })
    const created = await stack.admin!.call('POST', '/admin/keys', { name: 'claude-user', limits: { budget_usd: 100 } })
    expect(created.status).toBe(201)
    const key = created.body as { id: string; secret: string }
    const model = 'claude-sonnet-4-20250514'

    const refused = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'lmp-wrong' }, body: JSON.stringify({ model, max_tokens: 5, messages }) })
    expect(refused.status).toBe(401)
    expectAnthropicError(await refused.json(), 'authentication_error')
    expect(await stack.rows.next()).toMatchObject({ endpoint: '/v1/messages', status_code: 401, error_type: 'invalid_api_key' })

    const client = new Anthropic({ baseURL: stack.url, apiKey: null, defaultHeaders: { 'x-api-key': key.secret }, maxRetries: 0 })
    const msg = await client.messages.create({ model, max_tokens: 50, messages })
    const row = await stack.rows.next()
    expect(row).toMatchObject({ key_id: key.id, outcome: 'success' })
    expect(row.cost_usd).toBeGreaterThan(0)
    const upstream = stack.backend!.requests.at(-1)!.headers
    expect(upstream['x-api-key']).toBe('sk-ant-owner')
    expect(upstream.authorization).toBeUndefined()
    expect(JSON.stringify(upstream)).not.toContain(key.secret)
    expect(msg.usage.output_tokens).toBe(10)

    const usage = (await stack.admin!.call('GET', `/admin/keys/${key.id}/usage`)).body
    expect(usage.cost_usd).toBeCloseTo(row.cost_usd!, 6)
  })
})
