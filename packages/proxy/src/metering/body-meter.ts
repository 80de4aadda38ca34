import { detached, lastStringField, readStringField } from './json-scan.js'
import { anthropicToUsage, mergeAnthropicUsage, readErrorMessage, readResponsesUsage, readUsage, type Protocol, type Usage } from './usage.js'

/**
 * Bodies up to this are parsed whole. Larger ones (an embeddings answer is megabytes of numbers, a
 * long answer hundreds of KB) are not: parsing them would hold the event loop for milliseconds after
 * each response. Their first and last EDGE_BYTES are read instead, where the fields the row needs
 * sit: `model` and `id` first, `finish_reason`, `stop_reason`, `model` (embeddings) and `usage` last.
 */
const PARSE_WHOLE_BYTES = 64 * 1024
const EDGE_BYTES = 8192

export interface BodySummary {
  model: string | null
  finishReason: string | null
  usage: Usage | null
  errorMessage: string | null
  errorType: string | null
  /** A 2xx body that reports a failure (a Responses API object with `status: "failed"`). */
  failed: boolean
}

/** Reads the usage object of a protocol. */
function usageReader(protocol: Protocol): (raw: unknown) => Usage | null {
  if (protocol === 'responses') return readResponsesUsage
  if (protocol === 'anthropic') return (raw) => anthropicToUsage(mergeAnthropicUsage(null, raw))
  return readUsage
}

/** Keeps a copy of a non-streamed response body (bounded) to read usage, model and errors at its end. */
export class BodyMeter {
  private chunks: Buffer[] = []
  private size = 0
  /** Once the body outgrew PARSE_WHOLE_BYTES: its first and (so far) last bytes. */
  private head: Buffer | null = null
  private tail: Buffer | null = null

  push(chunk: Buffer): void {
    this.size += chunk.length
    if (this.head === null && this.size <= PARSE_WHOLE_BYTES) {
      this.chunks.push(chunk)
      return
    }
    const joined = Buffer.concat(this.head === null ? [...this.chunks, chunk] : [this.tail!, chunk])
    if (this.head === null) this.head = Buffer.from(joined.subarray(0, EDGE_BYTES))
    this.chunks = []
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - EDGE_BYTES)))
  }

  summarize(isError: boolean, protocol: Protocol = 'openai'): BodySummary {
    const summary: BodySummary = { model: null, finishReason: null, usage: null, errorMessage: null, errorType: null, failed: false }
    const readAnyUsage = usageReader(protocol)
    if (this.head !== null) {
      const head = this.head.toString('utf8')
      const tail = this.tail!.toString('utf8')
      if (isError) {
        summary.errorMessage = readErrorMessage(head).message
        return summary
      }
      summary.usage = usageFromTail(tail, readAnyUsage)
      summary.model = readStringField(head, 'model"') ?? lastStringField(tail, 'model"')
      if (protocol === 'responses') {
        // The response's own status and incomplete_details come before its output (whose items have a status too).
        const status = readStringField(head, 'status"')
        const incomplete = head.indexOf('"incomplete_details":{')
        summary.finishReason = (incomplete !== -1 ? readStringField(head.slice(incomplete), 'reason"') : null) ?? status
        if (status === 'failed') {
          summary.failed = true
          summary.errorType = 'response_failed'
          summary.errorMessage = 'The response failed.'
        }
      } else {
        const key = protocol === 'anthropic' ? 'stop_reason"' : 'finish_reason"'
        summary.finishReason = lastStringField(tail, key) ?? lastStringField(head, key)
      }
      // Cut from the edges the meter kept: the row must not keep those alive.
      summary.model = detached(summary.model)
      summary.finishReason = detached(summary.finishReason)
      return summary
    }
    const text = Buffer.concat(this.chunks).toString('utf8')
    let body: any
    try {
      body = JSON.parse(text)
    } catch {
      if (isError) summary.errorMessage = readErrorMessage(text).message
      return summary
    }
    if (isError) {
      const { message, type } = readErrorMessage(body)
      summary.errorMessage = message
      summary.errorType = type
      return summary
    }
    if (body && typeof body === 'object') {
      summary.model = typeof body.model === 'string' ? body.model : null
      const reason =
        protocol === 'responses' ? (body.incomplete_details?.reason ?? body.status)
        : protocol === 'anthropic' ? body.stop_reason
        : body.choices?.[0]?.finish_reason
      summary.finishReason = typeof reason === 'string' && reason ? reason : null
      summary.usage = readAnyUsage(body.usage)
      if (protocol === 'responses' && body.status === 'failed') {
        summary.failed = true
        const { message, type } = readErrorMessage(body.error ? { error: body.error } : 'The response failed.')
        summary.errorMessage = message
        summary.errorType = typeof body.error?.code === 'string' ? body.error.code : (type ?? 'response_failed')
      }
    }
    return summary
  }
}

/** Finds a `"usage": {...}` object in the last bytes of a JSON body by matching braces. */
function usageFromTail(text: string, readAnyUsage: (raw: unknown) => Usage | null): Usage | null {
  const key = text.lastIndexOf('"usage"')
  if (key === -1) return null
  const open = text.indexOf('{', key)
  if (open === -1) return null
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === '{') depth++
    else if (c === '}' && --depth === 0) {
      try {
        return readAnyUsage(JSON.parse(text.slice(open, i + 1)))
      } catch {
        return null
      }
    }
  }
  return null
}

