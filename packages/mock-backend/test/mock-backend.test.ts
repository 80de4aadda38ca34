import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterEach, describe, expect, test } from 'vitest'
import { countPromptTokens, startMockBackend, type MockBackend } from '../src/index.js'

let backend: MockBackend | null = null
afterEach(async () => {
  await backend?.close()
  backend = null
})

async function client(options = {}) {
  backend = await startMockBackend(options)
  return new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: 'k', maxRetries: 0 })
}
const messages = [{ role: 'user' as const, content: 'two words' }]
const model = 'mock-llama-3.2-1b'

describe('chat completions', () => {
  test('non-streaming answers with usage', async () => {
    const c = await client({ answerTokens: 5 })
    const r = await c.chat.completions.create({ model, messages }, { headers: { 'x-mock-cached-tokens': '2' } })
    expect(r.choices[0].finish_reason).toBe('stop')
    expect(r.usage).toMatchObject({ prompt_tokens: countPromptTokens({ messages }), completion_tokens: 5, total_tokens: 6 + 5, prompt_tokens_details: { cached_tokens: 2 } })
  })

  test('streams one token per chunk, usage only when asked', async () => {
    const c = await client({ answerTokens: 6 })
    const plain = []
    for await (const ch of await c.chat.completions.create({ model, messages, stream: true })) plain.push(ch)
    expect(plain[0].choices[0].delta).toEqual({ role: 'assistant', content: '' })
    expect(plain.filter((ch) => ch.choices[0]?.delta.content).length).toBe(6)
    expect(plain.some((ch) => ch.usage)).toBe(false)

    const withUsage = []
    for await (const ch of await c.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } })) withUsage.push(ch)
    expect(withUsage.at(-1)!.choices).toEqual([])
    expect(withUsage.at(-1)!.usage!.completion_tokens).toBe(6)
  })

  test('max_tokens caps the answer with finish_reason length', async () => {
    const c = await client({ answerTokens: 20 })
    const r = await c.chat.completions.create({ model, messages, max_tokens: 3 })
    expect(r.choices[0].finish_reason).toBe('length')
    expect(r.usage!.completion_tokens).toBe(3)
  })

  test('tool-call deltas reassemble into valid JSON', async () => {
    const c = await client()
    let args = ''
    for await (const ch of await c.chat.completions.create({ model, messages, stream: true }, { headers: { 'x-mock-scenario': 'tool-call' } })) {
      args += ch.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? ''
    }
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius' })
  })

  test.each([400, 401, 404, 429, 500, 503])('error-%i', async (status) => {
    const c = await client()
    const err = await c.chat.completions.create({ model, messages }, { headers: { 'x-mock-scenario': `error-${status}` } }).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect(err.status).toBe(status)
  })

  test('stream-error and stream-reset break the stream', async () => {
    const c = await client()
    for (const scenario of ['stream-error', 'stream-reset']) {
      const s = await c.chat.completions.create({ model, messages, stream: true }, { headers: { 'x-mock-scenario': scenario } })
      await expect((async () => { for await (const _ of s); })()).rejects.toThrow()
    }
  })

  test('hang: the client leaving is seen as aborted', async () => {
    const c = await client()
    const ac = new AbortController()
    const aborted = once(backend!.events, 'aborted')
    const p = c.chat.completions.create({ model, messages }, { signal: ac.signal, headers: { 'x-mock-scenario': 'hang' } })
    await once(backend!.events, 'request')
    ac.abort()
    await expect(p).rejects.toThrow()
    await aborted
  })

  test('the first token waits for ttftMs', async () => {
    const c = await client({ ttftMs: 100, tokensPerSecond: 0, answerTokens: 2 })
    const t0 = performance.now()
    let first = 0
    for await (const ch of await c.chat.completions.create({ model, messages, stream: true })) {
      if (ch.choices[0]?.delta.content && !first) first = performance.now() - t0
    }
    expect(first).toBeGreaterThanOrEqual(95)
    expect(first).toBeLessThan(2000)
  })
})

test('capacity: past N at once, a request that starts among n gets n/N times the TTFT; alone again, full speed', async () => {
  const c = await client({ ttftMs: 60, tokensPerSecond: 0, answerTokens: 2, capacity: 1 })
  const ttft = async () => {
    const t0 = performance.now()
    for await (const ch of await c.chat.completions.create({ model, messages, stream: true })) {
      if (ch.choices[0]?.delta.content) return performance.now() - t0
    }
    throw new Error('no content')
  }
  // The second starts while the first runs: 2 at once on a capacity of 1, twice the TTFT.
  const first = ttft()
  await once(backend!.events, 'request')
  const second = await ttft()
  await first
  expect(second).toBeGreaterThanOrEqual(115)
  // Both done: the next runs alone, at full speed again.
  const alone = await ttft()
  expect(alone).toBeGreaterThanOrEqual(55)
  expect(alone).toBeLessThan(second)
})

test('completions, embeddings and models', async () => {
  const c = await client({ answerTokens: 3 })
  const text = await c.completions.create({ model, prompt: 'a b' })
  expect(text.usage!.completion_tokens).toBe(3)
  const emb = await c.embeddings.create({ model, input: ['a', 'b c'] })
  expect(emb.data).toHaveLength(2)
  expect(emb.usage.prompt_tokens).toBe(3)
  expect((await c.models.list()).data.map((m) => m.id)).toEqual(['llama3.2:1b', 'mock-llama-3.2-1b', 'mock-qwen2.5-7b'])
  await expect(c.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  // An unknown model is a 404 that says which models there are.
  const unknown = await c.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  expect(unknown).toBeInstanceOf(OpenAI.NotFoundError)
  expect(unknown.message).toContain('serves llama3.2:1b, mock-llama-3.2-1b, mock-qwen2.5-7b')
})

test('the CLI listens, answers and exits 0 on SIGTERM; a bad flag exits 2', async () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
  const child = spawn(process.execPath, [cli, '--port', '0', '--ttft-ms', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const [line] = await once(child.stdout, 'data')
  const url = /http:\/\/[\d.:]+/.exec(String(line))![0]
  const res = await fetch(`${url}/v1/models`)
  expect(res.status).toBe(200)
  child.kill('SIGTERM')
  expect((await once(child, 'exit'))[0]).toBe(0)

  const bad = spawn(process.execPath, [cli, '--tps', 'fast'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  bad.stderr.on('data', (c) => (err += c))
  expect((await once(bad, 'exit'))[0]).toBe(2)
  expect(err).toContain('--tps')
})

describe('the Responses API and Anthropic Messages', () => {
  const post = (path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${backend!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

  test('responses: the SDK accepts the stream; usage in response.completed; max_output_tokens → incomplete', async () => {
    const c = await client({ answerTokens: 5 })
    const stream = c.responses.stream({ model, input: 'two words' })
    const types: string[] = []
    for await (const e of stream) types.push(e.type)
    const final = await stream.finalResponse()
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress'])
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(5)
    expect(final.output_text).toBe('The proxy measures every token')
    expect(final.usage).toMatchObject({ input_tokens: 2, output_tokens: 5, total_tokens: 7 })
    const cut = await c.responses.create({ model, input: 'two words', max_output_tokens: 2 })
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 2 } })
  })

  test('messages: event order, usage split into input and cache, stop_reason; errors in Anthropic shape', async () => {
    backend = await startMockBackend({ answerTokens: 3 })
    const res = await post('/v1/messages', { model, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'a b c d e f' }] }, { 'x-mock-cached-tokens': '4' })
    const text = await res.text()
    const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
    expect(types).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'])
    expect(text).toContain('"usage":{"input_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":1}')
    expect(text).toContain('"stop_reason":"end_turn"')
    const err = await post('/v1/messages', { model, max_tokens: 10, messages: [] }, { 'x-mock-scenario': 'error-529' })
    expect(err.status).toBe(529)
    expect(await err.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
  })

  test('x-mock-content-encoding compresses bodies and streams', async () => {
    backend = await startMockBackend({ answerTokens: 2 })
    const res = await post('/v1/chat/completions', { model, messages }, { 'x-mock-content-encoding': 'br' })
    expect(res.headers.get('content-encoding')).toBe('br')
    // fetch decodes it.
    expect(((await res.json()) as any).usage.completion_tokens).toBe(2)
    const streamed = await post('/v1/responses', { model, input: 'x', stream: true }, { 'x-mock-content-encoding': 'gzip' })
    expect(streamed.headers.get('content-encoding')).toBe('gzip')
    expect(await streamed.text()).toContain('event: response.completed')
  })
})
