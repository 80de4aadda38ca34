/** Cuts a string to at most `bytes` of UTF-8, never inside a character. */
export function cutUtf8(s: string, bytes: number): string {
  if (s.length * 3 <= bytes) return s
  const b = Buffer.from(s, 'utf8')
  if (b.length <= bytes) return s
  let end = bytes
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--
  return b.toString('utf8', 0, end)
}

const SHORT = 64

/** Walks the strings of a value in order, each taking its bytes from one budget; past it they are cut. */
export function cutStrings(v: unknown, budget: { left: number; cut: boolean }): unknown {
  if (typeof v === 'string') {
    const size = Buffer.byteLength(v)
    // Labels (a role, a finish reason, a tool name) are never cut, only the text around them.
    if (size <= budget.left || size <= SHORT) {
      budget.left = Math.max(0, budget.left - size)
      return v
    }
    budget.cut = true
    const kept = cutUtf8(v, Math.max(0, budget.left))
    budget.left = 0
    return kept
  }
  if (Array.isArray(v)) return v.map((x) => cutStrings(x, budget))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = cutStrings(x, budget)
    return out
  }
  return v
}

/**
 * Bounds a value to `maxBytes` of JSON: text is cut first (the structure stays readable); a value
 * whose structure alone is too big becomes its JSON text, cut. `cut` says whether anything was left out.
 */
export function cutValue(v: unknown, maxBytes: number): { value: unknown; cut: boolean } {
  let budget = maxBytes
  for (let attempt = 0; attempt < 3; attempt++) {
    const b = { left: budget, cut: false }
    const value = cutStrings(v, b)
    const size = Buffer.byteLength(JSON.stringify(value) ?? '')
    if (size <= maxBytes) return { value, cut: b.cut }
    // The structure (keys, quotes, escapes) took the rest: leave it that much less text.
    budget -= size - maxBytes
    if (budget <= 0) break
  }
  return { value: cutUtf8(JSON.stringify(v) ?? '', maxBytes), cut: true }
}
