import { describe, expect, test } from 'vitest'
import { BodyMeter } from '../src/metering/body-meter.js'
import type { Protocol } from '../src/metering/usage.js'

/** Feeds a body in pieces of `size` bytes and summarizes it. */
function summarize(body: unknown, protocol: Protocol, size = 1000, isError = false) {
  const meter = new BodyMeter()
  const bytes = Buffer.from(JSON.stringify(body))
  for (let i = 0; i < bytes.length; i += size) meter.push(bytes.subarray(i, i + size))
  return { summary: meter.summarize(isError, protocol), bytes: bytes.length }
}

// Text with quotes, keys and escapes in it: only the real keys may be read.
const filler = (n: number) => 'say "model": "not-this", "finish_reason": "nope", \\ and go on. '.repeat(Math.ceil(n / 60)).slice(0, n)

const chat = (content: string) => ({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'length' }],
  usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46, prompt_tokens_details: { cached_tokens: 5 } },
})
const embeddings = (inputs: number) => ({
  object: 'list',
  data: Array.from({ length: inputs }, (_, index) => ({ object: 'embedding', index, embedding: Array.from({ length: 1536 }, (_, i) => Math.sin(i + index) / 7) })),
  model: 'text-embedding-3-small',
  usage: { prompt_tokens: 40, total_tokens: 40 },
})
const message = (text: string) => ({
  id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text }],
  stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 9, output_tokens: 21, cache_read_input_tokens: 3 },
})
const response = (text: string, status = 'incomplete') => ({
  id: 'resp_1', object: 'response', status, incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null, model: 'gpt-4.1',
  output: [{ type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text }] }],
  usage: { input_tokens: 7, output_tokens: 8, total_tokens: 15 },
})

describe('BodyMeter', () => {
  test.each([
    ['chat completion', 'openai', (n: number) => chat(filler(n))],
    ['Anthropic message', 'anthropic', (n: number) => message(filler(n))],
    ['Responses API object', 'responses', (n: number) => response(filler(n))],
  ] as const)('a %s read from its edges when large says what a whole parse says when small', (_name, protocol, make) => {
    const small = summarize(make(100), protocol)
    const large = summarize(make(300_000), protocol, 16_384)
    expect(small.bytes).toBeLessThan(64 * 1024)
    expect(large.bytes).toBeGreaterThan(64 * 1024)
    expect(small.summary.model).not.toBeNull()
    expect(small.summary.finishReason).not.toBeNull()
    expect(small.summary.usage).not.toBeNull()
    expect(large.summary).toEqual(small.summary)
  })

  test('a large embeddings answer (model after the vectors) keeps its model and usage', () => {
    const small = summarize(embeddings(1), 'openai')
    const large = summarize(embeddings(24), 'openai', 65_536)
    expect(large.bytes).toBeGreaterThan(500_000)
    expect(large.summary.model).toBe('text-embedding-3-small')
    expect(large.summary).toEqual(small.summary)
  })

  test('a large failed Responses object is a failure', () => {
    const { summary } = summarize(response(filler(200_000), 'failed'), 'responses')
    expect(summary).toMatchObject({ failed: true, errorType: 'response_failed', model: 'gpt-4.1' })
  })
})
