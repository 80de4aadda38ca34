import { once } from 'node:events'
import { request } from 'node:http'
import { connect } from 'node:net'
import OpenAI from 'openai'
import { afterEach, describe, expect, test } from 'vitest'
import { CLIENT_KEY, chatBody, streamBody, startScriptedUpstream, startStack, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

describe('non-streaming', () => {
  test('answers like the backend and records every field', async () => {
    stack = await startStack({ mock: { answerTokens: 12 } })
    const completion = await stack.client.chat.completions.create(chatBody({ user: 'alice' }))
    const row = await stack.rows.next()

    expect(completion.choices[0].message.content).toBeTruthy()
    expect(row).toMatchObject({
      endpoint: '/v1/chat/completions',
      stream: false,
      model_requested: 'mock-llama-3.2-1b',
      model: completion.model,
      status_code: 200,
      outcome: 'success',
      error_type: null,
      finish_reason: 'stop',
      ttft_ms: null,
      ttlt_ms: null,
      tpot_ms: null,
      prompt_tokens: completion.usage!.prompt_tokens,
      completion_tokens: 12,
      total_tokens: completion.usage!.total_tokens,
      cached_tokens: 0,
      tokens_estimated: false,
      user: 'alice',
      client_ip: '127.0.0.1',
      chunk_count: null,
      key_id: null,
    })
    expect(row.user_agent).toMatch(/OpenAI/)
    expect(row.total_ms).toBeGreaterThan(0)
    // Both from the same unrounded duration; total_ms is rounded to the microsecond.
    expect(Math.abs(row.output_tps! - 12 / (row.total_ms / 1000))).toBeLessThan(row.output_tps! * 1e-4)
    expect(row.request_bytes).toBe(Buffer.byteLength(JSON.stringify(chatBody({ user: 'alice' }))))
    expect(row.response_bytes).toBe(Buffer.byteLength(JSON.stringify(completion)))
    expect(await stack.stored()).toHaveLength(1)
  })
})

describe('streaming', () => {
  test('without include_usage: the client sees no usage chunk, the row has exact tokens', async () => {
    stack = await startStack({ mock: { answerTokens: 10 } })
    const stream = await stack.client.chat.completions.create(streamBody())
    const chunks = []
    for await (const c of stream) chunks.push(c)
    const row = await stack.rows.next()

    expect(chunks.every((c) => c.choices.length > 0)).toBe(true)
    expect(chunks.some((c) => c.usage)).toBe(false)
    // The backend was asked for usage on the client's behalf.
    expect(stack.backend!.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(row).toMatchObject({ stream: true, outcome: 'success', completion_tokens: 10, tokens_estimated: false, finish_reason: 'stop' })
    expect(row.prompt_tokens).toBeGreaterThan(0)
    expect(row.chunk_count).toBe(chunks.length + 1) // + the stripped usage chunk
  })

  test('with include_usage: the client gets the usage chunk', async () => {
    stack = await startStack({ mock: { answerTokens: 5 } })
    const stream = await stack.client.chat.completions.create(streamBody({ stream_options: { include_usage: true } }))
    const chunks = []
    for await (const c of stream) chunks.push(c)
    const row = await stack.rows.next()
    const usage = chunks.at(-1)!.usage!
    expect(usage.completion_tokens).toBe(5)
    expect(row).toMatchObject({ completion_tokens: 5, prompt_tokens: usage.prompt_tokens, total_tokens: usage.total_tokens })
  })

  test('STREAM_USAGE=passthrough leaves the request alone and estimates tokens', async () => {
    stack = await startStack({ mock: { answerTokens: 7 }, config: { streamUsage: 'passthrough' } })
    const stream = await stack.client.chat.completions.create(streamBody())
    for await (const _ of stream);
    const row = await stack.rows.next()
    expect(stack.backend!.requests[0].body).not.toHaveProperty('stream_options')
    expect(row).toMatchObject({ completion_tokens: 7, tokens_estimated: true, prompt_tokens: null, outcome: 'success' })
  })

  test('timings follow the backend: TTFT, TPOT and output tokens/s', async () => {
    stack = await startStack({ mock: { ttftMs: 150, tokensPerSecond: 50, answerTokens: 21 } })
    const stream = await stack.client.chat.completions.create(streamBody())
    for await (const _ of stream);
    const row = await stack.rows.next()
    expect(row.ttft_ms!).toBeGreaterThanOrEqual(150)
    expect(row.ttft_ms!).toBeLessThan(150 + 60)
    // 20 tokens after the first at 50/s: 400 ms of decode, 20 ms per token.
    expect(row.tpot_ms!).toBeGreaterThan(15)
    expect(row.tpot_ms!).toBeLessThan(30)
    expect(row.output_tps!).toBeGreaterThan(33)
    expect(row.output_tps!).toBeLessThan(67)
    expect(row.ttlt_ms! - row.ttft_ms!).toBeCloseTo(row.tpot_ms! * 20, 1)
    expect(row.total_ms).toBeGreaterThanOrEqual(row.ttlt_ms!)
  })

  test('response headers reach the client before the first token', async () => {
    stack = await startStack({ mock: { ttftMs: 60_000 } })
    const ac = new AbortController()
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(streamBody()),
      signal: ac.signal,
    })
    // fetch resolved: the headers are here while the first token is a minute away.
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    ac.abort()
    expect((await stack.rows.next()).outcome).toBe('cancelled')
  })

  test('tool-call deltas pass through and count as output', async () => {
    stack = await startStack()
    const stream = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'tool-call' } })
    let args = ''
    let finish: string | null = null
    for await (const c of stream) {
      args += c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? ''
      finish = c.choices[0]?.finish_reason ?? finish
    }
    const row = await stack.rows.next()
    expect(() => JSON.parse(args)).not.toThrow()
    expect(finish).toBe('tool_calls')
    expect(row).toMatchObject({ outcome: 'success', finish_reason: 'tool_calls' })
    expect(row.ttft_ms).not.toBeNull()
  })

  test('reasoning tokens are recorded', async () => {
    stack = await startStack()
    const stream = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'reasoning' } })
    for await (const _ of stream);
    const row = await stack.rows.next()
    expect(row.reasoning_tokens).toBeGreaterThan(0)
    expect(row.outcome).toBe('success')
  })

  test('a stream without usage gets estimated tokens', async () => {
    stack = await startStack({ mock: { answerTokens: 9 } })
    const stream = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'no-usage' } })
    for await (const _ of stream);
    expect(await stack.rows.next()).toMatchObject({ completion_tokens: 9, tokens_estimated: true, outcome: 'success' })
  })

  test('a stream without [DONE] still succeeds when it finished', async () => {
    stack = await startStack()
    const stream = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-scenario': 'no-done' } })
    for await (const _ of stream);
    expect(await stack.rows.next()).toMatchObject({ outcome: 'success', finish_reason: 'stop' })
  })
})

describe('byte for byte', () => {
  const events = [
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    ': a comment line\n\n',
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\r\n\r\n',
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
  ]
  const usageEvent =
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n'
  const done = 'data: [DONE]\n\n'

  /** An upstream that sends the stream in awkward pieces, with the usage chunk only when asked. */
  async function upstream() {
    return startScriptedUpstream((req, res) => {
      const body = JSON.parse(req.body)
      const text = events.join('') + (body.stream_options?.include_usage ? usageEvent : '') + done
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-backend': 'scripted' })
      const bytes = Buffer.from(text)
      // Split mid-event and mid-line, several events in one piece.
      const cuts = [0, 7, 150, 151, 400, bytes.length]
      let i = 0
      const next = () => {
        if (i + 1 >= cuts.length) return res.end()
        res.write(bytes.subarray(cuts[i], cuts[++i]), next)
      }
      next()
    })
  }

  async function rawPost(url: string, body: object) {
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, headers: res.headers, text: await res.text() }
  }

  test('without include_usage the client gets what the backend sends to a client that did not ask', async () => {
    const up = await upstream()
    stack = await startStack({ backendUrl: up.url })
    try {
      const direct = await rawPost(up.url, { model: 'm', stream: true })
      const proxied = await rawPost(stack.url, { model: 'm', stream: true })
      expect(proxied.text).toBe(direct.text)
      expect(proxied.headers.get('x-backend')).toBe('scripted')
      expect(await stack.rows.next()).toMatchObject({ outcome: 'success', completion_tokens: 1, prompt_tokens: 3, tokens_estimated: false })
    } finally {
      await up.close()
    }
  })

  test('with include_usage the client gets exactly the backend bytes', async () => {
    const up = await upstream()
    stack = await startStack({ backendUrl: up.url })
    try {
      const body = { model: 'm', stream: true, stream_options: { include_usage: true } }
      const direct = await rawPost(up.url, body)
      const proxied = await rawPost(stack.url, body)
      expect(proxied.text).toBe(direct.text)
      expect(proxied.text).toContain('"usage"')
    } finally {
      await up.close()
    }
  })

  test('the events of one backend read reach the client as one HTTP chunk, and no event waits for the next', async () => {
    const burst = Array.from({ length: 10 }, (_, i) => events[2].replace('"Hi"', `"t${i}"`))
    const rest = events[3] + usageEvent + done
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const up = await startScriptedUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      // Ten HTTP chunks in one turn of the backend's loop: one socket read at the proxy.
      for (const e of burst) res.write(e)
      // The rest only once the client has the burst: an event held back for the next would hang here.
      void released.then(() => res.end(rest))
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const body = JSON.stringify({ model: 'm', stream: true, stream_options: { include_usage: true } })
      const socket = connect(Number(new URL(stack.url).port), '127.0.0.1')
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
      // The response's chunked framing, read as it arrives: each chunk's payload, in order.
      const chunks: string[] = []
      let raw = Buffer.alloc(0)
      let at = -1
      let chunksForBurst = 0
      socket.on('data', (d: Buffer) => {
        raw = Buffer.concat([raw, d])
        if (at < 0) at = raw.indexOf('\r\n\r\n') < 0 ? -1 : raw.indexOf('\r\n\r\n') + 4
        for (let eol = at < 0 ? -1 : raw.indexOf('\r\n', at); eol >= 0; eol = raw.indexOf('\r\n', at)) {
          const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16)
          if (raw.length < eol + 2 + size + 2) break
          chunks.push(raw.subarray(eol + 2, eol + 2 + size).toString())
          at = eol + 2 + size + 2
        }
        if (chunksForBurst === 0 && chunks.join('') === burst.join('')) {
          chunksForBurst = chunks.length
          release()
        }
      })
      await once(socket, 'end')
      expect(raw.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK')
      expect(chunks.join('')).toBe(burst.join('') + rest)
      // One write for the ten events (two if the backend's bytes came in two reads), not ten.
      expect(chunksForBurst).toBeGreaterThan(0)
      expect(chunksForBurst).toBeLessThanOrEqual(2)
      expect(await stack.rows.next()).toMatchObject({ outcome: 'success', completion_tokens: 1, finish_reason: 'stop' })
    } finally {
      await up.close()
    }
  })

  test('the request body is forwarded unchanged when nothing is injected', async () => {
    let received = ''
    const up = await startScriptedUpstream((req, res) => {
      received = req.body
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}')
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const raw = '{ "model" : "m",\n  "messages": [{"role":"user","content":"h\\u00e9"}], "extra_vendor_field": [1,2] }'
      await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw })
      expect(received).toBe(raw)
      await stack.rows.next()
    } finally {
      await up.close()
    }
  })
})

describe('headers', () => {
  test('hop-by-hop headers and host are dropped, forwarding headers set, Authorization forwarded', async () => {
    stack = await startStack()
    // node:http, because fetch refuses to set Connection and TE itself.
    const body = JSON.stringify(chatBody())
    const req = request(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, connection: 'keep-alive, x-hop', 'x-hop': '1', te: 'trailers', 'x-keep': 'yes' },
    })
    req.end(body)
    const [res] = await once(req, 'response')
    res.resume()
    await stack.rows.next()
    req.destroy()
    const h = stack.backend!.requests[0].headers
    expect(h['x-hop']).toBeUndefined()
    expect(h.te).toBeUndefined()
    expect(h['x-keep']).toBe('yes')
    expect(h.authorization).toBe(`Bearer ${CLIENT_KEY}`)
    expect(h['x-forwarded-for']).toBe('127.0.0.1')
    expect(h['x-forwarded-proto']).toBe('http')
    expect(h.host).toBe(new URL(stack.backend!.url).host)
  })

  test('BACKEND_API_KEY replaces the client key', async () => {
    stack = await startStack({ config: { backendApiKey: 'sk-server-side-key' } })
    await stack.client.chat.completions.create(chatBody())
    await stack.rows.next()
    expect(stack.backend!.requests[0].headers.authorization).toBe('Bearer sk-server-side-key')
  })
})

describe('client abort', () => {
  test('a client that goes away mid-stream is recorded as cancelled and the backend request is aborted', async () => {
    stack = await startStack({ mock: { ttftMs: 0, tokensPerSecond: 20, answerTokens: 1000 } })
    const aborted = once(stack.backend!.events, 'aborted')
    const ac = new AbortController()
    const stream = await stack.client.chat.completions.create(streamBody(), { signal: ac.signal })
    let seen = 0
    // The SDK ends the iteration quietly on abort.
    for await (const c of stream) {
      if (c.choices[0]?.delta.content && ++seen === 2) ac.abort()
    }
    await aborted
    const row = await stack.rows.next()
    expect(row).toMatchObject({ outcome: 'cancelled', status_code: 200, stream: true })
    expect(row.ttft_ms).not.toBeNull()
    expect(row.completion_tokens).toBeGreaterThanOrEqual(2)
    expect(await stack.stored()).toHaveLength(1)
  })

  test('a client that goes away before the backend answers is recorded as cancelled', async () => {
    stack = await startStack()
    const aborted = once(stack.backend!.events, 'aborted')
    const ac = new AbortController()
    const request = stack.client.chat.completions.create(chatBody(), { headers: { 'x-mock-scenario': 'hang' }, signal: ac.signal })
    await once(stack.backend!.events, 'request')
    ac.abort()
    await expect(request).rejects.toThrow()
    await aborted
    expect(await stack.rows.next()).toMatchObject({ outcome: 'cancelled', status_code: 499 })
  })
})

test('the OpenAI SDK works unchanged against the proxy for models', async () => {
  stack = await startStack()
  const models = await stack.client.models.list()
  expect(models.data.map((m) => m.id)).toContain('mock-llama-3.2-1b')
  const one = await stack.client.models.retrieve('mock-llama-3.2-1b')
  expect(one.id).toBe('mock-llama-3.2-1b')
  await expect(stack.client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  expect(stack.rows.all).toHaveLength(0)
})

test("overhead_ms: the proxy's own time, on every forwarded request; none when the proxy answered itself", async () => {
  const stack = await startStack({ mock: { ttftMs: 30, tokensPerSecond: 400, answerTokens: 8 } })
  try {
    await stack.client.chat.completions.create(chatBody())
    const stream = await stack.client.chat.completions.create(streamBody())
    for await (const _ of stream);
    await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' })
    const rows = await stack.rows.until(3)
    for (const r of rows.slice(0, 2)) {
      expect(r.overhead_ms).not.toBeNull()
      expect(r.overhead_ms!).toBeGreaterThanOrEqual(0)
      // The backend's 30 ms before the first token is not the proxy's.
      expect(r.overhead_ms!).toBeLessThan(r.total_ms - 25)
    }
    expect(rows[2]).toMatchObject({ status_code: 400, overhead_ms: null })
  } finally {
    await stack.close()
  }
})
