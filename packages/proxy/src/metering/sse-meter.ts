import { detached, hasNonEmptyString, hasObjectField, readStringField, valueIndex } from './json-scan.js'
import { anthropicToUsage, mergeAnthropicUsage, readErrorMessage, readResponsesUsage, readUsage, type AnthropicUsage, type Protocol, type Usage } from './usage.js'

const EMPTY = Buffer.alloc(0)
const BLANK_LINE = Buffer.from('\n\n')
const MAX_EVENT_BYTES = 1024 * 1024
const CR = 0x0d

/**
 * Reads a copy of an OpenAI-style SSE stream and keeps only what the metrics need: when output
 * events arrive, finish_reason, usage, the model, error events and `[DONE]`.
 *
 * Events may be split across chunks or packed several to a chunk; lines may end in `\n` or `\r\n`;
 * comment lines and multi-line `data:` are handled. JSON is parsed only for the rare events that
 * carry usage or an error; the rest is scanned with indexOf, because this runs once per event on
 * the hot path.
 *
 * With `stripUsageChunk`, the usage-only chunk (`"choices":[]` plus `usage`) that the proxy asked
 * for on the client's behalf is removed; then only whole events are passed on, so a split event waits
 * for its end (which the client needs anyway before it can use it).
 */
export class SseMeter {
  firstOutputAt: number | null = null
  lastOutputAt: number | null = null
  outputEvents = 0
  dataEvents = 0
  finishReason: string | null = null
  model: string | null = null
  usage: Usage | null = null
  done = false
  errorMessage: string | null = null
  errorType: string | null = null
  sawError = false

  private tail: Buffer | null = null
  private anthropicUsage: AnthropicUsage | null = null
  private anthropicDelta = false

  constructor(
    private readonly stripUsageChunk: boolean,
    private readonly protocol: Protocol = 'openai',
  ) {}

  /**
   * Measures the bytes that arrived at `now` (the proxy passes all of one socket read at once).
   * Returns what to send to the client: the bytes themselves when nothing is stripped, otherwise
   * the complete events among them that are kept (maybe none).
   */
  push(chunk: Buffer, now: number): Buffer {
    const data = this.tail === null ? chunk : Buffer.concat([this.tail, chunk])
    let eventStart = 0
    let lineStart = 0
    let dataText: string | null = null
    let eventName: string | null = null
    // Pieces kept around a stripped event; made only when one is stripped (nearly every chunk has none).
    let kept: Buffer[] | null = null
    let keptFrom = 0

    // One decode per call: latin1 maps each byte to one character, so offsets in `text` are offsets
    // in `data`, and lines are found with V8's own string search instead of a native Buffer.indexOf
    // and decode per line. The proxy calls this once per socket read (all the events that came in
    // it); the few values the row keeps are decoded as UTF-8 where they are read (utf8 below).
    const text = (data as Slicing).latin1Slice(0, data.length)
    for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', lineStart)) {
      const lineEnd = lf > lineStart && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf
      if (lineEnd === lineStart) {
        // Blank line: the event that began at eventStart is complete.
        if (dataText !== null) {
          const strip = this.onEvent(dataText, eventName, now)
          if (strip && this.stripUsageChunk) {
            kept ??= []
            if (eventStart > keptFrom) kept.push(data.subarray(keptFrom, eventStart))
            keptFrom = lf + 1
          }
        }
        dataText = null
        eventName = null
        eventStart = lf + 1
      } else if (text.startsWith('data:', lineStart)) {
        let valueStart = lineStart + 5
        if (text.charCodeAt(valueStart) === 0x20) valueStart++
        const value = text.slice(valueStart, lineEnd)
        dataText = dataText === null ? value : dataText + '\n' + value
      } else if (text.charCodeAt(lineStart) === 0x65 /* e */ && text.charCodeAt(lineStart + 5) === 0x3a /* event: */) {
        eventName = text.slice(lineStart + (text.charCodeAt(lineStart + 6) === 0x20 ? 7 : 6), lineEnd)
      }
      // Comment lines (":...") and id:/retry: fields carry nothing we measure.
      lineStart = lf + 1
    }

    this.tail = eventStart < data.length ? Buffer.from(data.subarray(eventStart)) : null
    if (this.tail !== null && this.tail.length > MAX_EVENT_BYTES) {
      // Not an SSE stream we understand; stop holding bytes rather than grow without bound.
      this.tail = null
      eventStart = data.length
    }
    if (!this.stripUsageChunk) return chunk
    if (kept === null) return eventStart === data.length ? data : data.subarray(0, eventStart)
    if (eventStart > keptFrom) kept.push(data.subarray(keptFrom, eventStart))
    return kept.length === 0 ? EMPTY : kept.length === 1 ? kept[0] : Buffer.concat(kept)
  }

  /** At the end of the stream: an event left without its closing blank line still counts. */
  end(now: number): Buffer {
    const rest = this.tail
    this.tail = null
    if (rest === null) return EMPTY
    const kept = this.push(Buffer.concat([rest, BLANK_LINE]), now)
    // Without stripping, these bytes already went out with the chunks they came in.
    if (!this.stripUsageChunk) return EMPTY
    return kept.length > 0 ? rest : EMPTY
  }

  /** Returns true when this event is the usage-only chunk and should be stripped. */
  private onEvent(text: string, eventName: string | null, now: number): boolean {
    if (this.protocol === 'responses') {
      this.onResponsesEvent(text, eventName, now)
      return false
    }
    if (this.protocol === 'anthropic') {
      this.onAnthropicEvent(text, eventName, now)
      return false
    }
    const isErrorEvent = eventName === 'error'
    if (text === '[DONE]') {
      this.done = true
      return false
    }
    this.dataEvents++
    if (this.model === null) this.model = rowValue(readStringField(text, 'model"'))

    const output = carriesOutput(text)
    if (output) {
      if (this.firstOutputAt === null) this.firstOutputAt = now
      this.lastOutputAt = now
      this.outputEvents++
    }
    const finish = readStringField(text, 'finish_reason"')
    if (finish !== null) this.finishReason = rowValue(finish)
    // Errors and usage ride on events without generated output: only those are scanned for them,
    // which spares two scans on nearly every event of a stream.
    if (output && !isErrorEvent) return false

    if (isErrorEvent || hasObjectField(text, 'error"')) {
      this.sawError = true
      const parsed = tryParse(text)
      const { message, type } = readErrorMessage(parsed ?? utf8(text))
      this.errorMessage = message
      this.errorType = type
      return false
    }
    if (hasObjectField(text, 'usage"')) {
      const parsed = tryParse(text) as { usage?: unknown; choices?: unknown[] } | null
      const usage = readUsage(parsed?.usage)
      if (usage) this.usage = usage
      return this.stripUsageChunk && Array.isArray(parsed?.choices) && parsed.choices.length === 0
    }
    return false
  }

  private output(now: number): void {
    if (this.firstOutputAt === null) this.firstOutputAt = now
    this.lastOutputAt = now
    this.outputEvents++
  }

  private error(message: string | null, type: string | null): void {
    this.sawError = true
    this.errorMessage = message
    this.errorType = type
  }

  /**
   * OpenAI Responses API: output deltas (`response.output_text.delta`, reasoning, refusal, tool
   * arguments...) time the stream; usage, model and status come with `response.completed`,
   * `response.incomplete` or `response.failed`; there is no `[DONE]`. Only those rare events are parsed.
   */
  private onResponsesEvent(text: string, eventName: string | null, now: number): void {
    this.dataEvents++
    const type = eventName ?? readStringField(text, 'type"')
    if (type === null) return
    if (type.endsWith('.delta')) {
      if (hasNonEmptyString(text, 'delta"')) this.output(now)
      return
    }
    if (type === 'error') {
      const e = tryParse(text) as Record<string, any> | null
      const err = e?.error && typeof e.error === 'object' ? e.error : e
      const { message } = readErrorMessage(err ? { error: err } : utf8(text))
      this.error(message, str(err?.code) ?? str(err?.type) ?? 'stream_error')
      return
    }
    if (type !== 'response.created' && type !== 'response.completed' && type !== 'response.incomplete' && type !== 'response.failed') return
    const response = (tryParse(text) as { response?: Record<string, any> } | null)?.response
    if (!response || typeof response !== 'object') return
    if (typeof response.model === 'string' && response.model) this.model = response.model
    if (type === 'response.created') return
    this.done = true
    this.usage = readResponsesUsage(response.usage) ?? this.usage
    this.finishReason = str(response.incomplete_details?.reason) ?? str(response.status) ?? type.slice('response.'.length)
    if (type === 'response.failed') {
      const err = response.error
      this.error(str(err?.message) ?? 'The response failed.', str(err?.code) ?? 'response_failed')
    }
  }

  /**
   * Anthropic Messages: output is a `content_block_delta` with text, thinking or tool input; input
   * and cache tokens come in `message_start`, output tokens in `message_delta` (cumulative: the
   * latest value of each field wins); `stop_reason` is the finish reason; `message_stop` ends it.
   */
  private onAnthropicEvent(text: string, eventName: string | null, now: number): void {
    this.dataEvents++
    const type = eventName ?? readStringField(text, 'type"')
    if (type === 'content_block_delta') {
      if (hasNonEmptyString(text, 'text"') || hasNonEmptyString(text, 'thinking"') || hasNonEmptyString(text, 'partial_json"')) this.output(now)
      return
    }
    if (type === 'ping' || type === 'content_block_start' || type === 'content_block_stop') return
    if (type === 'message_stop') {
      this.done = true
      return
    }
    const e = tryParse(text) as Record<string, any> | null
    if (!e) return
    if (type === 'error' || e.type === 'error') {
      const { message, type: errType } = readErrorMessage(e)
      this.error(message, errType ?? 'stream_error')
      return
    }
    if (type === 'message_start') {
      const m = e.message
      if (typeof m?.model === 'string' && m.model) this.model = m.model
      this.anthropicUsage = mergeAnthropicUsage(this.anthropicUsage, m?.usage)
    } else if (type === 'message_delta') {
      this.anthropicDelta = true
      this.anthropicUsage = mergeAnthropicUsage(this.anthropicUsage, e.usage)
      const reason = str(e.delta?.stop_reason)
      if (reason !== null) this.finishReason = reason
    } else return
    const usage = anthropicToUsage(this.anthropicUsage)
    // message_start's output_tokens (usually 1) is a count so far, not the answer's: until a
    // message_delta reports it, output is counted from the stream (and marked estimated).
    if (usage !== null && !this.anthropicDelta) {
      usage.completionTokens = null
      usage.totalTokens = null
    }
    this.usage = usage
  }
}

/**
 * Buffer's own latin1 decoder, called without `toString`'s argument checks and encoding lookup
 * (undici calls `utf8Slice` the same way).
 */
type Slicing = Buffer & { latin1Slice(start: number, end: number): string }

const str = (v: unknown) => (typeof v === 'string' && v ? v : null)

/**
 * Events are scanned as latin1 (one character per byte, see push); what is kept or parsed is
 * read again as the UTF-8 it was sent as. Only the rare values that leave the meter pass here.
 */
function utf8<T extends string | null>(latin1: T): T {
  return latin1 !== null && NON_ASCII.test(latin1) ? (Buffer.from(latin1, 'latin1').toString('utf8') as T) : latin1
}
const NON_ASCII = /[\x80-\xff]/

/** A value the row keeps: as UTF-8, and a string of its own, not a view on the read it was cut from. */
const rowValue = <T extends string | null>(latin1: T): T => (latin1 !== null && NON_ASCII.test(latin1) ? utf8(latin1) : detached(latin1))

/** JSON of an event's latin1 text, read as UTF-8. */
function tryParse(text: string): unknown {
  try {
    return JSON.parse(utf8(text))
  } catch {
    return null
  }
}

/** DESIGN.md §4: content, reasoning, refusal or tool calls count as generated output; a role-only chunk does not. */
function carriesOutput(text: string): boolean {
  if (hasNonEmptyString(text, 'content"')) return true
  if (hasNonEmptyString(text, 'text"')) return true // /v1/completions
  if (hasNonEmptyString(text, 'reasoning_content"') || hasNonEmptyString(text, 'reasoning"')) return true
  if (hasNonEmptyString(text, 'refusal"')) return true
  const tools = valueIndex(text, 'tool_calls"')
  return tools !== -1 && text.charCodeAt(tools) === 0x5b /* [ */ && text.charCodeAt(tools + 1) !== 0x5d /* ] */
}

