/** Token counts as the backend reported them in `usage` (OpenAI shape; Ollama and vLLM follow it). */
export interface Usage {
  promptTokens: number | null
  completionTokens: number | null
  totalTokens: number | null
  cachedTokens: number | null
  reasoningTokens: number | null
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
