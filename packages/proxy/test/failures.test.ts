import OpenAI from 'openai'
import { afterEach, describe, expect, test } from 'vitest'
import { CLIENT_KEY, chatBody, streamBody, freePort, startStack, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

const post = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

const expectOpenAiError = (body: any, code: string) => {
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: null, code } })
}

describe('the proxy answers itself', () => {
  test('backend down → 502 and a network_error row', async () => {
    stack = await startStack({ backendUrl: `http://127.0.0.1:${await freePort()}` })
    const err = await stack.client.chat.completions.create(chatBody()).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect(err.status).toBe(502)
    expect(err.error).toMatchObject({ code: 'backend_unreachable' })
    expect(await stack.rows.next()).toMatchObject({ outcome: 'network_error', status_code: 502, error_type: 'backend_unreachable', model_requested: 'mock-llama-3.2-1b' })
  })

  test('no response headers within the timeout → 504', async () => {
    stack = await startStack({ config: { headersTimeoutMs: 300 } })
    const res = await post(stack.url, JSON.stringify(chatBody()), { 'x-mock-scenario': 'hang' })
    expect(res.status).toBe(504)
    expectOpenAiError(await res.json(), 'backend_timeout')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'network_error', status_code: 504, error_type: 'backend_timeout' })
  })

  test.each([
    ['{"model": "m", "messages": [', 'invalid_json'],
    ['', 'invalid_json'],
    ['[1, 2]', 'invalid_body'],
    ['"text"', 'invalid_body'],
  ])('malformed body %j → 400 %s', async (body, code) => {
    stack = await startStack()
    const res = await post(stack.url, body)
    expect(res.status).toBe(400)
    expectOpenAiError(await res.json(), code)
    expect(await stack.rows.next()).toMatchObject({ outcome: 'client_error', status_code: 400, error_type: code, request_bytes: Buffer.byteLength(body) })
    expect(stack.backend!.requests).toHaveLength(0)
  })

  test('a body over BODY_LIMIT → 413', async () => {
    stack = await startStack({ config: { bodyLimit: 1000 } })
    const res = await post(stack.url, JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(2000) }] })))
    expect(res.status).toBe(413)
    expectOpenAiError(await res.json(), 'request_too_large')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'client_error', status_code: 413, error_type: 'request_too_large' })
  })

  test.each([
    ['GET', '/v1/unknown'],
    ['POST', '/v1/assistants'],
    ['GET', '/metrics'],
    ['GET', '/admin'],
  ])('%s %s → 404 in OpenAI shape, no row', async (method, path) => {
    stack = await startStack()
    const res = await fetch(stack.url + path, { method })
    expect(res.status).toBe(404)
    expectOpenAiError(await res.json(), 'unknown_url')
    expect(await stack.stored()).toHaveLength(0)
  })

  test('GET /v1/chat/completions → 405 in OpenAI shape with Allow: POST, no row', async () => {
    stack = await startStack()
    const res = await fetch(`${stack.url}/v1/chat/completions`)
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST')
    const body = (await res.json()) as any
    expectOpenAiError(body, 'method_not_allowed')
    expect(body.error.message).toBe('GET is not supported on /v1/chat/completions; use POST.')
    expect(await stack.stored()).toHaveLength(0)
  })

  test('/health', async () => {
    stack = await startStack()
    const res = await fetch(`${stack.url}/health`)
    expect(await res.json()).toEqual({ status: 'ok' })
  })
})

describe('backend errors pass through unchanged', () => {
  test.each([
    ['error-400', 400, 'client_error'],
    ['error-401', 401, 'client_error'],
    ['error-429', 429, 'client_error'],
    ['error-500', 500, 'backend_error'],
    ['error-503', 503, 'backend_error'],
    ['error-502-text', 502, 'backend_error'],
  ])('%s', async (scenario, status, outcome) => {
    stack = await startStack()
    const direct = await post(stack.backend!.url, JSON.stringify(chatBody()), { 'x-mock-scenario': scenario })
    const proxied = await post(stack.url, JSON.stringify(chatBody()), { 'x-mock-scenario': scenario })
    const directBody = await direct.text()
    expect(proxied.status).toBe(status)
    expect(await proxied.text()).toBe(directBody)
    expect(proxied.headers.get('content-type')).toBe(direct.headers.get('content-type'))
    const row = await stack.rows.next()
    expect(row).toMatchObject({ outcome, status_code: status })
    expect(row.error_message).toBeTruthy()
    expect(directBody).toContain(row.error_message!.slice(0, 20))
  })

  test('a streamed request that fails before streaming', async () => {
    stack = await startStack()
    const err = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'error-429' } }).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.RateLimitError)
    expect(await stack.rows.next()).toMatchObject({ outcome: 'client_error', status_code: 429, stream: true })
  })

  test('an error event mid-stream → backend_error with its message', async () => {
    stack = await startStack()
    const stream = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'stream-error' } })
    await expect((async () => { for await (const _ of stream); })()).rejects.toThrow(/mid-stream failure/)
    expect(await stack.rows.next()).toMatchObject({ outcome: 'backend_error', status_code: 200, error_message: 'mock mid-stream failure' })
  })

  test('a connection reset mid-stream → network_error, and the client sees a broken stream', async () => {
    stack = await startStack()
    const stream = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'stream-reset' } })
    await expect((async () => { for await (const _ of stream); })()).rejects.toThrow()
    const row = await stack.rows.next()
    expect(row).toMatchObject({ outcome: 'network_error', error_type: 'backend_reset', status_code: 200 })
    expect(row.ttft_ms).not.toBeNull()
  })
})

describe('other metered endpoints', () => {
  test('embeddings', async () => {
    stack = await startStack()
    const res = await stack.client.embeddings.create({ model: 'mock-llama-3.2-1b', input: ['a b c', 'd e'] })
    expect(res.data).toHaveLength(2)
    expect(await stack.rows.next()).toMatchObject({ endpoint: '/v1/embeddings', outcome: 'success', prompt_tokens: res.usage.prompt_tokens })
  })

  test('completions, streamed', async () => {
    stack = await startStack({ mock: { answerTokens: 4 } })
    const stream = await stack.client.completions.create({ model: 'mock-llama-3.2-1b', prompt: 'Once', stream: true })
    let text = ''
    for await (const c of stream) text += c.choices[0]?.text ?? ''
    expect(text).not.toBe('')
    expect(await stack.rows.next()).toMatchObject({ endpoint: '/v1/completions', outcome: 'success', completion_tokens: 4, tokens_estimated: false })
  })
})

test('Authorization and prompts are never stored', async () => {
  stack = await startStack()
  const secretPrompt = 'the-launch-code-is-8675309'
  await stack.client.chat.completions.create(chatBody({ messages: [{ role: 'user', content: secretPrompt }] }))
  const stream = await stack.client.chat.completions.create(streamBody())
  for await (const _ of stream);
  await post(stack.url, '{bad json', { authorization: `Bearer ${CLIENT_KEY}` })
  await stack.rows.until(3)
  expect(await stack.stored()).toHaveLength(3)
  const stored = await stack.dump()
  expect(stored).toContain('mock-llama-3.2-1b') // the dump does hold the rows
  expect(stored).not.toContain(CLIENT_KEY)
  expect(stored).not.toContain(secretPrompt)
  expect(JSON.stringify(stack.rows.all)).not.toContain(CLIENT_KEY)
})

test('at shutdown, requests still running after the grace period are aborted and recorded', async () => {
  stack = await startStack()
  const res = await post(stack.url, JSON.stringify(streamBody()), { 'x-mock-scenario': 'hang-after-first-token' })
  // The expectation is attached before the drain, so the rejection is never unhandled.
  const reading = expect(res.text()).rejects.toThrow(/terminated/)
  await stack.app.drain(50)
  await reading
  const row = await stack.rows.next()
  expect(row).toMatchObject({ outcome: 'network_error', error_type: 'proxy_shutdown', status_code: 200 })
  expect(row.ttft_ms).not.toBeNull()
})

test("a request Node's HTTP parser refuses after its headers gets 400 in OpenAI's shape, and its row says so", async () => {
  stack = await startStack()
  const { connect } = await import('node:net')
  const socket = connect(Number(new URL(stack.url).port), '127.0.0.1')
  let response = ''
  socket.on('data', (c) => (response += c))
  socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n')
  socket.write('zz\r\n{"model":"m"}\r\n0\r\n\r\n') // not a chunk size
  await new Promise((r) => socket.once('close', r))
  expect(response).toMatch(/^HTTP\/1.1 400 Bad Request/)
  expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)).error).toMatchObject({ type: 'invalid_request_error', code: 'malformed_request' })
  const row = await stack.rows.next()
  expect(row).toMatchObject({ status_code: 400, outcome: 'client_error', error_type: 'malformed_request' })
  expect(row.response_bytes).toBeGreaterThan(0)
})
