import OpenAI from 'openai'
import { afterEach, describe, expect, test } from 'vitest'
import { countPromptTokens } from '@llm-proxy/mock-backend'
import { startScriptedUpstream, startStack, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

const model = 'mock-llama-3.2-1b'
const input = 'Tell the proxy tests something'

describe('POST /v1/responses with the official openai SDK', () => {
  test('non-streaming: client.responses.create, every field of the row', async () => {
    stack = await startStack({ mock: { answerTokens: 12 } })
    const response = await stack.client.responses.create({ model, input, user: 'alice' }, { headers: { 'x-mock-cached-tokens': '1' } })
    const row = await stack.rows.next()
    expect(response.output_text).toBeTruthy()
    expect(row).toMatchObject({
      endpoint: '/v1/responses',
      stream: false,
      model_requested: model,
      model: response.model,
      status_code: 200,
      outcome: 'success',
      error_type: null,
      finish_reason: 'completed',
      ttft_ms: null,
      prompt_tokens: response.usage!.input_tokens,
      completion_tokens: 12,
      total_tokens: response.usage!.total_tokens,
      cached_tokens: 1,
      reasoning_tokens: 0,
      tokens_estimated: false,
      user: 'alice',
      chunk_count: null,
    })
    expect(row.prompt_tokens).toBe(countPromptTokens({ input }))
    // Both from the same unrounded duration; total_ms is rounded to the microsecond.
    expect(Math.abs(row.output_tps! - 12 / (row.total_ms / 1000))).toBeLessThan(row.output_tps! * 1e-4)
    expect(await stack.stored()).toHaveLength(1)
    // Nothing is injected into a Responses request: there is no stream_options in this protocol.
    expect(stack.backend!.requests[0].body).toEqual({ model, input, user: 'alice' })
  })

  test('streaming with client.responses.stream: TTFT at the first output delta, usage from response.completed', async () => {
    stack = await startStack({ mock: { ttftMs: 120, tokensPerSecond: 50, answerTokens: 11 } })
    const stream = stack.client.responses.stream({ model, input })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    const final = await stream.finalResponse()
    const row = await stack.rows.next()

    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
    expect(row).toMatchObject({
      endpoint: '/v1/responses',
      stream: true,
      outcome: 'success',
      finish_reason: 'completed',
      model,
      prompt_tokens: final.usage!.input_tokens,
      completion_tokens: 11,
      total_tokens: final.usage!.total_tokens,
      tokens_estimated: false,
      chunk_count: types.length,
    })
    expect(row.ttft_ms!).toBeGreaterThanOrEqual(120)
    expect(row.ttft_ms!).toBeLessThan(120 + 400)
    // 10 tokens after the first at 50/s: 200 ms of decode.
    expect(row.ttlt_ms! - row.ttft_ms!).toBeGreaterThan(150)
    // Each stored time is rounded to the microsecond, so allow for that.
    expect(row.tpot_ms!).toBeCloseTo((row.ttlt_ms! - row.ttft_ms!) / 10, 2)
    // Loose bounds (a loaded machine bunches events); the definition itself is exact.
    expect(row.output_tps!).toBeCloseTo((row.completion_tokens! - 1) / ((row.ttlt_ms! - row.ttft_ms!) / 1000), 0)
    expect(row.output_tps!).toBeGreaterThan(20)
    expect(row.output_tps!).toBeLessThan(150)
  })

  test('create({ stream: true }) with reasoning: a reasoning delta is the first output, reasoning tokens recorded', async () => {
    stack = await startStack({ mock: { answerTokens: 3 } })
    const stream = await stack.client.responses.create({ model, input, stream: true }, { headers: { 'x-mock-scenario': 'reasoning' } })
    let firstDelta: string | null = null
    for await (const e of stream) if (e.type.endsWith('.delta')) firstDelta ??= e.type
    const row = await stack.rows.next()
    expect(firstDelta).toBe('response.reasoning_text.delta')
    expect(row).toMatchObject({ outcome: 'success', reasoning_tokens: 4, completion_tokens: 3 + 4 })
    expect(row.ttft_ms).not.toBeNull()
  })

  test('function-call argument deltas count as output', async () => {
    stack = await startStack()
    const stream = stack.client.responses.stream({ model, input, tools: [{ type: 'function', name: 'get_weather', parameters: {}, strict: false }] }, { headers: { 'x-mock-scenario': 'tool-call' } })
    let args = ''
    stream.on('response.function_call_arguments.delta', (e) => (args += e.delta))
    await stream.finalResponse()
    const row = await stack.rows.next()
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius' })
    expect(row).toMatchObject({ outcome: 'success', completion_tokens: 4 })
    expect(row.ttft_ms).not.toBeNull()
  })

  test('max_output_tokens: response.incomplete ends the stream normally, its reason is the finish reason', async () => {
    stack = await startStack({ mock: { answerTokens: 20 } })
    const stream = stack.client.responses.stream({ model, input, max_output_tokens: 5 })
    const final = await stream.finalResponse()
    const row = await stack.rows.next()
    expect(final.status).toBe('incomplete')
    expect(row).toMatchObject({ outcome: 'success', finish_reason: 'max_output_tokens', completion_tokens: 5 })
  })

  test('response.failed is a backend_error with its message, and its usage is kept', async () => {
    stack = await startStack({ mock: { answerTokens: 4 } })
    const stream = await stack.client.responses.create({ model, input, stream: true }, { headers: { 'x-mock-scenario': 'failed' } })
    const types: string[] = []
    for await (const e of stream) types.push(e.type)
    const row = await stack.rows.next()
    expect(types.at(-1)).toBe('response.failed')
    expect(row).toMatchObject({ outcome: 'backend_error', error_type: 'server_error', error_message: 'mock: the response failed', status_code: 200, completion_tokens: 4 })
  })

  test('a non-streamed response with status "failed" is a backend_error', async () => {
    stack = await startStack()
    const r = await stack.client.responses.create({ model, input }, { headers: { 'x-mock-scenario': 'failed' } })
    expect(r.status).toBe('failed')
    expect(await stack.rows.next()).toMatchObject({ outcome: 'backend_error', error_type: 'server_error', finish_reason: 'failed' })
  })

  test('an error event mid-stream is a backend_error; the client gets the event', async () => {
    stack = await startStack()
    const stream = await stack.client.responses.create({ model, input, stream: true }, { headers: { 'x-mock-scenario': 'stream-error' } })
    const seen: any[] = []
    for await (const e of stream) seen.push(e)
    const row = await stack.rows.next()
    expect(seen.at(-1)).toMatchObject({ type: 'error', message: 'mock mid-stream failure' })
    expect(row).toMatchObject({ outcome: 'backend_error', error_type: 'server_error', error_message: 'mock mid-stream failure', status_code: 200 })
    expect(row.ttft_ms).not.toBeNull()
  })

  test('a stream cut before response.completed is not a success', async () => {
    stack = await startStack()
    const stream = await stack.client.responses.create({ model, input, stream: true }, { headers: { 'x-mock-scenario': 'stream-reset' } })
    await expect((async () => { for await (const _ of stream); })()).rejects.toThrow()
    expect(await stack.rows.next()).toMatchObject({ outcome: 'network_error', error_type: 'backend_reset' })
  })

  test('a stream that ends cleanly without a terminal event is an incomplete_stream', async () => {
    const up = await startScriptedUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end('event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi","output_index":0,"content_index":0}\n\n')
    })
    stack = await startStack({ backendUrl: up.url })
    try {
      const res = await fetch(`${stack.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input, stream: true }) })
      await res.text()
      const row = await stack.rows.next()
      expect(row).toMatchObject({ outcome: 'backend_error', error_type: 'incomplete_stream', completion_tokens: 1, tokens_estimated: true })
    } finally {
      await up.close()
    }
  })

  test('backend errors pass through unchanged, as OpenAI SDK errors', async () => {
    stack = await startStack()
    const err = await stack.client.responses.create({ model, input }, { headers: { 'x-mock-scenario': 'error-429' } }).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.RateLimitError)
    expect(await stack.rows.next()).toMatchObject({ endpoint: '/v1/responses', outcome: 'client_error', status_code: 429, error_type: 'rate_limit_error' })
  })

  test('a client that leaves mid-stream is cancelled, the backend request aborted', async () => {
    stack = await startStack({ mock: { tokensPerSecond: 20, answerTokens: 1000 } })
    const ac = new AbortController()
    const stream = stack.client.responses.stream({ model, input }, { signal: ac.signal })
    let deltas = 0
    await expect(
      (async () => {
        for await (const e of stream) if (e.type === 'response.output_text.delta' && ++deltas === 2) ac.abort()
      })(),
    ).rejects.toThrow()
    const row = await stack.rows.next()
    expect(row).toMatchObject({ outcome: 'cancelled', status_code: 200, stream: true })
    expect(row.completion_tokens).toBeGreaterThanOrEqual(2)
  })
})
