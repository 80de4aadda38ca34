import { EventEmitter } from 'node:events'
import { brotliCompressSync, constants as zlibConstants, createBrotliCompress, createDeflate, createGzip, deflateSync, gzipSync } from 'node:zlib'
import { anthropicError, messagesAnswer, messagesEvents, responsesAnswer, responsesEvents, type ProtocolPlan } from './protocols.js'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface MockBackendOptions {
  host?: string
  port?: number
  /** Delay from the request to the first content token. */
  ttftMs?: number
  /** Pace of content tokens after the first; 0 = no delay at all (fast mode). */
  tokensPerSecond?: number
  /** Completion tokens per answer. */
  answerTokens?: number
  models?: string[]
  /**
   * Slow-down mode, like a batching GPU server: up to this many generation requests at once, each
   * runs at full speed; past it, a request that starts while `n` are running (itself included) gets
   * its TTFT multiplied and its token rate divided by `n / capacity`. 0 or unset: no slow-down.
   */
  capacity?: number
}

export interface ReceivedRequest {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

export interface MockBackend {
  url: string
  port: number
  /** The model ids it answers for. */
  models: string[]
  /** Every request received, in order. */
  requests: ReceivedRequest[]
  /** 'request' on arrival; 'aborted' when the client left before the response ended; 'finished'. */
  events: EventEmitter
  close(): Promise<void>
}

/**
 * The models the simulated backend answers for. `llama3.2:1b` is there because it is the model the
 * docs use (and the one docker compose pulls into Ollama), so every example works as written
 * against the simulated backend too.
 */
export const DEFAULT_MODELS = ['llama3.2:1b', 'mock-llama-3.2-1b', 'mock-qwen2.5-7b']

const WORDS = ['The', ' proxy', ' measures', ' every', ' token', ' it', ' sees', ',', ' and', ' the', ' dashboard', ' shows', ' how', ' fast', ' it', ' came', '.']
const word = (i: number) => WORDS[i % WORDS.length]
/** The `refusal` scenario's answer (chat), streamed in these pieces. */
const REFUSAL = ["I'm sorry,", ' I cannot', ' help with that.']

interface Plan {
  ttftMs: number
  intervalMs: number
  tokens: number
  scenario: string
  cachedTokens: number
  cacheWriteTokens: number
  /** `x-mock-content-encoding`: gzip, deflate or br, whatever the client accepts (as some servers do). */
  encoding: string | null
}

const ENCODINGS = ['gzip', 'deflate', 'br']

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function numberHeader(req: IncomingMessage, name: string, fallback: number): number {
  const v = Number(header(req, name))
  return Number.isFinite(v) && header(req, name) !== undefined ? v : fallback
}

function sendJson(res: ServerResponse, status: number, body: unknown, encoding: string | null = null) {
  const text = JSON.stringify(body)
  if (encoding !== null) {
    const bytes = encoding === 'gzip' ? gzipSync(text) : encoding === 'br' ? brotliCompressSync(text) : deflateSync(text)
    res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': bytes.length })
    return res.end(bytes)
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function errorBody(status: number) {
  const kinds: Record<number, [string, string | null]> = {
    400: ['invalid_request_error', null],
    401: ['invalid_request_error', 'invalid_api_key'],
    404: ['invalid_request_error', 'model_not_found'],
    429: ['rate_limit_error', 'rate_limit_exceeded'],
    500: ['server_error', 'internal_error'],
    503: ['server_error', 'overloaded'],
  }
  const [type, code] = kinds[status] ?? ['server_error', null]
  return { error: { message: `mock ${status} error`, type, param: null, code } }
}

/** `n` answers per request (1 to 8), as OpenAI's `n`. */
const choiceCount = (body: any) => (Number.isInteger(body?.n) ? Math.min(8, Math.max(1, body.n)) : 1)

/** A deterministic prompt size: words plus 4 per message. */
export function countPromptTokens(body: any): number {
  const text = (v: unknown): string =>
    typeof v === 'string' ? v : Array.isArray(v) ? v.map(text).join(' ') : v && typeof v === 'object' ? text((v as any).text ?? (v as any).content ?? '') : ''
  if (Array.isArray(body?.messages)) {
    return body.messages.reduce((n: number, m: any) => n + 4 + words(text(m?.content)), 0)
  }
  return words(text(body?.prompt ?? body?.input ?? ''))
}
const words = (s: string) => (s.trim() ? s.trim().split(/\s+/).length : 0)

/** Starts an OpenAI-compatible server with realistic token timing and errors on demand. */
export async function startMockBackend(options: MockBackendOptions = {}): Promise<MockBackend> {
  const models = options.models ?? DEFAULT_MODELS
  const events = new EventEmitter()
  const requests: ReceivedRequest[] = []
  const sockets = new Set<Socket>()
  /** Generation requests being answered (the load the slow-down mode reacts to). */
  let active = 0

  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8')
      let body: unknown = raw.length ? raw : undefined
      let parseError = false
      if (raw.length) {
        try {
          body = JSON.parse(raw)
        } catch {
          parseError = true
        }
      }
      const received: ReceivedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }
      requests.push(received)
      events.emit('request', received)
      res.once('close', () => events.emit(res.writableFinished ? 'finished' : 'aborted', received))
      if (parseError) return sendJson(res, 400, { error: { message: 'mock: malformed JSON body', type: 'invalid_request_error', param: null, code: null } })
      route(req, res, body as any)
    })
  })

  function route(req: IncomingMessage, res: ServerResponse, body: any) {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'mock' })) })
    }
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length))
      if (!models.includes(id)) return sendJson(res, 404, { error: { message: `The model '${id}' does not exist`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } })
      return sendJson(res, 200, { id, object: 'model', created: 1700000000, owned_by: 'mock' })
    }
    if (req.method !== 'POST' || !['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/messages'].includes(path)) {
      return sendJson(res, 404, { error: { message: `mock: unknown URL ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: null } })
    }
    if (!body || typeof body !== 'object') return sendJson(res, 400, errorBody(400))

    const scenario = header(req, 'x-mock-scenario') ?? ''
    const anthropic = path === '/v1/messages'
    const err = /^error-(\d{3})(-text)?$/.exec(scenario)
    if (err) {
      const status = Number(err[1])
      if (err[2]) {
        res.writeHead(status, { 'content-type': 'text/plain' })
        return res.end(`mock ${status} upstream failure (plain text)`)
      }
      return sendJson(res, status, anthropic ? anthropicError(status) : errorBody(status))
    }
    if (scenario === 'hang') return // never answers; the client's close ends it

    const model = typeof body.model === 'string' && body.model ? body.model : models[0]
    if (!models.includes(model)) {
      if (anthropic) return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `model: ${model}` }, request_id: 'req_mock' })
      return sendJson(res, 404, { error: { message: `The model '${model}' does not exist; this simulated backend serves ${models.join(', ')}`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } })
    }
    const encoding = header(req, 'x-mock-content-encoding') ?? null
    if (encoding !== null && !ENCODINGS.includes(encoding)) return sendJson(res, 400, errorBody(400))
    const tps = numberHeader(req, 'x-mock-tokens-per-second', options.tokensPerSecond ?? 0)
    let tokens = numberHeader(req, 'x-mock-answer-tokens', options.answerTokens ?? 16)
    const maxTokens = Number(body.max_completion_tokens ?? body.max_output_tokens ?? body.max_tokens)
    const truncated = Number.isFinite(maxTokens) && maxTokens > 0 && maxTokens < tokens
    if (truncated) tokens = maxTokens
    // A request's pace is set when it starts, from the load it finds there.
    let slowdown = 1
    if (path !== '/v1/embeddings') {
      active++
      res.once('close', () => active--)
      if (options.capacity && active > options.capacity) slowdown = active / options.capacity
    }
    const plan: Plan = {
      ttftMs: numberHeader(req, 'x-mock-ttft-ms', options.ttftMs ?? 0) * slowdown,
      intervalMs: tps > 0 ? (1000 / tps) * slowdown : 0,
      tokens: Math.max(1, Math.floor(tokens)),
      scenario,
      cachedTokens: numberHeader(req, 'x-mock-cached-tokens', 0),
      cacheWriteTokens: numberHeader(req, 'x-mock-cache-write-tokens', 0),
      encoding,
    }
    if (path === '/v1/embeddings') return embeddings(res, body, model)
    if (path === '/v1/responses' || anthropic) {
      const p: ProtocolPlan = { ...plan, model, truncated, words: Array.from({ length: plan.tokens }, (_, i) => word(i)) }
      const prompt = countPromptTokens(body)
      if (body.stream === true) {
        const { head, content, closing, failure } = anthropic ? messagesEvents(p, prompt) : responsesEvents(p, prompt)
        return play(req, res, plan, head, content, closing, failure)
      }
      const delay = plan.ttftMs + plan.intervalMs * (plan.tokens - 1)
      const send = () => {
        if (res.destroyed) return
        const answer = anthropic ? messagesAnswer(p, prompt) : responsesAnswer(p, prompt)
        sendJson(res, answer.status, answer.body, plan.encoding)
      }
      if (delay <= 0) return send()
      const timer = setTimeout(send, delay)
      return void res.once('close', () => clearTimeout(timer))
    }
    const kind = path === '/v1/chat/completions' ? 'chat' : 'text'
    const finish = scenario === 'tool-call' ? 'tool_calls' : truncated ? 'length' : 'stop'
    if (body.stream === true) return stream(req, res, body, model, kind, plan, finish)
    return complete(res, body, model, kind, plan, finish)
  }

  function usageOf(body: any, plan: Plan, reasoning: number) {
    const prompt = countPromptTokens(body)
    return {
      prompt_tokens: prompt,
      completion_tokens: plan.tokens + reasoning,
      total_tokens: prompt + plan.tokens + reasoning,
      prompt_tokens_details: { cached_tokens: plan.cachedTokens },
      ...(reasoning ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
    }
  }

  function complete(res: ServerResponse, body: any, model: string, kind: 'chat' | 'text', plan: Plan, finish: string) {
    const delay = plan.ttftMs + plan.intervalMs * (plan.tokens - 1)
    const reasoning = plan.scenario === 'reasoning' ? 4 : 0
    const send = () => {
      if (res.destroyed) return
      const text = Array.from({ length: plan.tokens }, (_, i) => word(i)).join('')
      const id = `mock-${Date.now().toString(36)}`
      const created = Math.floor(Date.now() / 1000)
      const usage = plan.scenario === 'no-usage' ? undefined : usageOf(body, plan, reasoning)
      const n = choiceCount(body)
      const textOf = (c: number) => Array.from({ length: plan.tokens }, (_, i) => word(i + c)).join('')
      if (kind === 'text') {
        return sendJson(res, 200, { id, object: 'text_completion', created, model, choices: Array.from({ length: n }, (_, c) => ({ index: c, text: textOf(c), logprobs: null, finish_reason: finish })), usage }, plan.encoding)
      }
      const message = (c: number): Record<string, unknown> =>
        plan.scenario === 'tool-call'
          ? { role: 'assistant', content: null, tool_calls: [{ id: `call_mock_${c + 1}`, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } }] }
          : plan.scenario === 'refusal'
            ? { role: 'assistant', content: null, refusal: REFUSAL.join('') }
            : { role: 'assistant', content: c === 0 ? text : textOf(c), ...(reasoning ? { reasoning_content: 'Let me think.' } : {}) }
      sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: Array.from({ length: n }, (_, c) => ({ index: c, message: message(c), logprobs: null, finish_reason: finish })), usage }, plan.encoding)
    }
    if (delay <= 0) return send()
    const timer = setTimeout(send, delay)
    res.once('close', () => clearTimeout(timer))
  }

  function embeddings(res: ServerResponse, body: any, model: string) {
    const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input]
    const data = inputs.map((input, index) => {
      const seed = String(input).length + index
      return { object: 'embedding', index, embedding: Array.from({ length: 8 }, (_, i) => Math.round(Math.sin(seed + i) * 1e6) / 1e6) }
    })
    const prompt = inputs.reduce<number>((n, i) => n + words(String(i)), 0)
    sendJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: prompt, total_tokens: prompt } })
  }

  function stream(req: IncomingMessage, res: ServerResponse, body: any, model: string, kind: 'chat' | 'text', plan: Plan, finish: string) {
    const includeUsage = body.stream_options?.include_usage === true && plan.scenario !== 'no-usage'
    const id = `mock-${Date.now().toString(36)}`
    const created = Math.floor(Date.now() / 1000)
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
    // vLLM adds "usage":null to every chunk when usage was asked for.
    const tail = includeUsage ? ',"usage":null}' : '}'
    const head = `data: {"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`
    const chunk = (choice: string) => `${head}${choice}]${tail}\n\n`
    const reasoning = plan.scenario === 'reasoning' ? 4 : 0

    // `n` answers are interleaved, one event per choice in turn, as servers stream them.
    const choices = choiceCount(body)
    const events: string[] = []
    if (kind === 'chat') for (let c = 0; c < choices; c++) events.push(chunk(`{"index":${c},"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`))
    const perChoice: string[][] = []
    for (let c = 0; c < choices; c++) {
      const own: string[] = []
      for (let i = 0; i < reasoning; i++) own.push(chunk(`{"index":${c},"delta":{"reasoning_content":${JSON.stringify(word(i))}},"logprobs":null,"finish_reason":null}`))
      if (plan.scenario === 'refusal') {
        for (const piece of REFUSAL) own.push(chunk(`{"index":${c},"delta":{"refusal":${JSON.stringify(piece)}},"logprobs":null,"finish_reason":null}`))
      } else if (plan.scenario === 'tool-call') {
        const pieces = ['{"city":', '"Paris",', '"unit":', '"celsius"}']
        own.push(chunk(`{"index":${c},"delta":{"tool_calls":[{"index":0,"id":"call_mock_${c + 1}","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}`))
        for (const p of pieces) own.push(chunk(`{"index":${c},"delta":{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(p)}}}]},"logprobs":null,"finish_reason":null}`))
      } else {
        for (let i = 0; i < plan.tokens; i++) {
          const w = JSON.stringify(word(i + c))
          own.push(kind === 'chat' ? chunk(`{"index":${c},"delta":{"content":${w}},"logprobs":null,"finish_reason":null}`) : chunk(`{"index":${c},"text":${w},"logprobs":null,"finish_reason":null}`))
        }
      }
      perChoice.push(own)
    }
    const contentEvents: string[] = []
    for (let i = 0; perChoice.some((own) => i < own.length); i++) for (const own of perChoice) if (i < own.length) contentEvents.push(own[i])
    const closing: string[] = Array.from({ length: choices }, (_, c) =>
      kind === 'chat' ? chunk(`{"index":${c},"delta":{},"logprobs":null,"finish_reason":"${finish}"}`) : chunk(`{"index":${c},"text":"","logprobs":null,"finish_reason":"${finish}"}`),
    )
    if (includeUsage) closing.push(`${head}],"usage":${JSON.stringify(usageOf(body, { ...plan, tokens: plan.tokens }, reasoning))}}\n\n`)
    if (plan.scenario !== 'no-done') closing.push('data: [DONE]\n\n')

    const failure = 'data: {"error":{"message":"mock mid-stream failure","type":"server_error","code":"internal_error"}}\n\n'
    play(req, res, plan, events, contentEvents, closing, failure)
  }

  /**
   * Plays a stream: `head` at once, then `content` paced by the plan (the first after ttftMs), then
   * `closing`. Scenarios: stream-error (`failure` after 3 content events), stream-reset (the
   * connection is cut there), hang-after-first-token. With an encoding, the stream is compressed
   * and flushed after every event, as a compressing server does.
   */
  function play(req: IncomingMessage, res: ServerResponse, plan: Plan, head: string[], content: string[], closing: string[], failure: string) {
    const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }
    let zip: ReturnType<typeof createGzip> | null = null
    if (plan.encoding !== null) {
      headers['content-encoding'] = plan.encoding
      zip = plan.encoding === 'gzip' ? createGzip() : plan.encoding === 'br' ? createBrotliCompress() : createDeflate()
      zip.pipe(res)
    }
    res.writeHead(200, headers)
    res.flushHeaders()
    const write = (text: string, cb?: () => void): boolean => {
      if (zip === null) return cb ? res.write(text, cb) : res.write(text)
      zip.write(text)
      zip.flush(plan.encoding === 'br' ? zlibConstants.BROTLI_OPERATION_FLUSH : zlibConstants.Z_SYNC_FLUSH, cb)
      return true
    }
    const end = () => (zip === null ? res.end() : zip.end())
    for (const e of head) write(e)

    const start = Date.now()
    let next = 0
    let timer: NodeJS.Timeout | null = null
    let stopped = false
    res.once('close', () => {
      stopped = true
      if (timer) clearTimeout(timer)
    })

    const failAfter = plan.scenario === 'stream-error' || plan.scenario === 'stream-reset' ? 3 : Infinity
    const hangAfter = plan.scenario === 'hang-after-first-token' ? 1 : Infinity

    const step = (): void => {
      timer = null
      while (!stopped) {
        if (next === failAfter) {
          // Let what was written reach the client first, then cut the connection without a proper end.
          if (plan.scenario === 'stream-reset') return void write('', () => req.socket.destroy())
          write(failure)
          return void end()
        }
        if (next === hangAfter) return
        if (next >= content.length) {
          for (const e of closing) write(e)
          return void end()
        }
        const ok = write(content[next++])
        const due = start + plan.ttftMs + plan.intervalMs * next
        const wait = next < content.length ? due - Date.now() : 0
        if (!ok) return void res.once('drain', () => schedule(Math.max(0, due - Date.now())))
        if (wait > 0) return schedule(wait)
      }
    }
    const schedule = (ms: number): void => {
      if (stopped) return
      if (ms <= 0) return step()
      timer = setTimeout(step, ms)
    }
    schedule(plan.ttftMs)
  }

  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    models,
    requests,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
