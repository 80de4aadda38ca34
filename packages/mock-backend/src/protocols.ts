/**
 * The OpenAI Responses API and Anthropic Messages, as their servers send them: the same event
 * sequences, usage fields and error shapes, so the official SDKs accept them as real.
 */

export interface ProtocolPlan {
  model: string
  /** The answer, one word (one token) per content event. */
  words: string[]
  scenario: string
  /** max_output_tokens / max_tokens cut the answer short. */
  truncated: boolean
  cachedTokens: number
  cacheWriteTokens: number
}

export interface PlayedStream {
  /** Sent at once, before the first token. */
  head: string[]
  /** One per token, paced. */
  content: string[]
  /** After the last token. */
  closing: string[]
  /** What stream-error sends instead of the rest. */
  failure: string
}

const REASONING = ['Let', ' me', ' think', '.']
const TOOL_ARGS = ['{"city":', '"Paris",', '"unit":', '"celsius"}']
const sse = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
const id = (prefix: string) => `${prefix}_mock${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

// ---------------------------------------------------------------- OpenAI Responses API

function responsesUsage(p: ProtocolPlan, prompt: number) {
  const reasoning = p.scenario === 'reasoning' ? REASONING.length : 0
  const output = (p.scenario === 'tool-call' ? TOOL_ARGS.length : p.words.length) + reasoning
  return {
    input_tokens: prompt,
    input_tokens_details: { cached_tokens: p.cachedTokens },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: prompt + output,
  }
}

function responseObject(p: ProtocolPlan, respId: string, status: string, output: unknown[], usage: unknown, extra: Record<string, unknown> = {}) {
  return {
    id: respId, object: 'response', created_at: Math.floor(Date.now() / 1000), status, background: false, error: null,
    incomplete_details: null, instructions: null, max_output_tokens: null, model: p.model, output, parallel_tool_calls: true,
    previous_response_id: null, reasoning: { effort: null, summary: null }, store: false, temperature: 1,
    text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [], top_p: 1, truncation: 'disabled', usage, user: null,
    metadata: {}, ...extra,
  }
}

/** The finished output items of an answer. */
function responsesOutput(p: ProtocolPlan, ids: { msg: string; rs: string; fc: string }) {
  const items: unknown[] = []
  if (p.scenario === 'reasoning') {
    items.push({ id: ids.rs, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: REASONING.join('') }] })
  }
  if (p.scenario === 'tool-call') {
    items.push({ id: ids.fc, type: 'function_call', status: 'completed', call_id: 'call_mock_1', name: 'get_weather', arguments: TOOL_ARGS.join('') })
  } else {
    items.push({
      id: ids.msg, type: 'message', status: p.truncated ? 'incomplete' : 'completed', role: 'assistant',
      content: [{ type: 'output_text', text: p.words.join(''), annotations: [], logprobs: [] }],
    })
  }
  return items
}

function responsesEnd(p: ProtocolPlan) {
  if (p.scenario === 'failed') return { status: 'failed', extra: { error: { code: 'server_error', message: 'mock: the response failed' } } }
  if (p.truncated) return { status: 'incomplete', extra: { incomplete_details: { reason: 'max_output_tokens' } } }
  return { status: 'completed', extra: {} }
}

export function responsesAnswer(p: ProtocolPlan, prompt: number): { status: number; body: unknown } {
  const end = responsesEnd(p)
  const ids = { msg: id('msg'), rs: id('rs'), fc: id('fc') }
  const usage = p.scenario === 'no-usage' ? null : responsesUsage(p, prompt)
  return { status: 200, body: responseObject(p, id('resp'), end.status, end.status === 'failed' ? [] : responsesOutput(p, ids), usage, end.extra) }
}

/** response.created … output deltas … response.completed (or .incomplete / .failed), with sequence numbers. */
export function responsesEvents(p: ProtocolPlan, prompt: number): PlayedStream {
  const respId = id('resp')
  const ids = { msg: id('msg'), rs: id('rs'), fc: id('fc') }
  let seq = 0
  const ev = (type: string, data: object) => sse(type, { sequence_number: seq++, ...data })
  const head = [
    ev('response.created', { response: responseObject(p, respId, 'in_progress', [], null) }),
    ev('response.in_progress', { response: responseObject(p, respId, 'in_progress', [], null) }),
  ]
  const content: string[] = []
  const finished = responsesOutput(p, ids) as any[]
  let index = 0
  if (p.scenario === 'reasoning') {
    const item = { id: ids.rs, type: 'reasoning', summary: [] }
    head.push(ev('response.output_item.added', { output_index: index, item }))
    head.push(ev('response.content_part.added', { item_id: ids.rs, output_index: index, content_index: 0, part: { type: 'reasoning_text', text: '' } }))
    for (const w of REASONING) content.push(ev('response.reasoning_text.delta', { item_id: ids.rs, output_index: index, content_index: 0, delta: w }))
    content.push(
      ev('response.reasoning_text.done', { item_id: ids.rs, output_index: index, content_index: 0, text: REASONING.join('') }) +
        ev('response.content_part.done', { item_id: ids.rs, output_index: index, content_index: 0, part: { type: 'reasoning_text', text: REASONING.join('') } }) +
        ev('response.output_item.done', { output_index: index, item: finished[index] }),
    )
    index++
  }
  // Items after the first are announced with the last event of the one before.
  const announce = (text: string) => (content.length > 0 ? (content[content.length - 1] += text) : head.push(text))
  if (p.scenario === 'tool-call') {
    announce(ev('response.output_item.added', { output_index: index, item: { id: ids.fc, type: 'function_call', status: 'in_progress', call_id: 'call_mock_1', name: 'get_weather', arguments: '' } }))
    for (const a of TOOL_ARGS) content.push(ev('response.function_call_arguments.delta', { item_id: ids.fc, output_index: index, delta: a }))
    content[content.length - 1] +=
      ev('response.function_call_arguments.done', { item_id: ids.fc, output_index: index, arguments: TOOL_ARGS.join('') }) +
      ev('response.output_item.done', { output_index: index, item: finished[index] })
  } else {
    announce(
      ev('response.output_item.added', { output_index: index, item: { id: ids.msg, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }) +
        ev('response.content_part.added', { item_id: ids.msg, output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }),
    )
    for (const w of p.words) content.push(ev('response.output_text.delta', { item_id: ids.msg, output_index: index, content_index: 0, delta: w, logprobs: [] }))
    const text = p.words.join('')
    content[content.length - 1] +=
      ev('response.output_text.done', { item_id: ids.msg, output_index: index, content_index: 0, text, logprobs: [] }) +
      ev('response.content_part.done', { item_id: ids.msg, output_index: index, content_index: 0, part: { type: 'output_text', text, annotations: [], logprobs: [] } }) +
      ev('response.output_item.done', { output_index: index, item: finished[index] })
  }
  const end = responsesEnd(p)
  const usage = p.scenario === 'no-usage' ? null : responsesUsage(p, prompt)
  const closing = [ev(`response.${end.status}`, { response: responseObject(p, respId, end.status, end.status === 'failed' ? [] : finished, usage, end.extra) })]
  const failure = sse('error', { sequence_number: 999, code: 'server_error', message: 'mock mid-stream failure', param: null })
  return { head, content, closing, failure }
}

// ---------------------------------------------------------------- Anthropic Messages

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error', 529: 'overloaded_error',
}

export function anthropicError(status: number) {
  const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
  return { type: 'error', error: { type, message: type === 'overloaded_error' ? 'Overloaded' : `mock ${status} error` }, request_id: 'req_mock' }
}

/**
 * Anthropic counts uncached input apart from cache reads and writes; the mock's prompt size is the
 * sum of the three.
 */
function messagesUsage(p: ProtocolPlan, prompt: number, output: number) {
  return {
    input_tokens: Math.max(0, prompt - p.cachedTokens - p.cacheWriteTokens),
    cache_creation_input_tokens: p.cacheWriteTokens,
    cache_read_input_tokens: p.cachedTokens,
    output_tokens: output,
  }
}

const outputTokens = (p: ProtocolPlan) => (p.scenario === 'tool-call' ? TOOL_ARGS.length : p.words.length) + (p.scenario === 'reasoning' ? REASONING.length : 0)
const stopReason = (p: ProtocolPlan) => (p.scenario === 'tool-call' ? 'tool_use' : p.truncated ? 'max_tokens' : 'end_turn')

function messagesContent(p: ProtocolPlan) {
  const blocks: unknown[] = []
  if (p.scenario === 'reasoning') blocks.push({ type: 'thinking', thinking: REASONING.join(''), signature: 'mock-signature' })
  if (p.scenario === 'tool-call') blocks.push({ type: 'tool_use', id: 'toolu_mock_1', name: 'get_weather', input: JSON.parse(TOOL_ARGS.join('')) })
  else blocks.push({ type: 'text', text: p.words.join('') })
  return blocks
}

export function messagesAnswer(p: ProtocolPlan, prompt: number): { status: number; body: unknown } {
  return {
    status: 200,
    body: {
      id: id('msg'), type: 'message', role: 'assistant', model: p.model, content: messagesContent(p),
      stop_reason: stopReason(p), stop_sequence: null, usage: messagesUsage(p, prompt, outputTokens(p)),
    },
  }
}

/**
 * message_start (input and cache tokens, output_tokens 1), content blocks with their deltas, then
 * message_delta (stop_reason and the cumulative usage: every field, as Anthropic sends it now) and
 * message_stop. A `ping` comes early, as it does from Anthropic.
 */
export function messagesEvents(p: ProtocolPlan, prompt: number): PlayedStream {
  const message = { id: id('msg'), type: 'message', role: 'assistant', model: p.model, content: [], stop_reason: null, stop_sequence: null, usage: messagesUsage(p, prompt, 1) }
  const head = [sse('message_start', { message }), sse('ping', {})]
  const content: string[] = []
  let index = 0
  const open = (block: object) => {
    const text = sse('content_block_start', { index, content_block: block })
    if (content.length > 0) content[content.length - 1] += text
    else head.push(text)
  }
  const close = (extra = '') => (content[content.length - 1] += extra + sse('content_block_stop', { index: index++ }))
  if (p.scenario === 'reasoning') {
    open({ type: 'thinking', thinking: '', signature: '' })
    for (const w of REASONING) content.push(sse('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: w } }))
    close(sse('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'mock-signature' } }))
  }
  if (p.scenario === 'tool-call') {
    open({ type: 'tool_use', id: 'toolu_mock_1', name: 'get_weather', input: {} })
    for (const a of TOOL_ARGS) content.push(sse('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: a } }))
    close()
  } else {
    open({ type: 'text', text: '' })
    for (const w of p.words) content.push(sse('content_block_delta', { index, delta: { type: 'text_delta', text: w } }))
    close()
  }
  const closing = [
    sse('message_delta', { delta: { stop_reason: stopReason(p), stop_sequence: null }, usage: messagesUsage(p, prompt, outputTokens(p)) }),
    sse('message_stop', {}),
  ]
  const failure =
    p.scenario === 'stream-error'
      ? sse('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })
      : ''
  return { head, content, closing, failure }
}
