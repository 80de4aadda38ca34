import { loadProxyConfig } from '@llm-proxy/core'
import { calcPrice } from '@pydantic/genai-prices'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { chatBody, startStack, streamBody, tmpDir, type Stack } from './helpers.js'

let stack: Stack | null = null
const dirs: (() => void)[] = []
afterEach(async () => {
  await stack?.close()
  stack = null
  dirs.splice(0).forEach((remove) => remove())
})

const MODELS = ['gpt-4o', 'claude-sonnet-4-20250514', 'mock-llama-3.2-1b', 'mock-qwen2.5-7b', 'my-finetune-v2']

/** The rates the bundled table has for a model, per million tokens (read from it, not copied here). */
function tableRates(model: string) {
  const p = calcPrice({ input_tokens: 1, output_tokens: 1 }, model)!.model_price as Record<string, number>
  return { input: p.input_mtok, cacheRead: p.cache_read_mtok, cacheWrite: p.cache_write_mtok, output: p.output_mtok }
}

/** Config with PRICES_FILE parsed as the proxy parses it at start. */
function pricesConfig(yaml: string) {
  const tmp = tmpDir('prices-')
  dirs.push(tmp.remove)
  const file = join(tmp.dir, 'prices.yaml')
  writeFileSync(file, yaml)
  return { prices: loadProxyConfig({ PRICES_FILE: file }).prices }
}

describe('cost_usd from the bundled price table (@pydantic/genai-prices, offline)', () => {
  test('chat: uncached input, cached input and output priced apart; stored in SQLite', async () => {
    stack = await startStack({ mock: { models: MODELS, answerTokens: 20 } })
    const r = await stack.client.chat.completions.create(chatBody({ model: 'gpt-4o' }), { headers: { 'x-mock-cached-tokens': '2' } })
    const row = await stack.rows.next()
    const rate = tableRates('gpt-4o')
    const prompt = r.usage!.prompt_tokens
    const expected = ((prompt - 2) * rate.input + 2 * rate.cacheRead + 20 * rate.output) / 1e6
    expect(row.cost_usd).toBeCloseTo(expected, 12)
    expect(row.cost_usd).toBeGreaterThan(0)
    expect((await stack.stored())[0].cost_usd).toBe(row.cost_usd)
  })

  test('anthropic messages: cache reads and cache writes at their own rates', async () => {
    stack = await startStack({ mock: { models: MODELS, answerTokens: 10 } })
    const model = 'claude-sonnet-4-20250514'
    const msg = await stack.anthropic.messages
      .stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'one two three four five six seven eight' }] }, { headers: { 'x-mock-cached-tokens': '3', 'x-mock-cache-write-tokens': '2' } })
      .finalMessage()
    const row = await stack.rows.next()
    const rate = tableRates(model)
    const expected = (msg.usage.input_tokens * rate.input + 3 * rate.cacheRead + 2 * rate.cacheWrite + 10 * rate.output) / 1e6
    expect(rate.cacheWrite).toBeGreaterThan(rate.input)
    expect(row.cost_usd).toBeCloseTo(expected, 12)
  })

  test('a model the table does not know has no cost', async () => {
    stack = await startStack({ mock: { answerTokens: 5 } })
    await stack.client.chat.completions.create(chatBody())
    expect((await stack.rows.next()).cost_usd).toBeNull()
  })

  test('no reported usage (estimated tokens) or an error without usage: no cost, never a guess', async () => {
    stack = await startStack({ mock: { models: MODELS }, config: { streamUsage: 'passthrough' } })
    const stream = await stack.client.chat.completions.create(streamBody({ model: 'gpt-4o' }))
    for await (const _ of stream);
    expect(await stack.rows.next()).toMatchObject({ tokens_estimated: true, cost_usd: null })
    await stack.client.chat.completions.create(chatBody({ model: 'gpt-4o' }), { headers: { 'x-mock-scenario': 'error-429' } }).catch(() => {})
    expect(await stack.rows.next()).toMatchObject({ status_code: 429, cost_usd: null })
  })
})

describe('PRICES_FILE', () => {
  const yaml = `
# USD per million tokens
gpt-4o: { input: 100, output: 200 }
"mock-llama-*": { input: 1, cached_input: 0.5, output: 2, reasoning: 8 }
mock-qwen*: null
my-finetune-v2:
  input: 3
  output: 6
`

  test('wins over the bundled table; globs match; cached and reasoning tokens at their own prices', async () => {
    stack = await startStack({ mock: { models: MODELS, answerTokens: 10 }, config: pricesConfig(yaml) })
    const a = await stack.client.chat.completions.create(chatBody({ model: 'gpt-4o' }))
    expect((await stack.rows.next()).cost_usd).toBeCloseTo((a.usage!.prompt_tokens * 100 + 10 * 200) / 1e6, 12)

    // reasoning scenario: 10 answer tokens + 4 reasoning tokens, 2 of the prompt cached.
    const b = await stack.client.chat.completions.create(chatBody(), { headers: { 'x-mock-scenario': 'reasoning', 'x-mock-cached-tokens': '2' } })
    const row = await stack.rows.next()
    expect(row).toMatchObject({ reasoning_tokens: 4, completion_tokens: 14, cached_tokens: 2 })
    expect(row.cost_usd).toBeCloseTo(((b.usage!.prompt_tokens - 2) * 1 + 2 * 0.5 + 10 * 2 + 4 * 8) / 1e6, 12)

    // Unset cached_input: cached tokens at the input price.
    const c = await stack.client.responses.create({ model: 'my-finetune-v2', input: 'a b c' }, { headers: { 'x-mock-cached-tokens': '1' } })
    expect((await stack.rows.next()).cost_usd).toBeCloseTo((c.usage!.input_tokens * 3 + 10 * 6) / 1e6, 12)
  })

  test('null means no price: the bundled table is not consulted', async () => {
    stack = await startStack({ mock: { models: MODELS }, config: pricesConfig(yaml) })
    await stack.client.chat.completions.create(chatBody({ model: 'mock-qwen2.5-7b' }))
    expect((await stack.rows.next()).cost_usd).toBeNull()
  })

  test('JSON works too, and a zero price is a cost of 0, not null', async () => {
    stack = await startStack({ mock: { models: MODELS }, config: pricesConfig('{"mock-llama-3.2-1b": {"input": 0, "output": 0}}') })
    await stack.client.chat.completions.create(chatBody())
    expect((await stack.rows.next()).cost_usd).toBe(0)
  })
})

test('the pricer keeps its match per model: later rows cost what a fresh lookup says', async () => {
  const { createPricer } = await import('../src/metering/pricing.js')
  const pricer = createPricer([])
  for (const model of ['gpt-4o', 'gpt-4o', 'claude-sonnet-4-20250514', 'claude-sonnet-4-20250514', 'llama3.2:1b', 'llama3.2:1b']) {
    for (const [prompt, cached, cacheWrite, completion] of [[1000, 0, 0, 100], [5000, 1200, 300, 7]]) {
      const fresh = calcPrice({ input_tokens: prompt, cache_read_tokens: cached, cache_write_tokens: cacheWrite, output_tokens: completion }, model)
      const got = pricer(model, { promptTokens: prompt, completionTokens: completion, totalTokens: null, cachedTokens: cached, reasoningTokens: null, cacheWriteTokens: cacheWrite })
      if (fresh === null) expect(got).toBeNull()
      else expect(got).toBeCloseTo(fresh.total_price, 12)
    }
  }
})
