import type { RequestRow } from '@llm-proxy/core'
import type { CapturedRequest, CapturedResponse } from '@llm-proxy/core/contracts'
import type { CaptureRecord } from '@llm-proxy/storage'
import { assembleBody, type Assembly } from './assemble.js'
import { cutStrings, cutUtf8, cutValue } from './cut.js'
import { replaceImages } from './images.js'
import { redactText, redactValue } from './redact.js'
import { REDACTION_MARGIN, type CaptureTap } from './tap.js'

/**
 * Turns a finished request's tap into what is stored: images replaced, text bounded, PII redacted
 * (before the final cut, so a secret at the edge is still seen whole), each side cut to
 * CAPTURE_MAX_BYTES. Null when the policy does not keep this request (`errors` and it succeeded).
 */
export function buildCapture(tap: CaptureTap, row: RequestRow, redact: 'pii' | 'off'): CaptureRecord | null {
  if (tap.mode === 'errors' && row.outcome === 'success') return null
  const pre = tap.maxBytes + REDACTION_MARGIN
  const scrub = redact === 'pii' ? redactValue : (v: unknown) => v

  let body: unknown = null
  if (tap.request !== null && tap.request.length > 0) {
    try {
      body = JSON.parse(tap.request.toString('utf8'))
    } catch {
      body = cutUtf8(tap.request.toString('utf8', 0, Math.min(tap.request.length, pre)), pre)
    }
    body = scrub(cutStrings(replaceImages(body), { left: pre, cut: false }))
  }
  const req = cutValue(body, tap.maxBytes)
  const request: CapturedRequest = { body: req.value, cut: req.cut }

  const a = assemble(tap, row, pre)
  const scrubbed = {
    choices: a.choices?.map((c) => ({
      ...c,
      content: c.content === null ? null : redact === 'pii' ? redactText(c.content) : c.content,
      reasoning: c.reasoning === null ? null : redact === 'pii' ? redactText(c.reasoning) : c.reasoning,
      refusal: c.refusal === null ? null : redact === 'pii' ? redactText(c.refusal) : c.refusal,
      tool_calls: c.tool_calls.map((t) => ({ ...t, arguments: redact === 'pii' ? redactText(t.arguments) : t.arguments })),
    })) ?? null,
    error: scrub(a.error ?? null),
    text: a.text === null ? null : (scrub(a.text) as string),
  }
  const res = cutValue(scrubbed, tap.maxBytes)
  const kept = typeof res.value === 'string' ? { choices: null, error: null, text: res.value } : (res.value as typeof scrubbed)
  const response: CapturedResponse = { status: row.status_code, stream: tap.eventStream, ...kept, cut: a.cut || tap.truncated || res.cut }

  return {
    request_id: row.id,
    ts: row.ts,
    endpoint: row.endpoint,
    key_id: row.key_id,
    redaction: redact,
    request: JSON.stringify(request),
    response: JSON.stringify(response),
  }
}

function assemble(tap: CaptureTap, row: RequestRow, budget: number): Assembly {
  // What the proxy itself told the client (a refused key, a bad body, a backend it could not reach).
  const own = row.outcome !== 'success' && row.error_type !== null ? { type: row.error_type, message: row.error_message } : null
  if (tap.status === null || tap.unreadable) return { choices: null, error: own, text: null, cut: false }
  if (tap.eventStream) {
    const a = tap.stream()!.end()
    return { ...a, error: a.error ?? own }
  }
  const a = assembleBody(tap.protocol, row.endpoint, tap.status, tap.body().toString('utf8'), !tap.truncated, budget)
  return { ...a, error: a.error ?? own }
}
