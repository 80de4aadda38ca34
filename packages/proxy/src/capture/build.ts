import type { CapturedRequest, CapturedResponse } from '@llm-proxy/core/contracts'
import type { CaptureRecord } from '@llm-proxy/storage/sink'
import { assembleBody, type Assembly } from './assemble.js'
import { cutStrings, cutUtf8, cutValue } from './cut.js'
import { replaceImages } from './images.js'
import { redactText, redactValue } from './redact.js'
import type { CaptureJob } from './job.js'
import { REDACTION_MARGIN } from './tap.js'

/**
 * Turns a finished request into what is stored: images replaced, text bounded, PII redacted
 * (before the final cut, so a secret at the edge is still seen whole), each side cut to
 * CAPTURE_MAX_BYTES. Runs in the capture thread (build-worker.ts).
 */
export function buildCapture(job: CaptureJob): CaptureRecord {
  const row = job.row
  const redact = job.redact
  const pre = job.maxBytes + REDACTION_MARGIN
  const scrub = redact === 'pii' ? redactValue : (v: unknown) => v

  let body: unknown = null
  if (job.request !== null && job.request.length > 0) {
    const raw = Buffer.from(job.request.buffer, job.request.byteOffset, job.request.byteLength)
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      body = cutUtf8(raw.toString('utf8', 0, Math.min(raw.length, pre)), pre)
    }
    body = scrub(cutStrings(replaceImages(body), { left: pre, cut: false }))
  }
  const req = cutValue(body, job.maxBytes)
  const request: CapturedRequest = { body: req.value, cut: req.cut }

  const a = assemble(job, row, pre)
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
  const res = cutValue(scrubbed, job.maxBytes)
  const kept = typeof res.value === 'string' ? { choices: null, error: null, text: res.value } : (res.value as typeof scrubbed)
  const response: CapturedResponse = { status: row.status_code, stream: job.eventStream, ...kept, cut: a.cut || job.truncated || res.cut }

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

function assemble(job: CaptureJob, row: CaptureJob['row'], budget: number): Assembly {
  // What the proxy itself told the client (a refused key, a bad body, a backend it could not reach).
  const own = row.outcome !== 'success' && row.error_type !== null ? { type: row.error_type, message: row.error_message } : null
  if (job.status === null || job.unreadable) return { choices: null, error: own, text: null, cut: false }
  if (job.assembly !== null) return { ...job.assembly, error: job.assembly.error ?? own }
  const body = job.body === null ? '' : Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength).toString('utf8')
  const a = assembleBody(job.protocol, row.endpoint, job.status, body, !job.truncated, budget)
  return { ...a, error: a.error ?? own }
}
