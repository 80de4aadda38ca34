import { costOf, findPriceRule, roundUsd, type PriceRule } from '@llm-proxy/core'
import type { Provider } from '@pydantic/genai-prices'
import { createRequire } from 'node:module'
import type { Pricer } from './exchange.js'
import type { Usage } from './usage.js'

/**
 * Matching a model name against the whole table takes most of a millisecond; the match (its
 * provider narrowed to the one model) or its absence is kept per name, which brings a priced row
 * to about 0.1 ms. Bounded.
 */
const MAX_CACHED_MODELS = 1000

// The package's CommonJS build: the same table, minified. Its ES module build keeps 3.6 MB of heap
// for the life of the process (its 830 KB source, retained by V8, and the table), this one 1.9 MB.
const { calcPrice } = createRequire(import.meta.url)('@pydantic/genai-prices') as typeof import('@pydantic/genai-prices')

/**
 * Prices a row's tokens: `PRICES_FILE` first (an entry set to null means "no price"), then the
 * price table bundled with `@pydantic/genai-prices` (offline; it never fetches). Input, cache
 * reads, cache writes, output and reasoning are priced apart. No price, or no reported prompt
 * count: null, never a guess.
 */
export function createPricer(rules: readonly PriceRule[], usePackage = true): Pricer {
  const matches = new Map<string, Provider | null>()
  return (model: string, usage: Usage): number | null => {
    if (usage.promptTokens === null) return null
    const tokens = {
      prompt: usage.promptTokens,
      // Embeddings have no output tokens.
      completion: usage.completionTokens ?? 0,
      cached: usage.cachedTokens ?? 0,
      cacheWrite: usage.cacheWriteTokens ?? 0,
      reasoning: usage.reasoningTokens ?? 0,
    }
    const rule = findPriceRule(rules, model)
    if (rule !== null) return rule.prices === null ? null : costOf(rule.prices, tokens)
    if (!usePackage) return null
    const known = matches.get(model)
    if (known === null) return null
    // input_tokens is every input token; cache reads and writes are parts of it, priced apart.
    // Reasoning tokens are part of output_tokens and priced as output by every provider listed.
    const counts = { input_tokens: tokens.prompt, cache_read_tokens: tokens.cached, cache_write_tokens: tokens.cacheWrite, output_tokens: tokens.completion }
    let result: ReturnType<typeof calcPrice> = null
    try {
      result = calcPrice(counts, model, known === undefined ? undefined : { provider: known })
    } catch {
      result = null
    }
    if (known === undefined) {
      if (matches.size >= MAX_CACHED_MODELS) matches.clear()
      matches.set(model, result === null ? null : { ...result.provider, models: [result.model] })
    }
    return result === null ? null : roundUsd(result.total_price)
  }
}
