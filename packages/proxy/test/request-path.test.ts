import { request } from 'node:http'
import { once } from 'node:events'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, test } from 'vitest'
import { chatBody, startScriptedUpstream, startStack, streamBody, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

/** A raw HTTP exchange (fetch would decode the body, and refuses some methods and paths). */
async function raw(url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const bodyHeaders = body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}
  const req = request(url + path, { method, headers: { ...bodyHeaders, ...headers } })
  req.end(body)
  const [res] = await once(req, 'response')
  const parts: Buffer[] = []
  for await (const c of res) parts.push(c)
  return { status: res.statusCode as number, headers: res.headers, bytes: Buffer.concat(parts) }
}

const model = 'mock-llama-3.2-1b'

describe('a backend that compresses anyway: the row is exact, the client gets the same bytes', () => {
  test.each(['gzip', 'deflate', 'br'])('%s, non-streaming, on every metered protocol', async (encoding) => {
    stack = await startStack({ mock: { answerTokens: 7 } })
    const cases = [
      ['/v1/chat/completions', chatBody()],
      ['/v1/responses', { model, input: 'hello there' }],
      ['/v1/messages', { model, max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }],
    ] as const
    for (const [path, body] of cases) {
      const headers = { 'x-mock-content-encoding': encoding }
      const direct = await raw(stack.backend!.url, 'POST', path, JSON.stringify(body), headers)
      const proxied = await raw(stack.url, 'POST', path, JSON.stringify(body), headers)
      expect(proxied.headers['content-encoding']).toBe(encoding)
      // The same bytes but for ids and timestamps the backend makes up: compare lengths and decoded shape.
      expect(proxied.bytes.length).toBeGreaterThan(0)
      expect(direct.headers['content-encoding']).toBe(encoding)
      const row = await stack.rows.next()
      expect(row).toMatchObject({ endpoint: path, outcome: 'success', model, completion_tokens: 7, tokens_estimated: false })
      expect(row.prompt_tokens).toBeGreaterThan(0)
      expect(row.response_bytes).toBe(proxied.bytes.length)
    }
  })

  test.each(['gzip', 'deflate', 'br'])('%s, streaming: TTFT and usage from the decoded copy', async (encoding) => {
    stack = await startStack({ mock: { answerTokens: 6, ttftMs: 50 } })
    const headers = { 'x-mock-content-encoding': encoding }
    const cases = [
      ['/v1/chat/completions', streamBody({ stream_options: { include_usage: true } })],
      ['/v1/responses', { model, input: 'hello there', stream: true }],
      ['/v1/messages', { model, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hello there' }] }],
    ] as const
    for (const [path, body] of cases) {
      const proxied = await raw(stack.url, 'POST', path, JSON.stringify(body), headers)
      expect(proxied.headers['content-encoding']).toBe(encoding)
      const row = await stack.rows.next()
      expect(row).toMatchObject({ endpoint: path, stream: true, outcome: 'success', completion_tokens: 6, tokens_estimated: false })
      expect(row.ttft_ms!).toBeGreaterThanOrEqual(50)
      expect(row.response_bytes).toBe(proxied.bytes.length)
    }
  })

  test('byte for byte: a gzipped body from a scripted backend reaches the client unchanged', async () => {
    const json = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm-gz', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })
    const gz = gzipSync(json)
    const up = await startScriptedUpstream((req, res) => {
      // The proxy asked for identity; this backend does not care.
      expect(req.headers['accept-encoding']).toBe('identity')
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gz.length })
      res.end(gz)
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const proxied = await raw(stack.url, 'POST', '/v1/chat/completions', JSON.stringify({ model: 'm', messages: [] }))
      expect(proxied.bytes.equals(gz)).toBe(true)
      expect(await stack.rows.next()).toMatchObject({ model: 'm-gz', prompt_tokens: 3, completion_tokens: 1, finish_reason: 'stop', outcome: 'success' })
    } finally {
      await up.close()
    }
  })

  test('a compressed stream without include_usage is passed through unchanged (nothing stripped) and still metered', async () => {
    stack = await startStack({ mock: { answerTokens: 4 } })
    const proxied = await raw(stack.url, 'POST', '/v1/chat/completions', JSON.stringify(streamBody()), { 'x-mock-content-encoding': 'gzip' })
    const { gunzipSync } = await import('node:zlib')
    const text = gunzipSync(proxied.bytes).toString()
    // The usage chunk the proxy asked for stays in: compressed bytes cannot be edited without re-encoding.
    expect(text).toContain('"usage":{')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'success', completion_tokens: 4, tokens_estimated: false })
  })

  test('a client that leaves a compressed stream: one cancelled row, with what was decoded so far', async () => {
    stack = await startStack({ mock: { tokensPerSecond: 20, answerTokens: 1000 } })
    const aborted = once(stack.backend!.events, 'aborted')
    const req = request(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-content-encoding': 'gzip' } })
    req.end(JSON.stringify({ model, max_tokens: 2000, stream: true, messages: [{ role: 'user', content: 'hi' }] }))
    const [res] = await once(req, 'response')
    const { createGunzip } = await import('node:zlib')
    const gunzip = createGunzip()
    res.pipe(gunzip)
    let text = ''
    for await (const c of gunzip) {
      text += c
      if ((text.match(/^event: content_block_delta$/gm) ?? []).length >= 6) break
    }
    req.destroy()
    await aborted
    const row = await stack.rows.next()
    expect(row).toMatchObject({ endpoint: '/v1/messages', outcome: 'cancelled', status_code: 200 })
    expect(row.ttft_ms).not.toBeNull()
    // Counted from the stream: message_start's output_tokens (1) is not the answer's count.
    expect(row.completion_tokens).toBeGreaterThanOrEqual(6)
    expect(row.tokens_estimated).toBe(true)
    expect(row.cost_usd).toBeNull()
    expect(await stack.stored()).toHaveLength(1)
  })

  test('a coding the proxy cannot read (zstd) passes through untouched; the stream is still a success, without tokens', async () => {
    const body = 'data: {"choices":[{"delta":{"content":"x"}}]}\n\n'
    const up = await startScriptedUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'zstd' })
      res.end(body)
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const proxied = await raw(stack.url, 'POST', '/v1/chat/completions', JSON.stringify({ model: 'm', stream: true }))
      expect(proxied.headers['content-encoding']).toBe('zstd')
      expect(proxied.bytes.toString()).toBe(body)
      expect(await stack.rows.next()).toMatchObject({ status_code: 200, outcome: 'success', completion_tokens: null, ttft_ms: null })
    } finally {
      await up.close()
    }
  })

  test('garbage under content-encoding: gzip still yields exactly one row, and the client its bytes', async () => {
    const up = await startScriptedUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end('this is not gzip')
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const proxied = await raw(stack.url, 'POST', '/v1/chat/completions', JSON.stringify({ model: 'm' }))
      expect(proxied.bytes.toString()).toBe('this is not gzip')
      expect(await stack.rows.next()).toMatchObject({ status_code: 200, prompt_tokens: null, model: null })
      expect(await stack.stored()).toHaveLength(1)
    } finally {
      await up.close()
    }
  })
})

describe('paths', () => {
  test('whatever the Content-Type (JSON with parameters, text, none), the body goes upstream as sent, with its header, and is metered', async () => {
    const seen: { type: string | undefined; body: string }[] = []
    const up = await startScriptedUpstream((req, res) => {
      seen.push({ type: req.headers['content-type'], body: req.body })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm-ct', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } }))
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const body = '{"model":"m",  "messages":[{"role":"user","content":"h\u00e9"}]}'
      const types = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', undefined]
      for (const type of types) {
        const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) }
        if (type !== undefined) headers['content-type'] = type
        const req = request(stack.url + '/v1/chat/completions', { method: 'POST', headers })
        req.end(body)
        const [res] = await once(req, 'response')
        res.resume()
        expect(res.statusCode, String(type)).toBe(200)
        expect(await stack.rows.next()).toMatchObject({ model_requested: 'm', model: 'm-ct', prompt_tokens: 2, outcome: 'success', request_bytes: Buffer.byteLength(body) })
      }
      expect(seen).toEqual(types.map((type) => ({ type, body })))
    } finally {
      await up.close()
    }
  })

  test('a percent-encoded path is forwarded as it was routed', async () => {
    stack = await startStack()
    const res = await raw(stack.url, 'POST', '/%76%31/chat/completions?x=1', JSON.stringify(chatBody()))
    expect(res.status).toBe(200)
    expect(stack.backend!.requests[0].url).toBe('/v1/chat/completions?x=1')
    expect(await stack.rows.next()).toMatchObject({ endpoint: '/v1/chat/completions', outcome: 'success' })
  })

  test('the model list under an encoded prefix is forwarded normalized; a plain model path as the client wrote it', async () => {
    stack = await startStack()
    expect((await raw(stack.url, 'GET', '/%76%31/models')).status).toBe(200)
    expect((await raw(stack.url, 'GET', '/v1/%6dodels/mock-llama-3.2-1b')).status).toBe(200)
    expect((await raw(stack.url, 'GET', '/v1/models/mock-llama-3.2-1b?x=1')).status).toBe(200)
    expect(stack.backend!.requests.map((r) => r.url)).toEqual(['/v1/models', '/v1/models/mock-llama-3.2-1b', '/v1/models/mock-llama-3.2-1b?x=1'])
    expect(stack.rows.all).toHaveLength(0)
  })

  test('a URL the router cannot decode → 404 in OpenAI shape, nothing forwarded', async () => {
    stack = await startStack()
    const res = await raw(stack.url, 'POST', '/v1/chat/completions%', JSON.stringify(chatBody()))
    expect(res.status).toBe(404)
    expect(JSON.parse(res.bytes.toString())).toMatchObject({ error: { code: 'unknown_url', type: 'invalid_request_error' } })
    expect(stack.backend!.requests).toHaveLength(0)
  })
})

describe('methods: every route answers the methods it does not serve with 405 (or 404), no row', () => {
  const POST_ONLY = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/messages']
  const OTHER = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']

  test.each(POST_ONLY)('%s: 405 with Allow: POST for every other method, with or without a body', async (path) => {
    stack = await startStack()
    for (const method of OTHER) {
      for (const body of [undefined, '{}']) {
        const res = await raw(stack.url, method, path, method === 'HEAD' ? undefined : body)
        expect(res.status, `${method} ${path}`).toBe(405)
        expect(res.headers.allow).toBe('POST')
        if (method === 'HEAD') continue
        const json = JSON.parse(res.bytes.toString())
        if (path === '/v1/messages') expect(json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: `${method} is not supported on ${path}; use POST.` } })
        else expect(json).toEqual({ error: { message: `${method} is not supported on ${path}; use POST.`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' } })
      }
    }
    expect(await stack.stored()).toHaveLength(0)
    expect(stack.backend!.requests).toHaveLength(0)
  })

  test('a DELETE whose body comes without a length is not HTTP: 400 in OpenAI shape, not Fastify\'s own', async () => {
    stack = await startStack()
    const { connect } = await import('node:net')
    const socket = connect(Number(new URL(stack.url).port), '127.0.0.1')
    socket.end('DELETE /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{}')
    let text = ''
    for await (const c of socket) text += c
    const responses = text.split(/(?=HTTP\/1\.1 )/)
    // The DELETE itself (405, when it is answered before the stray bytes are parsed), then the stray bytes (400).
    const last = responses.at(-1)!
    expect(last).toMatch(/^HTTP\/1\.1 400 /)
    expect(JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4))).toEqual({ error: { message: expect.stringMatching(/could not be parsed/), type: 'invalid_request_error', param: null, code: 'malformed_request' } })
    for (const r of responses.slice(0, -1)) expect(r).toMatch(/^HTTP\/1\.1 405 /)
    expect(await stack.stored()).toHaveLength(0)
  })

  test('the same under a percent-encoded path', async () => {
    stack = await startStack()
    const res = await raw(stack.url, 'DELETE', '/%76%31/chat/completions')
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
  })

  test.each(['/v1/models', '/v1/models/mock-llama-3.2-1b', '/health'])('%s: 405 with Allow: GET, HEAD for POST, PUT, DELETE, PATCH', async (path) => {
    stack = await startStack()
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await raw(stack.url, method, path, '{}')
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.allow).toBe('GET, HEAD')
      expect(JSON.parse(res.bytes.toString()).error.code).toBe('method_not_allowed')
    }
    // HEAD is served (forwarded to the backend, which answers what it answers).
    expect((await raw(stack.url, 'HEAD', path)).status).not.toBe(405)
    expect(await stack.stored()).toHaveLength(0)
  })

  test('unknown paths stay 404 whatever the method', async () => {
    stack = await startStack()
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await raw(stack.url, method, '/v1/assistants', method === 'GET' ? undefined : '{}')
      expect(res.status).toBe(404)
      expect(JSON.parse(res.bytes.toString()).error.code).toBe('unknown_url')
    }
    expect(await stack.stored()).toHaveLength(0)
  })
})
