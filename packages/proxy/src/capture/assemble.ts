import type { CapturedChoice, CapturedToolCall } from '@llm-proxy/core/contracts'
import type { Protocol } from '../metering/usage.js'

/** The response as a person reads it, before redaction and the final cut. */
export interface Assembly {
  choices: CapturedChoice[] | null
  error: unknown
  text: string | null
  cut: boolean
}

/** Characters of text an assembly keeps in all; past it, text is dropped and the assembly is cut. */
class Budget {
  cut = false
  constructor(private left: number) {}
  take(s: string): string {
    if (s.length <= this.left) {
      this.left -= s.length
      return s
    }
    this.cut = true
    const kept = s.slice(0, Math.max(0, this.left))
    this.left = 0
    return kept
  }
}

type Field = 'content' | 'reasoning' | 'refusal'
interface ToolDraft extends CapturedToolCall {
  key: string
}

/** One choice being put together from fragments. */
class ChoiceDraft {
  role: string | null = null
  content: string | null = null
  reasoning: string | null = null
  refusal: string | null = null
  finish: string | null = null
  tools: ToolDraft[] = []
  constructor(readonly index: number, private readonly budget: Budget) {}

  append(field: Field, s: unknown): void {
    if (typeof s !== 'string' || s === '') return
    this[field] = (this[field] ?? '') + this.budget.take(s)
  }

  /** The tool call known by `key` (its index or item id), created on first sight. */
  tool(key: string | number): ToolDraft {
    const k = String(key)
    let t = this.tools.find((x) => x.key === k)
    if (!t) this.tools.push((t = { key: k, id: null, name: null, arguments: '' }))
    return t
  }

  toolArgs(key: string | number, s: unknown): void {
    if (typeof s === 'string' && s) this.tool(key).arguments += this.budget.take(s)
  }

  done(): CapturedChoice {
    return {
      index: this.index,
      role: this.role,
      content: this.content,
      reasoning: this.reasoning,
      refusal: this.refusal,
      tool_calls: this.tools.map(({ id, name, arguments: a }) => ({ id, name, arguments: a })),
      finish_reason: this.finish,
    }
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null)
const obj = (v: unknown): Record<string, any> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, any>) : null)

/** Choices by index, in index order. */
class Choices {
  private byIndex = new Map<number, ChoiceDraft>()
  constructor(readonly budget: Budget) {}
  at(index: unknown): ChoiceDraft {
    const i = typeof index === 'number' && Number.isInteger(index) ? index : 0
    let c = this.byIndex.get(i)
    if (!c) this.byIndex.set(i, (c = new ChoiceDraft(i, this.budget)))
    return c
  }
  done(): CapturedChoice[] {
    return [...this.byIndex.values()].sort((a, b) => a.index - b.index).map((c) => c.done())
  }
}

/**
 * Reassembles a stream from its SSE text, pushed in pieces as it arrived: per choice the content,
 * reasoning, refusal, tool calls (id, name, arguments joined) and finish reason, for each protocol.
 */
export class StreamAssembler {
  private tail = ''
  private readonly choices: Choices
  private error: unknown = null
  private messageRole: string | null = null
  /** Anthropic content blocks by index: what kind each is. */
  private blocks = new Map<number, { kind: 'text' | 'thinking' | 'tool'; key: number }>()

  constructor(private readonly protocol: Protocol, budgetChars: number) {
    this.choices = new Choices(new Budget(budgetChars))
  }

  push(text: string): void {
    const data = this.tail + text
    let start = 0
    for (;;) {
      const m = /\r?\n\r?\n/g
      m.lastIndex = start
      const hit = m.exec(data)
      if (!hit) break
      this.event(data.slice(start, hit.index))
      start = hit.index + hit[0].length
    }
    this.tail = data.slice(start)
  }

  end(): Assembly {
    if (this.tail.trim()) this.event(this.tail)
    this.tail = ''
    const choices = this.choices.done()
    if (this.messageRole) for (const c of choices) c.role ??= this.messageRole
    return { choices, error: this.error, text: null, cut: this.choices.budget.cut }
  }

  private event(block: string): void {
    let name: string | null = null
    const data: string[] = []
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5))
      else if (line.startsWith('event:')) name = line.slice(6).trim()
    }
    if (data.length === 0) return
    const text = data.join('\n')
    if (text === '[DONE]') return
    let e: Record<string, any> | null
    try {
      e = obj(JSON.parse(text))
    } catch {
      return
    }
    if (!e) return
    if (this.protocol === 'responses') this.responses(name ?? str(e.type), e)
    else if (this.protocol === 'anthropic') this.anthropic(name ?? str(e.type), e)
    else this.openai(name, e)
  }

  private openai(name: string | null, e: Record<string, any>): void {
    if (name === 'error' || obj(e.error)) {
      this.error = e.error ?? e
      return
    }
    if (!Array.isArray(e.choices)) return
    for (const raw of e.choices) {
      const ch = obj(raw)
      if (!ch) continue
      const c = this.choices.at(ch.index)
      const d = obj(ch.delta)
      if (d) {
        c.role ??= str(d.role)
        c.append('content', d.content)
        c.append('reasoning', d.reasoning_content ?? d.reasoning)
        c.append('refusal', d.refusal)
        if (Array.isArray(d.tool_calls)) {
          for (const rawTool of d.tool_calls) {
            const t = obj(rawTool)
            if (!t) continue
            const key = typeof t.index === 'number' ? t.index : (str(t.id) ?? 0)
            const draft = c.tool(key)
            draft.id ??= str(t.id)
            draft.name ??= str(t.function?.name)
            c.toolArgs(key, t.function?.arguments)
          }
        }
      }
      c.append('content', ch.text) // /v1/completions
      if (str(ch.finish_reason)) c.finish = ch.finish_reason
    }
  }

  private responses(type: string | null, e: Record<string, any>): void {
    const c = this.choices.at(0)
    c.role ??= 'assistant'
    switch (type) {
      case 'response.output_text.delta':
        return c.append('content', e.delta)
      case 'response.refusal.delta':
        return c.append('refusal', e.delta)
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
        return c.append('reasoning', e.delta)
      case 'response.output_item.added': {
        const item = obj(e.item)
        if (item?.type === 'function_call') {
          const t = c.tool(str(item.id) ?? e.output_index)
          t.id = str(item.call_id) ?? str(item.id)
          t.name = str(item.name)
        }
        return
      }
      case 'response.function_call_arguments.delta':
        return c.toolArgs(str(e.item_id) ?? e.output_index, e.delta)
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        const r = obj(e.response)
        c.finish = str(r?.incomplete_details?.reason) ?? str(r?.status) ?? type.slice('response.'.length)
        if (type === 'response.failed') this.error = r?.error ?? { message: 'The response failed.' }
        return
      }
      case 'error':
        this.error = e.error ?? e
    }
  }

  private anthropic(type: string | null, e: Record<string, any>): void {
    const c = this.choices.at(0)
    switch (type) {
      case 'message_start':
        this.messageRole = str(e.message?.role)
        c.role ??= this.messageRole
        return
      case 'content_block_start': {
        const b = obj(e.content_block)
        const index = typeof e.index === 'number' ? e.index : this.blocks.size
        if (b?.type === 'tool_use' || b?.type === 'server_tool_use') {
          const t = c.tool(index)
          t.id = str(b.id)
          t.name = str(b.name)
          this.blocks.set(index, { kind: 'tool', key: index })
        } else {
          this.blocks.set(index, { kind: b?.type === 'thinking' ? 'thinking' : 'text', key: index })
          if (b?.type === 'text') c.append('content', b.text)
          if (b?.type === 'thinking') c.append('reasoning', b.thinking)
        }
        return
      }
      case 'content_block_delta': {
        const d = obj(e.delta)
        if (d?.type === 'text_delta') c.append('content', d.text)
        else if (d?.type === 'thinking_delta') c.append('reasoning', d.thinking)
        else if (d?.type === 'input_json_delta') c.toolArgs(typeof e.index === 'number' ? e.index : 0, d.partial_json)
        return
      }
      case 'message_delta':
        if (str(e.delta?.stop_reason)) c.finish = e.delta.stop_reason
        return
      case 'error':
        this.error = e.error ?? e
    }
  }
}

/** Reads a whole (non-streamed) JSON answer of any protocol; errors keep their body. */
export function assembleBody(protocol: Protocol, endpoint: string, status: number | null, text: string, complete: boolean, budgetChars: number): Assembly {
  const budget = new Budget(budgetChars)
  let body: unknown
  try {
    if (!complete) throw new Error('cut')
    body = JSON.parse(text)
  } catch {
    // Plain text (an error page), or JSON cut short by the buffer's bound.
    return { choices: null, error: status !== null && status >= 400 ? budget.take(text) : null, text: status !== null && status >= 400 ? null : budget.take(text), cut: !complete || budget.cut }
  }
  if (status !== null && status >= 400) return { choices: null, error: body, text: null, cut: false }
  const b = obj(body)
  if (!b || endpoint === '/v1/embeddings') return { choices: null, error: null, text: null, cut: false }
  const choices = new Choices(budget)
  if (protocol === 'responses') {
    const c = choices.at(0)
    c.role = 'assistant'
    for (const raw of Array.isArray(b.output) ? b.output : []) {
      const item = obj(raw)
      if (!item) continue
      if (item.type === 'message') {
        for (const part of Array.isArray(item.content) ? item.content : []) {
          if (part?.type === 'output_text') c.append('content', part.text)
          else if (part?.type === 'refusal') c.append('refusal', part.refusal)
        }
      } else if (item.type === 'reasoning') {
        for (const part of [...(Array.isArray(item.content) ? item.content : []), ...(Array.isArray(item.summary) ? item.summary : [])]) c.append('reasoning', part?.text)
      } else if (item.type === 'function_call') {
        const t = c.tool(str(item.id) ?? item.call_id)
        t.id = str(item.call_id) ?? str(item.id)
        t.name = str(item.name)
        c.toolArgs(str(item.id) ?? item.call_id, item.arguments)
      }
    }
    c.finish = str(b.incomplete_details?.reason) ?? str(b.status)
    return { choices: choices.done(), error: b.status === 'failed' ? (b.error ?? null) : null, text: null, cut: budget.cut }
  }
  if (protocol === 'anthropic') {
    const c = choices.at(0)
    c.role = str(b.role)
    ;(Array.isArray(b.content) ? b.content : []).forEach((raw: unknown, i: number) => {
      const block = obj(raw)
      if (block?.type === 'text') c.append('content', block.text)
      else if (block?.type === 'thinking') c.append('reasoning', block.thinking)
      else if (block?.type === 'tool_use' || block?.type === 'server_tool_use') {
        const t = c.tool(i)
        t.id = str(block.id)
        t.name = str(block.name)
        c.toolArgs(i, JSON.stringify(block.input ?? {}))
      }
    })
    c.finish = str(b.stop_reason)
    return { choices: choices.done(), error: null, text: null, cut: budget.cut }
  }
  for (const raw of Array.isArray(b.choices) ? b.choices : []) {
    const ch = obj(raw)
    if (!ch) continue
    const c = choices.at(ch.index)
    const m = obj(ch.message)
    if (m) {
      c.role = str(m.role)
      if (typeof m.content === 'string') c.append('content', m.content)
      else if (Array.isArray(m.content)) for (const part of m.content) c.append('content', part?.text)
      c.append('reasoning', m.reasoning_content ?? m.reasoning)
      c.append('refusal', m.refusal)
      ;(Array.isArray(m.tool_calls) ? m.tool_calls : []).forEach((t: any, i: number) => {
        const draft = c.tool(i)
        draft.id = str(t?.id)
        draft.name = str(t?.function?.name)
        c.toolArgs(i, t?.function?.arguments)
      })
    }
    c.append('content', ch.text)
    c.finish = str(ch.finish_reason)
  }
  return { choices: choices.done(), error: null, text: null, cut: budget.cut }
}
