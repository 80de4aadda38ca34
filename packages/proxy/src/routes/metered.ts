import type { CaptureMode } from '@llm-proxy/core'
import type { CapturePolicy } from '@llm-proxy/core/contracts'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { performance } from 'node:perf_hooks'
import { captureModeFor } from '../capture/policy.js'
import { CaptureTap } from '../capture/tap.js'
import type { CaptureWriter } from '../capture/writer.js'
import { ProxyError, invalidJson, notAnObject } from '../errors.js'
import type { KeyGuard, Refusal } from '../keys/guard.js'
import type { InFlight } from '../in-flight.js'
import { presentedSecret } from '../keys/secrets.js'
import { Exchange, type Pricer } from '../metering/exchange.js'
import type { RowWriter } from '../recording/row-writer.js'
import { forward, queryOf, type ForwardDeps } from '../upstream/forward.js'

export interface MeteredRouteOptions {
  endpoint: string
  streamUsage: 'inject' | 'passthrough'
  forwardDeps: ForwardDeps
  rows: RowWriter
  /** Each in-flight request with a promise that settles once it has its row; awaited at shutdown. */
  inflight: InFlight<MeteredInFlight>
  /** AUTH_MODE=keys: every request needs a proxy key within its limits. */
  guard: KeyGuard | null
  pricer: Pricer | null
  /** Content capture; null when nothing can be captured (CAPTURE=off without keys): no work at all then. */
  capture: { mode: CaptureMode; maxBytes: number; writer: CaptureWriter } | null
}

/** A metered request in flight, and what settles once its row is recorded. */
export interface MeteredInFlight {
  ex: Exchange
  recorded: Promise<void>
}
type InFlightEntry = ReturnType<InFlight<MeteredInFlight>['add']>

const isRefusal = (v: object): v is Refusal => 'error' in v

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Asks the backend for usage in a stream the client did not ask it for. The flag is spliced into the
 * original bytes when the body has no `stream_options`, so a large body is not serialized again.
 */
export function withIncludeUsage(raw: Buffer, body: Record<string, unknown>): Buffer {
  if (body.stream_options === undefined) {
    const open = raw.indexOf(0x7b /* { */)
    const insert = Buffer.from(Object.keys(body).length === 0 ? '"stream_options":{"include_usage":true}' : '"stream_options":{"include_usage":true},')
    return Buffer.concat([raw.subarray(0, open + 1), insert, raw.subarray(open + 1)])
  }
  const options = isObject(body.stream_options) ? body.stream_options : {}
  return Buffer.from(JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } }))
}

/** Sets the request's capture tap for its key's policy (none when nothing can be captured). */
function tapFor(capture: MeteredRouteOptions['capture'], ex: Exchange, policy: CapturePolicy | null): void {
  if (capture === null) return
  const mode = captureModeFor(capture.mode, policy)
  ex.capture = mode === 'off' ? null : new CaptureTap(mode, capture.maxBytes, ex.protocol)
}

// The row's making, as functions of the module rather than closures made per request: V8 compiled
// the per-request closure again and again over a process's life (`--trace-opt`: five times), a
// function of the module once or twice.

/** The response is over (or the client went away): its row, once the meters have all they read. */
function onClosed(o: MeteredRouteOptions, request: FastifyRequest, reply: FastifyReply, inFlight: InFlightEntry, settle: () => void): void {
  const ex = request.exchange!
  if (!reply.raw.writableFinished) ex.clientGone = true
  if (ex.statusCode === null && reply.raw.headersSent) {
    // Answered by the proxy itself (an error): its status and body size.
    ex.statusCode = reply.raw.statusCode
    ex.responseBytes = Number(reply.getHeader('content-length') ?? 0)
  }
  const endedAt = performance.now()
  // A compressed response is still being decoded for the meters: the row waits, the client did not.
  if (ex.decoding !== null) void ex.decoding.then(() => recordRow(o, request, endedAt, inFlight, settle))
  else recordRow(o, request, endedAt, inFlight, settle)
}

function recordRow(o: MeteredRouteOptions, request: FastifyRequest, endedAt: number, inFlight: InFlightEntry, settle: () => void): void {
  const ex = request.exchange!
  const row = ex.toRow(endedAt)
  o.rows.record(row)
  if (ex.capture !== null) o.capture!.writer.enqueue(ex.capture, row)
  if (row.key_id && o.guard) o.guard.recordUsage(row.key_id, (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0), row.cost_usd ?? 0)
  request.log.info(
    { statusCode: row.status_code, outcome: row.outcome, model: row.model ?? row.model_requested, ms: Math.round(row.total_ms) },
    `POST ${o.endpoint} completed`,
  )
  o.inflight.delete(inFlight)
  settle()
}

/** What goes to the backend: the client's bytes, or a copy that asks for usage (`strip`: its chunk is removed again). */
interface Outgoing {
  body: Buffer
  strip: boolean
}

/**
 * Reads the client's body for the row, checks it, and makes what goes upstream. Apart from the
 * handler: a suspended async function keeps its locals alive, and the parsed body (a tree the size
 * of the prompt, or larger) stayed in memory for as long as the response streamed.
 */
function outgoingBody(o: MeteredRouteOptions, request: FastifyRequest, ex: Exchange, injectUsage: boolean): Outgoing {
  const raw = request.body as Buffer | undefined
  ex.requestBytes = raw?.length ?? 0
  // The client's bytes as sent (not the copy with stream_options added); parsed after the response.
  if (ex.capture !== null && raw) ex.capture.request = raw
  if (!raw || raw.length === 0) throw invalidJson('the body is empty.')
  let parsed: unknown
  try {
    parsed = JSON.parse(raw.toString('utf8'))
  } catch (err) {
    throw invalidJson((err as Error).message)
  }
  if (!isObject(parsed)) throw notAnObject()
  ex.readRequest(parsed, raw.length)
  if (request.key && !o.guard!.allowsModel(request.key, ex.modelRequested)) {
    ex.fail('client_error', 'model_not_found', `model ${ex.modelRequested ?? '(none)'} is not allowed for this key`)
    throw new ProxyError(404, 'invalid_request_error', 'model_not_found', `The model \`${ex.modelRequested ?? ''}\` does not exist or you do not have access to it.`, 'model')
  }
  if (ex.stream && injectUsage && !(isObject(parsed.stream_options) && parsed.stream_options.include_usage === true)) {
    return { body: withIncludeUsage(raw, parsed), strip: true }
  }
  return { body: raw, strip: false }
}

/** A metered endpoint: every request that reaches it yields exactly one row, whatever happens. */
export const meteredRoute: FastifyPluginAsync<MeteredRouteOptions> = async (app, o) => {
  // stream_options is a chat/completions field; the Responses API and Anthropic report usage in every stream.
  const injectUsage = (o.endpoint === '/v1/chat/completions' || o.endpoint === '/v1/completions') && o.streamUsage === 'inject'

  app.post(o.endpoint, {
    onRequest(request, reply, done) {
      const ua = request.headers['user-agent']
      const ex = new Exchange(o.endpoint, request.ip ?? null, ua ? ua.slice(0, 256) : null, o.pricer)
      request.exchange = ex
      // 'close' comes after the last byte was written, or when the client went away: the row is made
      // then, once, whatever path the request took (proxied, refused by the parser, failed).
      let settle!: () => void
      const inFlight = o.inflight.add({ ex, recorded: new Promise<void>((resolve) => (settle = resolve)) })
      reply.raw.once('close', () => onClosed(o, request, reply, inFlight, settle))
      // Before the body is read: a request without a usable key costs nothing more.
      const auth = o.guard ? o.guard.authenticate(presentedSecret(request.headers), request.raw.socket) : null
      // One tap, for the key's capture policy when there is a key (the default policy otherwise).
      tapFor(o.capture, ex, auth !== null && !('error' in auth) ? auth.key.rec.capture : null)
      if (auth !== null) {
        const admitted: Refusal | { headers: Record<string, string> } = 'error' in auth ? auth : o.guard!.admit(auth.key)
        if (isRefusal(admitted)) {
          ex.keyId = admitted.keyId
          ex.fail('client_error', admitted.rowType, admitted.error.message)
          reply.headers(admitted.headers)
          return done(admitted.error)
        }
        if (!('error' in auth)) {
          ex.keyId = auth.key.rec.id
          request.key = auth.key
          request.rateHeaders = admitted.headers
        }
      }
      done()
    },
    async handler(request, reply) {
      const ex = request.exchange!
      const { body, strip } = outgoingBody(o, request, ex, injectUsage)
      // Fastify's reference to the client's bytes would keep them for the whole response (a second
      // copy when usage was asked for); undici holds what it sends, the capture tap what it keeps.
      request.body = undefined
      const keyAuth = request.key ? { upstreamKey: request.key.upstreamKey ?? o.forwardDeps.backendApiKey } : undefined
      // The path that was routed (a percent-encoded one arrives decoded here), never the raw one.
      await forward(request, reply, o.forwardDeps, { path: o.endpoint + queryOf(request.raw.url ?? ''), body, exchange: ex, stripUsageChunk: strip, keyAuth, extraHeaders: request.rateHeaders ?? undefined })
    },
  })
}
