import { anthropicToUsage, mergeAnthropicUsage, readErrorMessage, readResponsesUsage, readUsage, type Protocol, type Usage } from './usage.js'

/** Bodies larger than this are passed on but not parsed; a usage block at the end is still found. */
const MAX_PARSED_BYTES = 4 * 1024 * 1024
const TAIL_BYTES = 4096

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
  private tail: Buffer | null = null

  push(chunk: Buffer): void {
    this.size += chunk.length
    if (this.size <= MAX_PARSED_BYTES) {
      this.chunks.push(chunk)
      return
    }
    // Too big to parse whole (e.g. many embeddings): keep only the end, where `usage` sits.
    const joined = Buffer.concat([...this.chunks, ...(this.tail ? [this.tail] : []), chunk])
    this.chunks = []
    this.tail = joined.subarray(Math.max(0, joined.length - TAIL_BYTES))
  }

  summarize(isError: boolean, protocol: Protocol = 'openai'): BodySummary {
    const summary: BodySummary = { model: null, finishReason: null, usage: null, errorMessage: null, errorType: null, failed: false }
    const readAnyUsage = usageReader(protocol)
    if (this.tail !== null) {
      summary.usage = usageFromTail(this.tail.toString('utf8'), readAnyUsage)
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
