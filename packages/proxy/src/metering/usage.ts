/** Token counts as the backend reported them in `usage` (OpenAI shape; Ollama and vLLM follow it). */
export interface Usage {
  promptTokens: number | null
  completionTokens: number | null
  totalTokens: number | null
  cachedTokens: number | null
  reasoningTokens: number | null
  /** Anthropic's cache writes (`cache_creation_input_tokens`): part of promptTokens, priced apart. */
  cacheWriteTokens?: number | null
}

/** The wire protocol of a metered endpoint: how its events, usage and errors are shaped. */
export type Protocol = 'openai' | 'responses' | 'anthropic'

export function protocolOf(endpoint: string): Protocol {
  if (endpoint === '/v1/responses') return 'responses'
  if (endpoint === '/v1/messages') return 'anthropic'
  return 'openai'
}

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : null)

export function readUsage(raw: unknown): Usage | null {
  if (!raw || typeof raw !== 'object') return null
  const u = raw as Record<string, any>
  return {
    promptTokens: int(u.prompt_tokens),
    completionTokens: int(u.completion_tokens),
    totalTokens: int(u.total_tokens),
    cachedTokens: int(u.prompt_tokens_details?.cached_tokens),
    reasoningTokens: int(u.completion_tokens_details?.reasoning_tokens),
  }
}

/** Responses API usage: `input_tokens` includes cached ones, `output_tokens` includes reasoning. */
export function readResponsesUsage(raw: unknown): Usage | null {
  if (!raw || typeof raw !== 'object') return null
  const u = raw as Record<string, any>
  const prompt = int(u.input_tokens)
  const completion = int(u.output_tokens)
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: int(u.total_tokens) ?? (prompt !== null && completion !== null ? prompt + completion : null),
    cachedTokens: int(u.input_tokens_details?.cached_tokens),
    reasoningTokens: int(u.output_tokens_details?.reasoning_tokens),
  }
}

/** Anthropic's usage fields as last reported; message_delta overwrites the fields it carries. */
export interface AnthropicUsage {
  input_tokens: number | null
  cache_creation_input_tokens: number | null
  cache_read_input_tokens: number | null
  output_tokens: number | null
}

const ANTHROPIC_FIELDS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'output_tokens'] as const

/**
 * Merges a usage object into what is known: usage in `message_delta` is cumulative, so each field
 * present replaces the earlier value (never added to it); a field absent keeps its earlier value.
 */
export function mergeAnthropicUsage(known: AnthropicUsage | null, raw: unknown): AnthropicUsage | null {
  if (!raw || typeof raw !== 'object') return known
  const u = raw as Record<string, unknown>
  const next: AnthropicUsage = known ? { ...known } : { input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: null }
  for (const f of ANTHROPIC_FIELDS) {
    const v = int(u[f])
    if (v !== null) next[f] = v
  }
  return next
}

/**
 * Anthropic's `input_tokens` excludes cache reads and writes; the row's `prompt_tokens` is every
 * input token (as in OpenAI's usage, where cached tokens are part of the prompt), so the three add up.
 */
export function anthropicToUsage(a: AnthropicUsage | null): Usage | null {
  if (a === null) return null
  const parts = [a.input_tokens, a.cache_creation_input_tokens, a.cache_read_input_tokens]
  const prompt = parts.every((p) => p === null) ? null : parts.reduce<number>((n, p) => n + (p ?? 0), 0)
  const completion = a.output_tokens
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: prompt !== null && completion !== null ? prompt + completion : null,
    cachedTokens: a.cache_read_input_tokens,
    reasoningTokens: null,
    cacheWriteTokens: a.cache_creation_input_tokens,
  }
}

/** A short, single-line error message from an error body in any of the shapes backends use. */
export function readErrorMessage(body: unknown): { message: string | null; type: string | null } {
  if (typeof body === 'string') return { message: shorten(body), type: null }
  if (!body || typeof body !== 'object') return { message: null, type: null }
  const b = body as Record<string, any>
  const err = b.error
  if (err && typeof err === 'object') {
    return { message: shorten(String(err.message ?? JSON.stringify(err))), type: str(err.type) ?? str(err.code) }
  }
  if (typeof err === 'string') return { message: shorten(err), type: null }
  // vLLM: {"object":"error","message":...,"type":...}; FastAPI: {"detail":...}
  const message = b.message ?? b.detail
  if (message !== undefined) return { message: shorten(typeof message === 'string' ? message : JSON.stringify(message)), type: str(b.type) }
  return { message: null, type: null }
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : null)

export const MAX_ERROR_MESSAGE = 500

export function shorten(text: string): string | null {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  if (!oneLine) return null
  return oneLine.length > MAX_ERROR_MESSAGE ? oneLine.slice(0, MAX_ERROR_MESSAGE - 1) + '…' : oneLine
}
