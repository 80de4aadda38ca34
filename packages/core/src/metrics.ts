import type { Outcome } from './row.js'

/** Time per output token after the first (DESIGN.md §4); null when it is not defined. */
export function timePerOutputToken(ttftMs: number | null, ttltMs: number | null, completionTokens: number | null): number | null {
  if (ttftMs === null || ttltMs === null || completionTokens === null || completionTokens < 2) return null
  return (ttltMs - ttftMs) / (completionTokens - 1)
}

/**
 * Output tokens per second. Streaming: decode speed between first and last output event.
 * Non-streaming: end to end over the whole request. Prompt tokens never count.
 */
export function outputTokensPerSecond(
  stream: boolean,
  t: { ttftMs: number | null; ttltMs: number | null; totalMs: number },
  completionTokens: number | null,
): number | null {
  if (completionTokens === null) return null
  if (stream) {
    if (t.ttftMs === null || t.ttltMs === null || completionTokens < 2) return null
    const decodeMs = t.ttltMs - t.ttftMs
    return decodeMs > 0 ? (completionTokens - 1) / (decodeMs / 1000) : null
  }
  if (completionTokens < 1 || t.totalMs <= 0) return null
  return completionTokens / (t.totalMs / 1000)
}

/** Outcome of a request that got an HTTP status from the backend or the proxy. */
export function outcomeForStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 'success'
  if (status >= 500) return 'backend_error'
  return 'client_error'
}

/** Nearest-rank percentile over ascending-sorted values; null for an empty list. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]
}
