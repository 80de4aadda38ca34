import type { RequestRow } from '@llm-proxy/core'
import type { Protocol } from '../metering/usage.js'
import type { Assembly } from './assemble.js'
import type { CaptureTap } from './tap.js'

// Apart from build.ts: the event loop makes jobs, only the capture thread builds them, and only
// it loads the redaction libraries (libphonenumber-js: 112 modules, ~2.5 MB of heap in every proxy).

/** What the capture thread needs of one finished request: plain data, copied (never shared) across. */
export interface CaptureJob {
  maxBytes: number
  protocol: Protocol
  redact: 'pii' | 'off'
  request: Uint8Array | null
  status: number | null
  eventStream: boolean
  truncated: boolean
  unreadable: boolean
  /** A stream, already reassembled (on the event loop, in batches, as it arrived). */
  assembly: Assembly | null
  /** A non-stream response's bytes (bounded by the tap). */
  body: Uint8Array | null
  row: Pick<RequestRow, 'id' | 'ts' | 'endpoint' | 'key_id' | 'outcome' | 'status_code' | 'error_type' | 'error_message'>
}

/** The job for a finished request, or null when its policy does not keep it (`errors` and it succeeded). */
export function jobOf(tap: CaptureTap, row: RequestRow, redact: 'pii' | 'off'): CaptureJob | null {
  if (tap.mode === 'errors' && row.outcome === 'success') return null
  // Fresh copies: Node pools small buffers, and the thread must not see (or keep) anyone else's bytes.
  const copy = (b: Buffer | null) => (b === null || b.length === 0 ? null : new Uint8Array(b))
  const { id, ts, endpoint, key_id, outcome, status_code, error_type, error_message } = row
  return {
    maxBytes: tap.maxBytes, protocol: tap.protocol, redact, request: copy(tap.request), status: tap.status, eventStream: tap.eventStream,
    truncated: tap.truncated, unreadable: tap.unreadable, assembly: tap.eventStream && !tap.unreadable ? tap.stream()!.end() : null,
    body: tap.eventStream || tap.unreadable ? null : copy(tap.body()), row: { id, ts, endpoint, key_id, outcome, status_code, error_type, error_message },
  }
}
