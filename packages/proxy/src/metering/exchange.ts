import { outcomeForStatus, outputTokensPerSecond, timePerOutputToken, type Outcome, type RequestRow } from '@llm-proxy/core'
import { performance } from 'node:perf_hooks'
import type { CaptureTap } from '../capture/tap.js'
import type { BodyMeter, BodySummary } from './body-meter.js'
import { requestId } from './request-id.js'
import type { SseMeter } from './sse-meter.js'
import { protocolOf, shorten, type Protocol, type Usage } from './usage.js'

/** Prices a request's tokens; null when no price is known. */
export type Pricer = (model: string, usage: Usage) => number | null

const MAX_LABEL = 256
const label = (v: unknown): string | null => (typeof v === 'string' && v ? v.slice(0, MAX_LABEL) : null)
const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000)

const INCOMPLETE: Record<Protocol, string> = {
  openai: 'The stream ended without a finish_reason or [DONE].',
  responses: 'The stream ended without response.completed, response.incomplete or response.failed.',
  anthropic: 'The stream ended without message_stop or a stop_reason.',
}

/** Why a request failed, when the status code alone does not say. */
interface Failure {
  outcome: Outcome
  type: string
  message: string | null
}

/**
 * The measurements of one metered request, from arrival (`t0`) to its row. Everything is relative
 * to t0 on the monotonic clock (DESIGN.md §4).
 */
export class Exchange {
  readonly ts = Date.now()
  readonly id = requestId(this.ts)
  readonly t0 = performance.now()

  modelRequested: string | null = null
  stream = false
  user: string | null = null
  requestBytes = 0
  responseBytes = 0
  statusCode: number | null = null
  clientGone = false
  /** Metered requests in flight to the backend when this one left for it, itself included (saturation view); null if it never went. */
  inflight: number | null = null
  /** The proxy key it came with (AUTH_MODE=keys). */
  keyId: string | null = null
  /** When the request left for the backend, and when the backend's last byte arrived (monotonic ms). */
  sentAt: number | null = null
  upstreamEndAt: number | null = null
  private failure: Failure | null = null
  /** Set while the proxy's copy of a compressed response is still being decoded; the row waits for it. */
  decoding: Promise<void> | null = null
  /** A copy for content capture; null (and never touched) unless the request's policy captures. */
  capture: CaptureTap | null = null
  readonly protocol: Protocol
  private sse: SseMeter | null = null
  private bodyMeter: BodyMeter | null = null
  private bodyIsError = false
  private summary: BodySummary | null = null

  constructor(
    readonly endpoint: string,
    readonly clientIp: string | null,
    readonly userAgent: string | null,
    private readonly pricer: Pricer | null = null,
  ) {
    this.protocol = protocolOf(endpoint)
  }

  readRequest(body: Record<string, unknown>, bytes: number): void {
    this.requestBytes = bytes
    this.modelRequested = label(body.model)
    this.stream = body.stream === true
    this.user = label(body.user)
  }

  measureStream(meter: SseMeter): void {
    this.sse = meter
  }

  /** The body is read when the row is made, after the client has its last byte. */
  measureBody(meter: BodyMeter, isError: boolean): void {
    this.bodyMeter = meter
    this.bodyIsError = isError
  }

  private get body(): BodySummary | null {
    if (this.summary === null && this.bodyMeter !== null) this.summary = this.bodyMeter.summarize(this.bodyIsError, this.protocol)
    return this.summary
  }

  /** Records why the request failed; the first reason wins. */
  fail(outcome: Outcome, type: string, message: string | null): void {
    this.failure ??= { outcome, type, message: message === null ? null : shorten(message) }
  }

  /** Builds the row once the response is over, at `endedAt` (finish or abort). */
  toRow(endedAt: number, clientIp: string | null = this.clientIp): RequestRow {
    const totalMs = endedAt - this.t0
    const sse = this.sse
    const body = this.body
    const ttft = sse?.firstOutputAt != null ? sse.firstOutputAt - this.t0 : null
    const ttlt = sse?.lastOutputAt != null ? sse.lastOutputAt - this.t0 : null

    const usage = sse?.usage ?? body?.usage ?? null
    let completion = usage?.completionTokens ?? null
    let estimated = false
    if (completion === null && sse !== null && sse.outputEvents > 0) {
      // No usage in the stream: one output event is about one token for the servers we know.
      completion = sse.outputEvents
      estimated = true
    }

    const { outcome, errorType, errorMessage } = this.classify()
    const status = this.statusCode ?? (this.clientGone ? 499 : null)
    const model = label(sse?.model ?? body?.model ?? null)
    const priced = model ?? this.modelRequested
    let cost: number | null = null
    // Only reported usage is priced: an estimate would make a guessed cost.
    if (this.pricer !== null && priced !== null && usage !== null && !estimated) cost = this.pricer(priced, usage)
    return {
      id: this.id,
      ts: this.ts,
      endpoint: this.endpoint,
      stream: this.stream,
      model_requested: this.modelRequested,
      model,
      status_code: status,
      outcome,
      error_type: errorType,
      error_message: errorMessage,
      finish_reason: label(sse?.finishReason ?? body?.finishReason ?? null),
      ttft_ms: round(ttft),
      ttlt_ms: round(ttlt),
      total_ms: round(totalMs)!,
      tpot_ms: round(timePerOutputToken(ttft, ttlt, completion)),
      output_tps: round(outputTokensPerSecond(sse !== null, { ttftMs: ttft, ttltMs: ttlt, totalMs }, completion)),
      prompt_tokens: usage?.promptTokens ?? null,
      completion_tokens: completion,
      // Always prompt + completion, so totals add up whatever a backend reports (or leaves out).
      total_tokens: usage?.promptTokens != null || completion !== null ? (usage?.promptTokens ?? 0) + (completion ?? 0) : null,
      cached_tokens: usage?.cachedTokens ?? null,
      reasoning_tokens: usage?.reasoningTokens ?? null,
      tokens_estimated: estimated,
      client_ip: clientIp,
      user: this.user,
      user_agent: this.userAgent,
      chunk_count: sse?.dataEvents ?? null,
      request_bytes: this.requestBytes,
      response_bytes: this.responseBytes,
      key_id: this.keyId,
      cost_usd: cost,
      // The time the proxy itself added: before the request left, and after the backend's last byte.
      overhead_ms: this.sentAt !== null && this.upstreamEndAt !== null ? round(this.sentAt - this.t0 + Math.max(0, endedAt - this.upstreamEndAt)) : null,
      inflight: this.inflight,
    }
  }

  private classify(): { outcome: Outcome; errorType: string | null; errorMessage: string | null } {
    if (this.failure) return { outcome: this.failure.outcome, errorType: this.failure.type, errorMessage: this.failure.message }
    if (this.clientGone) return { outcome: 'cancelled', errorType: 'client_closed', errorMessage: 'The client closed the connection before the response ended.' }
    const status = this.statusCode
    if (status === null) return { outcome: 'network_error', errorType: 'no_response', errorMessage: null }
    const outcome = outcomeForStatus(status)
    if (outcome !== 'success') {
      return { outcome, errorType: this.body?.errorType ?? `http_${status}`, errorMessage: this.body?.errorMessage ?? null }
    }
    if (this.body?.failed) return { outcome: 'backend_error', errorType: this.body.errorType ?? 'response_failed', errorMessage: this.body.errorMessage }
    const sse = this.sse
    if (sse !== null) {
      if (sse.sawError) return { outcome: 'backend_error', errorType: sse.errorType ?? 'stream_error', errorMessage: sse.errorMessage }
      if (!sse.done && sse.finishReason === null) {
        return { outcome: 'backend_error', errorType: 'incomplete_stream', errorMessage: INCOMPLETE[this.protocol] }
      }
    }
    return { outcome: 'success', errorType: null, errorMessage: null }
  }
}
