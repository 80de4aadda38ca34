import { CapturedContent } from '@llm-proxy/core/contracts'
import { buildMetricsApi } from '@llm-proxy/metrics-api'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterEach, expect, test } from 'vitest'
import { startRetention } from '../src/recording/retention.js'
import { chatBody, startStack, streamBody, type Stack } from './helpers.js'

let stack: Stack | null = null
let api: { url: string; close: () => Promise<unknown> } | null = null
let stop: (() => void) | null = null
afterEach(async () => {
  stop?.()
  stop = null
  await api?.close()
  api = null
  await stack?.close()
  stack = null
})

const API_TOKEN = 'metrics-token-0123456789'
const scenario = (s: string) => ({ headers: { 'x-mock-scenario': s } })

/** A metrics API over the stack's database (the same engine), on its own port. */
async function metricsApi(s: Stack, apiToken?: string) {
  const app = buildMetricsApi({ config: { ...s.storage, corsOrigins: [], apiToken } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  api = { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() }
  return api.url
}

/** The next request's row, once its capture (if any) is stored. */
async function settled(s: Stack) {
  const row = await s.rows.next()
  await s.app.captures?.flush()
  return row
}

async function content(s: Stack, id: string, token: string | undefined = API_TOKEN) {
  const url = api?.url ?? (await metricsApi(s, API_TOKEN))
  const res = await fetch(`${url}/metrics/requests/${id}/content`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  const body = await res.json()
  return { status: res.status, body }
}

async function captured(s: Stack, id: string): Promise<CapturedContent> {
  const res = await content(s, id)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return CapturedContent.parse(res.body)
}

test('chat streams are reassembled per choice: reasoning, content and finish reason, as the SDK saw them', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const stream = await stack.client.chat.completions.create(streamBody({ n: 3 } as never), scenario('reasoning'))
  const seen = new Map<number, { content: string; reasoning: string; finish: string | null }>()
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      const s = seen.get(c.index) ?? { content: '', reasoning: '', finish: null }
      s.content += c.delta.content ?? ''
      s.reasoning += (c.delta as { reasoning_content?: string }).reasoning_content ?? ''
      s.finish = c.finish_reason ?? s.finish
      seen.set(c.index, s)
    }
  }
  const row = await settled(stack)
  const got = await captured(stack, row.id)
  expect(seen.size).toBe(3)
  expect(got.response.stream).toBe(true)
  expect(got.response.cut).toBe(false)
  expect(got.response.choices).toEqual(
    [...seen.entries()].map(([index, s]) => ({ index, role: 'assistant', content: s.content, reasoning: s.reasoning, refusal: null, tool_calls: [], finish_reason: s.finish })),
  )
  expect((got.request.body as { n: number }).n).toBe(3)
  expect(got.request.body).not.toHaveProperty('stream_options') // what the client sent, not what the proxy added
})

test('tool calls streamed in fragments come back whole: id, name and joined arguments', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
  const stream = await stack.client.chat.completions.create(streamBody({ tools, n: 2 } as never), scenario('tool-call'))
  const args = new Map<number, string>()
  for await (const chunk of stream) for (const c of chunk.choices) for (const t of c.delta.tool_calls ?? []) args.set(c.index, (args.get(c.index) ?? '') + (t.function?.arguments ?? ''))
  const got = await captured(stack, (await settled(stack)).id)
  expect(got.response.choices!.map((c) => c.tool_calls)).toEqual([
    [{ id: 'call_mock_1', name: 'get_weather', arguments: args.get(0) }],
    [{ id: 'call_mock_2', name: 'get_weather', arguments: args.get(1) }],
  ])
  expect(JSON.parse(args.get(0)!)).toEqual({ city: 'Paris', unit: 'celsius' })
  expect(got.response.choices![0].finish_reason).toBe('tool_calls')
  expect((got.request.body as { tools: unknown }).tools).toEqual(tools)
})

test('completions streams, non-stream chat and embeddings (input only)', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const text = await stack.client.completions.create({ model: 'mock-llama-3.2-1b', prompt: 'Once', stream: true, n: 2 })
  const texts = ['', '']
  for await (const chunk of text) for (const c of chunk.choices) texts[c.index] += c.text
  const completion = await captured(stack, (await settled(stack)).id)
  expect(completion.response.choices!.map((c) => [c.content, c.finish_reason])).toEqual([[texts[0], 'stop'], [texts[1], 'stop']])

  const chat = await stack.client.chat.completions.create(chatBody())
  const plain = await captured(stack, (await settled(stack)).id)
  expect(plain.response.stream).toBe(false)
  expect(plain.response.choices).toEqual([{ index: 0, role: 'assistant', content: chat.choices[0].message.content, reasoning: null, refusal: null, tool_calls: [], finish_reason: 'stop' }])

  await stack.client.embeddings.create({ model: 'mock-llama-3.2-1b', input: ['first text', 'second text'] })
  const emb = await captured(stack, (await settled(stack)).id)
  expect(emb.request.body).toMatchObject({ model: 'mock-llama-3.2-1b', input: ['first text', 'second text'] })
  expect(emb.response).toMatchObject({ status: 200, choices: null, error: null, text: null })
})

test('Responses API streams: reasoning, text and a function call with its arguments, as the SDK assembled them', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const reasoning = stack.client.responses.stream({ model: 'mock-llama-3.2-1b', input: 'Think first' }, scenario('reasoning'))
  const final = await reasoning.finalResponse()
  const got = await captured(stack, (await settled(stack)).id)
  const reasoningText = final.output.flatMap((i) => (i.type === 'reasoning' ? (i.content ?? []).map((c) => c.text) : [])).join('')
  expect(got.response.choices).toEqual([{ index: 0, role: 'assistant', content: final.output_text, reasoning: reasoningText, refusal: null, tool_calls: [], finish_reason: 'completed' }])

  const tool = stack.client.responses.stream({ model: 'mock-llama-3.2-1b', input: 'Weather?' }, scenario('tool-call'))
  const call = (await tool.finalResponse()).output.find((i) => i.type === 'function_call')!
  const got2 = await captured(stack, (await settled(stack)).id)
  expect(got2.response.choices![0].tool_calls).toEqual([{ id: call.call_id, name: call.name, arguments: call.arguments }])
})

test('non-streamed Responses and Anthropic answers read the same way', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const r = await stack.client.responses.create({ model: 'mock-llama-3.2-1b', input: 'Weather?' }, scenario('tool-call'))
  const call = r.output.find((i) => i.type === 'function_call')!
  const got = await captured(stack, (await settled(stack)).id)
  expect(got.response.choices).toEqual([{ index: 0, role: 'assistant', content: null, reasoning: null, refusal: null, tool_calls: [{ id: call.call_id, name: call.name, arguments: call.arguments }], finish_reason: 'completed' }])

  const m = await stack.anthropic.messages.create({ model: 'mock-llama-3.2-1b', max_tokens: 100, messages: [{ role: 'user', content: 'Think' }] }, scenario('reasoning'))
  const got2 = await captured(stack, (await settled(stack)).id)
  const block = (type: string) => m.content.find((b) => b.type === type) as { text?: string; thinking?: string }
  expect(got2.response.choices).toEqual([{ index: 0, role: 'assistant', content: block('text').text, reasoning: block('thinking').thinking, refusal: null, tool_calls: [], finish_reason: 'end_turn' }])
})

test('Anthropic Messages streams: thinking, text and tool use, as the SDK assembled them', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const msg = await stack.anthropic.messages.stream({ model: 'mock-llama-3.2-1b', max_tokens: 100, messages: [{ role: 'user', content: 'Think' }] }, scenario('reasoning')).finalMessage()
  const got = await captured(stack, (await settled(stack)).id)
  const textOf = (type: string) => msg.content.map((b) => (b.type === type ? ((b as { text?: string; thinking?: string }).text ?? (b as { thinking?: string }).thinking) : '')).join('')
  expect(got.response.choices).toEqual([{ index: 0, role: 'assistant', content: textOf('text'), reasoning: textOf('thinking'), refusal: null, tool_calls: [], finish_reason: msg.stop_reason }])

  const tool = await stack.anthropic.messages.stream({ model: 'mock-llama-3.2-1b', max_tokens: 100, messages: [{ role: 'user', content: 'Weather?' }] }, scenario('tool-call')).finalMessage()
  const use = tool.content.find((b) => b.type === 'tool_use')!
  const got2 = await captured(stack, (await settled(stack)).id)
  expect(got2.response.choices![0].tool_calls).toHaveLength(1)
  expect(got2.response.choices![0].tool_calls[0]).toMatchObject({ id: use.id, name: use.name })
  expect(JSON.parse(got2.response.choices![0].tool_calls[0].arguments)).toEqual(use.input)
  expect(got2.response.choices![0].finish_reason).toBe('tool_use')
})

test('CAPTURE=errors keeps failed requests only, with what the client was told', async () => {
  stack = await startStack({ capture: { mode: 'errors' } })
  await stack.client.chat.completions.create(chatBody())
  const ok = await settled(stack)
  expect((await content(stack, ok.id)).status).toBe(404)

  const err = await stack.client.chat.completions.create(chatBody({ messages: [{ role: 'user', content: 'this one fails' }] }), scenario('error-500')).catch((e) => e)
  expect(err).toBeInstanceOf(OpenAI.InternalServerError)
  const failed = await settled(stack)
  const got = await captured(stack, failed.id)
  expect(got.request.body).toMatchObject({ messages: [{ role: 'user', content: 'this one fails' }] })
  expect(got.response).toMatchObject({ status: 500, choices: null, error: { error: { message: 'mock 500 error' } } })

  // A stream that fails midway is a failure too: what came before the error is kept.
  const stream = await stack.client.chat.completions.create(streamBody(), scenario('stream-error'))
  await (async () => {
    for await (const _ of stream);
  })().catch(() => {})
  const broken = await captured(stack, (await settled(stack)).id)
  expect(broken.response.choices![0].content).toBe('The proxy measures')
  expect(broken.response.error).toMatchObject({ message: 'mock mid-stream failure' })
})

test('CAPTURE_MAX_BYTES cuts each side and says so; base64 images become a placeholder with their size', async () => {
  stack = await startStack({ capture: { mode: 'all', maxBytes: 300 } })
  const image = `data:image/png;base64,${Buffer.alloc(30 * 1024, 7).toString('base64')}`
  await stack.client.chat.completions.create(
    chatBody({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: image } }] }] }),
  )
  const withImage = await captured(stack, (await settled(stack)).id)
  expect(JSON.stringify(withImage.request.body)).toContain('[image: 30 KB]')
  expect(JSON.stringify(withImage.request.body)).not.toContain('base64,')
  expect(withImage.request.cut).toBe(false)

  await stack.client.chat.completions.create(chatBody({ messages: [{ role: 'user', content: 'word '.repeat(500) }] }), { headers: { 'x-mock-answer-tokens': '400' } })
  const long = await captured(stack, (await settled(stack)).id)
  expect(long.request.cut).toBe(true)
  expect(Buffer.byteLength(JSON.stringify(long.request.body))).toBeLessThanOrEqual(300)
  expect((long.request.body as { messages: { content: string }[] }).messages[0].content).toMatch(/^(word )+/)
  expect(long.response.cut).toBe(true)
  expect(Buffer.byteLength(JSON.stringify({ choices: long.response.choices, error: long.response.error, text: long.response.text }))).toBeLessThanOrEqual(300)

  // Anthropic's base64 image source too.
  await stack.anthropic.messages.create({ model: 'mock-llama-3.2-1b', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: Buffer.alloc(2048, 1).toString('base64') } }] }] })
  const anthropic = await captured(stack, (await settled(stack)).id)
  expect(JSON.stringify(anthropic.request.body)).toContain('"data":"[image: 2 KB]"')
})

test('PII is redacted before anything is written; headers and keys never reach the database', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  const pii = 'Mail jane.doe@example.com or call (415) 555-2671; card 4111 1111 1111 1111; my key sk-proj-AbCdEf0123456789GhIjKl'
  await stack.client.chat.completions.create(chatBody({ messages: [{ role: 'user', content: pii }] }))
  const got = await captured(stack, (await settled(stack)).id)
  expect((got.request.body as { messages: { content: string }[] }).messages[0].content).toBe('Mail [EMAIL] or call [PHONE]; card [CARD]; my key [SECRET]')
  expect(got.redaction).toBe('pii')
  const dump = await stack.dump()
  for (const secret of ['jane.doe@example.com', '555-2671', '4111 1111 1111 1111', 'sk-proj-AbCdEf0123456789GhIjKl', 'sk-client-secret-0123456789']) expect(dump).not.toContain(secret)
  expect(dump).toContain('[EMAIL]') // the capture is there, redacted
})

test('REDACT=off stores the text as sent', async () => {
  stack = await startStack({ capture: { mode: 'all', redact: 'off' } })
  await stack.client.chat.completions.create(chatBody({ messages: [{ role: 'user', content: 'mail jane@example.com' }] }))
  const got = await captured(stack, (await settled(stack)).id)
  expect(got.redaction).toBe('off')
  expect((got.request.body as { messages: { content: string }[] }).messages[0].content).toBe('mail jane@example.com')
})

test('a key captures by its own policy over CAPTURE (AUTH_MODE=keys); its secret is never captured', async () => {
  stack = await startStack({ keys: {}, capture: { mode: 'off' } })
  const create = async (body: Record<string, unknown>) => (await stack!.admin!.call('POST', '/admin/keys', body)).body as { id: string; secret: string }
  const all = await create({ name: 'audited', capture: 'all' })
  const inherit = await create({ name: 'default' })
  const as = (secret: string) => new OpenAI({ baseURL: `${stack!.url}/v1`, apiKey: secret, maxRetries: 0 })

  await as(all.secret).chat.completions.create(chatBody())
  const audited = await settled(stack)
  expect(audited.key_id).toBe(all.id)
  expect((await captured(stack, audited.id)).key_id).toBe(all.id)

  await as(inherit.secret).chat.completions.create(chatBody())
  expect((await content(stack, (await settled(stack)).id)).status).toBe(404)

  const dump = await stack.dump()
  expect(dump).not.toContain(all.secret)
  expect(dump).not.toContain(`Bearer ${all.secret}`)
})

test('a key with capture off is not captured under CAPTURE=all', async () => {
  stack = await startStack({ keys: {}, capture: { mode: 'all' } })
  const off = (await stack.admin!.call('POST', '/admin/keys', { name: 'private', capture: 'off' })).body as { secret: string }
  const other = (await stack.admin!.call('POST', '/admin/keys', { name: 'other' })).body as { secret: string }
  await new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: off.secret, maxRetries: 0 }).chat.completions.create(chatBody())
  expect((await content(stack, (await settled(stack)).id)).status).toBe(404)
  await new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: other.secret, maxRetries: 0 }).chat.completions.create(chatBody())
  expect((await content(stack, (await settled(stack)).id)).status).toBe(200)
  // A refused request (unknown key) follows CAPTURE; the key it tried is not in the capture.
  await new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'lmp-not-a-real-key-0123456789abcdef', maxRetries: 0 }).chat.completions.create(chatBody()).catch(() => {})
  const refused = await captured(stack, (await settled(stack)).id)
  expect(refused.response).toMatchObject({ status: 401, error: { type: 'invalid_api_key' } })
  expect(await stack.dump()).not.toContain('lmp-not-a-real-key-0123456789abcdef')
})

test('captures have their own retention: deleting them leaves the rows', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  await stack.client.chat.completions.create(chatBody())
  const old = await settled(stack)
  expect(await stack.sink.captures.deleteBefore(old.ts)).toBe(0)
  expect(await stack.sink.captures.deleteBefore(old.ts + 1)).toBe(1)
  expect((await content(stack, old.id)).status).toBe(404)
  expect((await stack.stored()).map((r) => r.id)).toEqual([old.id])
})

test('CAPTURE_RETENTION_DAYS runs on its own: old captures go, recent ones and every row stay', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  await stack.client.chat.completions.create(chatBody())
  const recent = await settled(stack)
  const old = Date.now() - 10 * 86_400_000
  await stack.sink.captures.insert([{ request_id: 'old-one', ts: old, endpoint: '/v1/chat/completions', key_id: null, redaction: 'pii', request: '{"body":null,"cut":false}', response: '{"status":200,"stream":false,"choices":null,"error":null,"text":null,"cut":false}' }])
  expect((await content(stack, 'old-one')).status).toBe(200)
  const deleted = new Promise<Record<string, unknown>>((resolve) => {
    const log = { info: (data: Record<string, unknown>) => resolve(data), warn: (data: unknown) => resolve({ failed: data }) }
    stop = startRetention(stack!.sink.captures, 7, log as never, 'captures')
  })
  expect(await deleted).toEqual({ deleted: 1, days: 7 })
  expect((await content(stack, 'old-one')).status).toBe(404)
  expect((await content(stack, recent.id)).status).toBe(200)
  expect((await stack.stored()).map((r) => r.id)).toEqual([recent.id])
})

test('the content endpoint is behind the API token and answers 404 in the API error shape', async () => {
  stack = await startStack({ capture: { mode: 'all' } })
  await stack.client.chat.completions.create(chatBody())
  const row = await settled(stack)
  await metricsApi(stack, API_TOKEN)
  const denied = await content(stack, row.id, '')
  expect(denied.status).toBe(401)
  expect(denied.body).toMatchObject({ error: { code: 'invalid_api_key' } })
  expect((await content(stack, row.id)).status).toBe(200)
  const missing = await content(stack, 'no-such-request')
  expect(missing.status).toBe(404)
  expect(missing.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found', param: 'id' } })
})

test('with CAPTURE=off and no keys the proxy captures nothing and keeps no tap', async () => {
  stack = await startStack({ capture: { mode: 'off' } })
  expect(stack.app.captures).toBeNull()
  await stack.client.chat.completions.create(chatBody())
  const row = await settled(stack)
  expect((await content(stack, row.id)).status).toBe(404)
})

test('refusals, long streams (reassembled in batches as they arrive, then cut) and compressed streams', async () => {
  stack = await startStack({ capture: { mode: 'all', maxBytes: 2048 } })
  const refusal = await stack.client.chat.completions.create(streamBody(), scenario('refusal'))
  let refused = ''
  for await (const chunk of refusal) refused += (chunk.choices[0]?.delta as { refusal?: string } | undefined)?.refusal ?? ''
  const got = await captured(stack, (await settled(stack)).id)
  expect(got.response.choices![0]).toMatchObject({ content: null, refusal: refused })
  expect(refused).toBe("I'm sorry, I cannot help with that.")

  // 3,000 events, about 450 KB of SSE: fed to the reassembler 64 KB at a time, the text kept to the bound.
  const long = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-answer-tokens': '3000' } })
  let text = ''
  for await (const chunk of long) text += chunk.choices[0]?.delta.content ?? ''
  const cut = await captured(stack, (await settled(stack)).id)
  expect(cut.response.cut).toBe(true)
  const kept = cut.response.choices![0].content!
  expect(text.startsWith(kept)).toBe(true)
  expect(kept.length).toBeGreaterThan(1500)
  expect(cut.response.choices![0].finish_reason).toBe('stop') // read to the end, though the text was cut

  // A gzip stream: the capture reads the decoded copy, as the meters do.
  const zipped = await stack.client.chat.completions.create(streamBody(), { headers: { 'x-mock-content-encoding': 'gzip', 'x-mock-answer-tokens': '5' } })
  let plain = ''
  for await (const chunk of zipped) plain += chunk.choices[0]?.delta.content ?? ''
  const row = await stack.rows.next()
  await stack.app.rows.flush()
  await stack.app.captures!.flush()
  expect((await captured(stack, row.id)).response.choices![0].content).toBe(plain)
})
