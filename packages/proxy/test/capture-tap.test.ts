import { expect, test } from 'vitest'
import { CaptureTap } from '../src/capture/tap.js'

/** Feeds a stream to a tap in pieces of `size` bytes (splitting lines, events and UTF-8 characters), then reads it back. */
function reassemble(protocol: 'openai' | 'responses' | 'anthropic', sse: string, size: number) {
  const tap = new CaptureTap('all', 65536, protocol)
  tap.begin(200, true)
  const bytes = Buffer.from(sse)
  for (let i = 0; i < bytes.length; i += size) tap.push(bytes.subarray(i, i + size))
  return tap.stream()!.end()
}

const ev = (data: object, name?: string, eol = '\n') => `${name ? `event: ${name}${eol}` : ''}data: ${JSON.stringify(data)}${eol}${eol}`

test('a chat stream split anywhere, CRLF line ends, multi-byte text and parallel tool calls reads the same', () => {
  const chunks = [
    { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
    { choices: [{ index: 0, delta: { content: 'Grüße, ' } }] },
    { choices: [{ index: 0, delta: { content: '世界 🌍' } }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', function: { name: 'one', arguments: '{"x":' } }, { index: 1, id: 'call_b', function: { name: 'two', arguments: '' } }] } }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '{"y":2}' } }, { index: 0, function: { arguments: '1}' } }] } }] },
    { choices: [{ index: 0, delta: { refusal: 'No.' }, finish_reason: 'tool_calls' }] },
  ]
  const sse = chunks.map((c) => ev(c, undefined, '\r\n')).join('') + ': keep-alive\r\n\r\ndata: [DONE]\r\n\r\n'
  for (const size of [1, 3, 7, 1000]) {
    expect(reassemble('openai', sse, size)).toEqual({
      choices: [{
        index: 0, role: 'assistant', content: 'Grüße, 世界 🌍', reasoning: null, refusal: 'No.', finish_reason: 'tool_calls',
        tool_calls: [{ id: 'call_a', name: 'one', arguments: '{"x":1}' }, { id: 'call_b', name: 'two', arguments: '{"y":2}' }],
      }],
      error: null, text: null, cut: false,
    })
  }
})

test('Responses API: refusals, reasoning summaries and an incomplete answer', () => {
  const sse = [
    ev({ type: 'response.created', response: { status: 'in_progress' } }, 'response.created'),
    ev({ type: 'response.reasoning_summary_text.delta', delta: 'Thinking' }, 'response.reasoning_summary_text.delta'),
    ev({ type: 'response.refusal.delta', delta: 'I will not' }, 'response.refusal.delta'),
    ev({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } }, 'response.incomplete'),
  ].join('')
  expect(reassemble('responses', sse, 5).choices).toEqual([{ index: 0, role: 'assistant', content: null, reasoning: 'Thinking', refusal: 'I will not', tool_calls: [], finish_reason: 'max_output_tokens' }])
})

test('Anthropic: an error event mid-stream keeps what came before it', () => {
  const sse = [
    ev({ type: 'message_start', message: { role: 'assistant' } }, 'message_start'),
    ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Partial' } }, 'content_block_delta'),
    ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
  ].join('')
  const a = reassemble('anthropic', sse, 4)
  expect(a.choices![0].content).toBe('Partial')
  expect(a.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' })
})
