/**
 * What the benchmark reads from one streamed answer: when output events came, and usage. Reads
 * chat/completions chunks, Responses API events and Anthropic Messages events alike.
 */
export class StreamReader {
  firstOutputAt: number | null = null
  lastOutputAt: number | null = null
  outputEvents = 0
  completionTokens: number | null = null
  private buffer = ''

  push(text: string, now: number): void {
    this.buffer += text
    let end: number
    while ((end = this.buffer.search(/\r?\n\r?\n/)) !== -1) {
      const event = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n')
      if (!data || data === '[DONE]') continue
      let chunk: any
      try {
        chunk = JSON.parse(data)
      } catch {
        continue
      }
      // Chat/completions usage; the Responses API's in response.completed/incomplete/failed;
      // Anthropic's output_tokens in message_start and (cumulative) message_delta.
      const usage = chunk.usage ?? chunk.response?.usage ?? chunk.message?.usage
      const tokens = usage?.completion_tokens ?? usage?.output_tokens
      if (typeof tokens === 'number') this.completionTokens = tokens
      const c = chunk.choices?.[0]
      const d = c?.delta ?? {}
      const type = typeof chunk.type === 'string' ? chunk.type : ''
      const out =
        d.content || d.reasoning_content || d.reasoning || d.refusal || d.tool_calls?.length || c?.text ||
        // Responses API: any output delta (text, reasoning, tool arguments).
        (type.startsWith('response.') && type.endsWith('.delta') && chunk.delta) ||
        // Anthropic: text, thinking or tool input.
        (type === 'content_block_delta' && (chunk.delta?.text || chunk.delta?.thinking || chunk.delta?.partial_json))
      if (out) {
        this.firstOutputAt ??= now
        this.lastOutputAt = now
        this.outputEvents++
      }
    }
  }

  /** Tokens generated: from usage when the server sent it, else one per output event. */
  get tokens(): number {
    return this.completionTokens ?? this.outputEvents
  }
}
