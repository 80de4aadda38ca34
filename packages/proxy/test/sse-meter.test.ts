import { describe, expect, test } from 'vitest'
import { SseMeter } from '../src/metering/sse-meter.js'

const chunk = (delta: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`
const finish = (reason = 'stop') =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta: {}, finish_reason: reason }] })}\n\n`
const usage = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm1', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } } })}\n\n`
const stream = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({ content: '!' }), finish(), usage, 'data: [DONE]\n\n'].join('')

/** Feeds `text` split into pieces of `size` bytes at increasing times; returns the meter and what passed. */
function feed(text: string, size: number, strip: boolean) {
  const meter = new SseMeter(strip)
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
