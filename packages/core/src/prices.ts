import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { z } from 'zod'

// Loaded only when a prices file is read: the YAML parser is ~1.3 MB of heap that every process
// would otherwise carry for its whole life (the proxy's, the metrics API's), for a file most never set.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text)

/**
 * Prices in US dollars per million tokens, for one model or glob, from `PRICES_FILE`.
 * `cached_input` (cache reads) and `cache_write` default to `input`; `reasoning` defaults to
 * `output` (reasoning tokens are part of the output tokens, as OpenAI counts them).
 */
export const ModelPrices = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cached_input: z.number().nonnegative().optional(),
  cache_write: z.number().nonnegative().optional(),
  reasoning: z.number().nonnegative().optional(),
})
export type ModelPrices = z.infer<typeof ModelPrices>

/** One entry of the file: a model name or glob (`*`, `?`), and its prices; null means "no price, do not estimate". */
export interface PriceRule {
  pattern: string
  prices: ModelPrices | null
  /** Exact names are tried before globs. */
  glob: boolean
  regex: RegExp
}

/** The file: a mapping from model name or glob to prices, or to null. Names match case-insensitively. */
const PricesFileSchema = z.record(z.string().min(1), ModelPrices.nullable())

const globToRegex = (glob: string) =>
  new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i')

/** Parses the text of a prices file (YAML, of which JSON is a subset). Throws with a readable message. */
export function parsePrices(text: string): PriceRule[] {
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (err) {
    throw new Error(`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`)
  }
  if (data === null || data === undefined) return []
  const result = PricesFileSchema.safeParse(data)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue.path.length ? `"${issue.path.join('.')}": ` : ''
    throw new Error(`${where}${issue.message} (expected model name or glob → { input, output, cached_input?, cache_write?, reasoning? } in USD per million tokens, or null)`)
  }
  const rules = Object.entries(result.data).map(([pattern, prices]) => {
    const glob = /[*?]/.test(pattern)
    return { pattern, prices, glob, regex: globToRegex(pattern) }
  })
  // Exact names first; globs in the order the file lists them.
  return [...rules.filter((r) => !r.glob), ...rules.filter((r) => r.glob)]
}

export function loadPricesFile(file: string): PriceRule[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parsePrices(text)
}

/** The first rule for a model: exact name, else the first glob that matches. */
export function findPriceRule(rules: readonly PriceRule[], model: string): PriceRule | null {
  for (const r of rules) if (r.regex.test(model)) return r
  return null
}

export interface PricedTokens {
  /** Every input token (cache reads and writes included). */
  prompt: number
  completion: number
  cached: number
  cacheWrite: number
  reasoning: number
}

/** Cost in US dollars of the tokens at the given prices per million tokens. */
export function costOf(p: ModelPrices, t: PricedTokens): number {
  const uncached = Math.max(0, t.prompt - t.cached - t.cacheWrite)
  const reasoning = Math.min(t.reasoning, t.completion)
  const usd =
    uncached * p.input +
    t.cached * (p.cached_input ?? p.input) +
    t.cacheWrite * (p.cache_write ?? p.input) +
    (t.completion - reasoning) * p.output +
    reasoning * (p.reasoning ?? p.output)
  return roundUsd(usd / 1_000_000)
}

/** Rounded to a billionth of a cent: float noise off, nothing a price can tell apart lost. */
export const roundUsd = (usd: number) => Math.round(usd * 1e11) / 1e11
