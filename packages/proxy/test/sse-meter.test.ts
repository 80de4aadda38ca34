import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, test } from 'vitest'
import { SseMeter } from '../src/metering/sse-meter.js'
import type { Protocol } from '../src/metering/usage.js'

const chunk = (delta: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`
const finish = (reason = 'stop') =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta: {}, finish_reason: reason }] })}\n\n`
const usage = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm1', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } } })}\n\n`
const stream = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({ content: '!' }), finish(), usage, 'data: [DONE]\n\n'].join('')

/** Feeds `text` split into pieces of `size` bytes at increasing times; returns the meter and what passed. */
function feed(text: string, size: number, strip: boolean, protocol: Protocol = 'openai') {
  const meter = new SseMeter(strip, protocol)
  const bytes = Buffer.from(text)
  const out: Buffer[] = []
  let t = 0
  for (let i = 0; i < bytes.length; i += size) out.push(meter.push(bytes.subarray(i, i + size), ++t))
  out.push(meter.end(++t))
  return { meter, passed: Buffer.concat(out).toString() }
}

describe('SseMeter', () => {
  test.each([1, 2, 7, 64, 100_000])('finds the same events whatever the chunking (%i bytes)', (size) => {
    const { meter, passed } = feed(stream, size, false)
    expect(passed).toBe(stream)
    expect(meter.outputEvents).toBe(3)
    expect(meter.dataEvents).toBe(6)
    expect(meter.finishReason).toBe('stop')
    expect(meter.model).toBe('m1')
    expect(meter.done).toBe(true)
    expect(meter.usage).toEqual({ promptTokens: 7, completionTokens: 3, totalTokens: 10, cachedTokens: 2, reasoningTokens: null })
    if (size < stream.length) expect(meter.firstOutputAt).toBeLessThan(meter.lastOutputAt!)
  })

  test.each([1, 3, 1000])('text outside ASCII is read as the UTF-8 it was sent as, split anywhere (%i bytes)', (size) => {
    const model = 'modèle-ü-🦙'
    const text = [
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content: 'héllo' }, finish_reason: null }] })}\n\n`,
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: {}, finish_reason: 'arrêt' }] })}\n\n`,
      `event: error\ndata: ${JSON.stringify({ error: { message: 'échec — 模型 overloaded 🦙', type: 'server_error' } })}\n\n`,
    ].join('')
    const { meter, passed } = feed(text, size, false)
    expect(passed).toBe(text)
    expect(meter.model).toBe(model)
    expect(meter.finishReason).toBe('arrêt')
    expect(meter.outputEvents).toBe(1)
    expect(meter.errorMessage).toBe('échec — 模型 overloaded 🦙')
  })

  test('keys are matched whole, with their quotes, and with spaces around the colon', () => {
    const raw = (json: string) => `data: ${json}\n\n`
    const events = [
      // A key that ends like another (reasoning_content, xcontent) is not it; an empty value is no output.
      raw('{"model":"m2","choices":[{"delta":{"reasoning_content":"","xcontent":"abc","content":""},"finish_reason":null}]}'),
      // The same text inside a string value is not a key.
      raw('{"choices":[{"delta":{"content":"","role":"say \\"content\\": 1"},"finish_reason":null}]}'),
      raw('{"choices":[{"delta":{"content" :  "hi"}, "finish_reason" : null}]}'),
      raw('{"choices":[{"delta":{},"xfinish_reason":"stop","finish_reason" : "length"}]}'),
    ]
    const { meter } = feed(events.join(''), 1000, false)
    expect(meter.model).toBe('m2')
    expect(meter.outputEvents).toBe(1)
    expect(meter.finishReason).toBe('length')
  })

  test('the role-only first chunk is not output', () => {
    const { meter } = feed(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'x' }), 1000, false)
    expect(meter.outputEvents).toBe(1)
  })

  test.each([1, 3, 50, 100_000])('strips exactly the usage-only chunk, byte for byte (%i-byte pieces)', (size) => {
    const { meter, passed } = feed(stream, size, true)
    expect(passed).toBe(stream.replace(usage, ''))
    expect(meter.usage?.completionTokens).toBe(3)
  })

  test('CRLF line endings, comments and multi-line data', () => {
    const text = ': keep-alive\r\n\r\n' + 'data: {"model":"m2","choices":[{"delta":\r\ndata: {"content":"hi"},"finish_reason":null}]}\r\n\r\n' + 'data: {"choices":[{"delta":{},"finish_reason":"length"}]}\r\n\r\n'
    const { meter } = feed(text, 5, false)
    expect(meter.outputEvents).toBe(1)
    expect(meter.model).toBe('m2')
    expect(meter.finishReason).toBe('length')
    expect(meter.done).toBe(false)
  })

  test('a last event without its blank line still counts', () => {
    const { meter, passed } = feed(chunk({ content: 'a' }) + 'data: {"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}', 4, true)
    expect(meter.outputEvents).toBe(2)
    expect(meter.finishReason).toBe('stop')
    expect(passed).toContain('"content":"b"')
  })

  test('tool calls, reasoning and refusals are output; empty tool_calls are not', () => {
    const text = [
      chunk({ reasoning_content: 'think' }),
      chunk({ tool_calls: [{ index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '' } }] }),
      chunk({ tool_calls: [] }),
      chunk({ refusal: 'no' }),
      chunk({ reasoning: 'r' }),
    ].join('')
    expect(feed(text, 9, false).meter.outputEvents).toBe(4)
  })

  test('an error event is seen with its message', () => {
    const text = chunk({ content: 'a' }) + 'data: {"error":{"message":"boom","type":"server_error"}}\n\n'
    const { meter } = feed(text, 10, false)
    expect(meter.sawError).toBe(true)
    expect(meter.errorMessage).toBe('boom')
    expect(meter.errorType).toBe('server_error')
  })

  test('text completions count `text` as output', () => {
    const text = 'data: {"object":"text_completion","choices":[{"text":"Hi","index":0,"finish_reason":null}]}\n\n'
    expect(feed(text, 10, false).meter.outputEvents).toBe(1)
  })

  test('spaces after colons (Python servers) are understood', () => {
    const text = 'data: {"model": "m3", "choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}\n\n'
    const { meter } = feed(text, 10, false)
    expect(meter.outputEvents).toBe(1)
    expect(meter.finishReason).toBe('stop')
    expect(meter.model).toBe('m3')
  })

  test('escaped quotes inside content do not fool the scanner', () => {
    const text = chunk({ content: '"finish_reason":"stop" and "usage":{' })
    const { meter } = feed(text, 1000, true)
    expect(meter.finishReason).toBeNull()
    expect(meter.usage).toBeNull()
    expect(meter.outputEvents).toBe(1)
  })
})

describe('SseMeter, what a row keeps', () => {
  test('the model and finish reason it reads keep no socket read alive', () => {
    // V8 makes a slice of 13+ characters a view on the string it was cut from: without a copy, each
    // row kept the whole read its model name came in until the row's batch was written.
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const model = 'a-model-name-long-enough-to-be-sliced'
    const reason = 'a_finish_reason_long_enough'
    // ~800 KB per read: under the size from which Node makes an external string, so it is V8 heap.
    const read = () => [
      `data: ${JSON.stringify({ id: 'c1', model, choices: [{ index: 0, delta: { content: 'x'.repeat(800_000) }, finish_reason: null }] })}\n\n`,
      `data: ${JSON.stringify({ id: 'c1', model, choices: [{ index: 0, delta: {}, finish_reason: reason }] })}\n\n`,
    ].join('')
    const kept = (): [string | null, string | null][] => {
      const values: [string | null, string | null][] = []
      for (let i = 0; i < 20; i++) {
        const meter = new SseMeter(false, 'openai')
        meter.push(Buffer.from(read()), 1)
        meter.end(2)
        values.push([meter.model, meter.finishReason])
      }
      return values
    }
    gc()
    const before = process.memoryUsage().heapUsed
    const values = kept()
    gc()
    gc()
    const grown = process.memoryUsage().heapUsed - before
    expect(values.every(([m, r]) => m === model && r === reason)).toBe(true)
    // Twenty reads of ~800 KB each: 16 MB if they were kept; the values themselves are ~2 KB.
    expect(grown).toBeLessThan(4 * 1024 * 1024)
  })
})

describe('SseMeter, Anthropic Messages', () => {
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const start = ev('message_start', { message: { model: 'claude-x', usage: { input_tokens: 10, cache_creation_input_tokens: 4, cache_read_input_tokens: 6, output_tokens: 1 } } })
  const delta = (text: string) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })

  test.each([1, 5, 100_000])('message_delta usage is cumulative: the latest value of each field, never a sum (%i-byte pieces)', (size) => {
    const text = start + ev('ping', {}) + delta('') + delta('Hi') + delta(' there') +
      ev('message_delta', { delta: { stop_reason: null }, usage: { output_tokens: 1 } }) +
      ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }) + ev('message_stop', {})
    const { meter, passed } = feed(text, size, false, 'anthropic')
    expect(passed).toBe(text)
    expect(meter.usage).toEqual({ promptTokens: 20, completionTokens: 7, totalTokens: 27, cachedTokens: 6, reasoningTokens: null, cacheWriteTokens: 4 })
    expect(meter.outputEvents).toBe(2) // the empty text delta is not output
    expect(meter.finishReason).toBe('end_turn')
    expect(meter.model).toBe('claude-x')
    expect(meter.done).toBe(true)
  })

  test('a field present in message_delta replaces the message_start value; absent ones keep it', () => {
    const text = start + delta('x') + ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 12, output_tokens: 3 } })
    const meter = new SseMeter(false, 'anthropic')
    meter.push(Buffer.from(text), 1)
    expect(meter.usage).toMatchObject({ promptTokens: 12 + 4 + 6, completionTokens: 3, cachedTokens: 6, cacheWriteTokens: 4 })
  })

  test('thinking and tool input deltas are output; signature deltas are not', () => {
    const meter = new SseMeter(false, 'anthropic')
    meter.push(Buffer.from(
      ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'abc' } }) +
      ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }) +
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"a"' } }) +
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } })), 5)
    expect(meter.outputEvents).toBe(2)
    expect(meter.firstOutputAt).toBe(5)
  })

  test('before any message_delta, output tokens are not known (message_start has a count so far)', () => {
    const meter = new SseMeter(false, 'anthropic')
    meter.push(Buffer.from(start + delta('a') + delta('b')), 1)
    expect(meter.usage).toMatchObject({ promptTokens: 20, completionTokens: null, totalTokens: null, cachedTokens: 6 })
    expect(meter.outputEvents).toBe(2)
  })

  test('an error event (overloaded_error) is recorded', () => {
    const meter = new SseMeter(false, 'anthropic')
    meter.push(Buffer.from(start + ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })), 1)
    expect(meter).toMatchObject({ sawError: true, errorType: 'overloaded_error', errorMessage: 'Overloaded' })
  })
})

describe('SseMeter, Responses API', () => {
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const usage = { input_tokens: 9, input_tokens_details: { cached_tokens: 3 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 14 }

  test.each([1, 7, 100_000])('deltas time the stream, response.completed brings usage and ends it (%i-byte pieces)', (size) => {
    const text = ev('response.created', { response: { model: 'gpt-x', status: 'in_progress', usage: null } }) +
      ev('response.output_item.added', { output_index: 0, item: { type: 'message', content: [] } }) +
      ev('response.reasoning_summary_text.delta', { delta: 'think' }) +
      ev('response.output_text.delta', { delta: 'Hi' }) + ev('response.output_text.delta', { delta: '' }) +
      ev('response.function_call_arguments.delta', { delta: '{}' }) +
      ev('response.completed', { response: { model: 'gpt-x-2025', status: 'completed', usage } })
    const { meter } = feed(text, size, false, 'responses')
    expect(meter.outputEvents).toBe(3)
    expect(meter.done).toBe(true)
    expect(meter.model).toBe('gpt-x-2025')
    expect(meter.finishReason).toBe('completed')
    expect(meter.usage).toEqual({ promptTokens: 9, completionTokens: 5, totalTokens: 14, cachedTokens: 3, reasoningTokens: 2 })
    expect(meter.sawError).toBe(false)
  })

  test('response.incomplete: the reason is the finish reason; response.failed and error events are errors', () => {
    const incomplete = new SseMeter(false, 'responses')
    incomplete.push(Buffer.from(ev('response.incomplete', { response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage } })), 1)
    expect(incomplete).toMatchObject({ done: true, finishReason: 'max_output_tokens', sawError: false })

    const failed = new SseMeter(false, 'responses')
    failed.push(Buffer.from(ev('response.failed', { response: { status: 'failed', error: { code: 'server_error', message: 'boom' }, usage } })), 1)
    expect(failed).toMatchObject({ sawError: true, errorType: 'server_error', errorMessage: 'boom' })
    expect(failed.usage?.completionTokens).toBe(5)

    const error = new SseMeter(false, 'responses')
    error.push(Buffer.from(ev('error', { code: 'rate_limit_exceeded', message: 'slow down', param: null })), 1)
    expect(error).toMatchObject({ sawError: true, errorType: 'rate_limit_exceeded', errorMessage: 'slow down', done: false })
  })
})
