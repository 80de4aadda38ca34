import type { RequestRow } from '@llm-proxy/core'
import { sampleRow } from './fixtures.js'

/** Random rows over three days, with in-flight counts 0–40 or none, several outcomes, keys and endpoints. */
export function satRows(count: number, seed = 3): RequestRow[] {
  let x = seed
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  return Array.from({ length: count }, () => sampleRow({
    ts: Date.UTC(2026, 0, 10) + Math.floor(rand() * 3 * 86_400_000), model: ['a', 'b'][Math.floor(rand() * 2)], stream: rand() < 0.6,
    outcome: rand() < 0.8 ? 'success' : 'backend_error', inflight: rand() < 0.1 ? null : Math.floor(rand() * 41), total_ms: 5 + rand() * 3000,
    ttft_ms: rand() < 0.7 ? rand() * 500 : null, output_tps: rand() < 0.9 ? rand() * 90 : null, completion_tokens: rand() < 0.9 ? Math.floor(rand() * 400) : null,
    key_id: rand() < 0.5 ? 'k' : null, endpoint: rand() < 0.7 ? '/v1/chat/completions' : '/v1/messages',
  }))
}
