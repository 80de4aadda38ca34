import { REDACTION_TYPES, type CapturedChoice, type CapturedContent, type CapturedToolCall } from '@llm-proxy/core/contracts'
import type { ReactNode } from 'react'

// Placeholders the proxy writes in place of redacted data and base64 images.
const MARK = new RegExp(`(\\[(?:${REDACTION_TYPES.join('|')})\\]|\\[image: \\d+ KB\\])`, 'g')

/** Text with every placeholder visibly marked, so nobody mistakes `[EMAIL]` for what was typed. */
export function Marked({ text }: { text: string }) {
  const parts = text.split(MARK)
  return (
    <>
      {parts.map((p, i) =>
        i % 2 === 1 ? (
          <span key={i} className={p.startsWith('[image') ? 'placeholder image' : 'placeholder redacted'} title={p.startsWith('[image') ? 'An image, left out' : `Redacted: ${p.slice(1, -1)}`}>
            {p}
          </span>
        ) : (
          p
        ),
      )}
    </>
  )
}

function CutMarker() {
  return (
    <span className="cut-marker" data-testid="cut-marker">
      … cut here (longer than CAPTURE_MAX_BYTES)
    </span>
  )
}

/** Arguments as pretty JSON when they parse, as sent otherwise (a cut stream's may not). */
const pretty = (v: unknown): string => {
  if (typeof v !== 'string') return JSON.stringify(v, null, 2)
  try {
    return JSON.stringify(JSON.parse(v), null, 2)
  } catch {
    return v
  }
}

function ToolCall({ call }: { call: CapturedToolCall }) {
  return (
    <div className="tool-call" data-testid="tool-call">
      <div className="tool-call-head">
        <code>{call.name ?? '(unnamed tool)'}</code>
        {call.id && <span className="muted"> {call.id}</span>}
      </div>
      <pre>
        <Marked text={pretty(call.arguments)} />
      </pre>
    </div>
  )
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The readable text of a message's content: a string, or parts (text, images, tool results...). */
function contentParts(content: unknown): ReactNode[] {
  if (typeof content === 'string') return [<Marked key={0} text={content} />]
  if (!Array.isArray(content)) return content == null ? [] : [<pre key={0}>{pretty(content)}</pre>]
  return content.map((part, i) => {
    if (typeof part === 'string') return <Marked key={i} text={part} />
    if (!isObj(part)) return null
    const text = part.text ?? part.thinking ?? part.refusal
    if (typeof text === 'string') return <p key={i}><Marked text={text} /></p>
    const url = isObj(part.image_url) ? part.image_url.url : part.image_url
    if (typeof url === 'string') return <p key={i}><Marked text={url} /></p>
    if (isObj(part.source) && typeof part.source.data === 'string') return <p key={i}><Marked text={part.source.data} /></p>
    if (part.type === 'tool_use') return <ToolCall key={i} call={{ id: (part.id as string) ?? null, name: (part.name as string) ?? null, arguments: JSON.stringify(part.input ?? {}) }} />
    if (part.type === 'tool_result') return <div key={i} className="tool-result">{contentParts(part.content)}</div>
    return <pre key={i}>{pretty(part)}</pre>
  })
}

function Bubble({ role, children }: { role: string; children: ReactNode }) {
  return (
    <div className={`bubble role-${role}`} data-testid="message">
      <div className="bubble-role">{role}</div>
      {children}
    </div>
  )
}

/** Messages of any protocol's request: chat/Anthropic `messages` (+ `system`), Responses `input`, completions `prompt`. */
function requestMessages(body: Obj): { role: string; node: ReactNode }[] {
  const out: { role: string; node: ReactNode }[] = []
  if (body.system !== undefined) out.push({ role: 'system', node: contentParts(body.system) })
  if (typeof body.instructions === 'string') out.push({ role: 'system', node: <Marked text={body.instructions} /> })
  const list = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : null
  if (list) {
    for (const m of list) {
      if (!isObj(m)) continue
      const role = typeof m.role === 'string' ? m.role : typeof m.type === 'string' ? m.type : 'user'
      const calls = Array.isArray(m.tool_calls) ? m.tool_calls : []
      out.push({
        role,
        node: (
          <>
            {contentParts(m.content ?? m.output ?? (typeof m.arguments === 'string' ? undefined : null))}
            {m.type === 'function_call' && <ToolCall call={{ id: (m.call_id as string) ?? null, name: (m.name as string) ?? null, arguments: String(m.arguments ?? '') }} />}
            {calls.map((c, i) => (isObj(c) ? <ToolCall key={i} call={{ id: (c.id as string) ?? null, name: ((c.function as Obj)?.name as string) ?? null, arguments: String((c.function as Obj)?.arguments ?? '') }} /> : null))}
          </>
        ),
      })
    }
  } else {
    const single = body.input ?? body.prompt
    if (single !== undefined) out.push({ role: 'user', node: Array.isArray(single) ? single.map((s, i) => <p key={i}><Marked text={String(s)} /></p>) : <Marked text={String(single)} /> })
  }
  return out
}

const SHOWN = new Set(['messages', 'input', 'prompt', 'system', 'instructions', 'tools'])

function Answer({ choice, many }: { choice: CapturedChoice; many: boolean }) {
  return (
    <Bubble role={choice.role ?? 'assistant'}>
      {many && <div className="muted">choice {choice.index}</div>}
      {choice.reasoning && (
        <details className="reasoning" data-testid="reasoning">
          <summary>Reasoning</summary>
          <p><Marked text={choice.reasoning} /></p>
        </details>
      )}
      {choice.content && <p className="content"><Marked text={choice.content} /></p>}
      {choice.refusal && <p className="refusal"><Marked text={choice.refusal} /></p>}
      {choice.tool_calls.map((c, i) => <ToolCall key={i} call={c} />)}
      {choice.finish_reason && <div className="muted finish">finish: {choice.finish_reason}</div>}
    </Bubble>
  )
}

/** Captured content of one request, rendered as a conversation (props only; no fetching). */
export function Conversation({ content }: { content: CapturedContent }) {
  const { request, response } = content
  const body = request.body
  const messages = isObj(body) ? requestMessages(body) : []
  const params = isObj(body) ? Object.entries(body).filter(([k]) => !SHOWN.has(k)) : []
  const tools = isObj(body) && Array.isArray(body.tools) ? body.tools : []
  return (
    <section className="conversation" data-testid="conversation">
      <div className="muted conversation-head">
        {content.endpoint}
        {content.redaction === 'pii' ? ' · personal data and secrets redacted' : ' · not redacted'}
      </div>
      <h3>Request</h3>
      {typeof body === 'string' ? (
        <pre><Marked text={body} /></pre>
      ) : (
        messages.map((m, i) => (
          <Bubble key={i} role={m.role}>
            {m.node}
          </Bubble>
        ))
      )}
      {tools.length > 0 && (
        <details className="tools">
          <summary>Tools ({tools.length})</summary>
          <pre>{pretty(tools)}</pre>
        </details>
      )}
      {params.length > 0 && (
        <dl className="params">
          {params.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === 'string' ? <Marked text={v} /> : JSON.stringify(v)}</dd>
            </div>
          ))}
        </dl>
      )}
      {request.cut && <CutMarker />}
      <h3>Response{response.status !== null ? ` (${response.status})` : ''}</h3>
      {response.choices?.map((c) => <Answer key={c.index} choice={c} many={response.choices!.length > 1} />)}
      {response.error != null && (
        <div className="capture-error" role="note" data-testid="capture-error">
          <pre><Marked text={pretty(response.error)} /></pre>
        </div>
      )}
      {response.text !== null && <pre><Marked text={response.text} /></pre>}
      {response.choices === null && response.error == null && response.text === null && <p className="muted">No answer kept (embeddings keep their input only).</p>}
      {response.cut && <CutMarker />}
    </section>
  )
}
