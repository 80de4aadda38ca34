import type { Timeseries } from '@llm-proxy/core/contracts'
import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, beforeAll, expect, test } from 'vitest'
import { Charts } from './Charts'

beforeAll(() => {
  // jsdom has no layout; recharts' ResponsiveContainer only needs the observer to exist.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
})
afterEach(cleanup)

const point = (i: number, total: number, p95: number | null) => ({
  start: new Date(Date.UTC(2026, 0, 2, 3, i)).toISOString(),
  requests: { total, success: total - 1, cancelled: 0, client_error: 1, backend_error: 0, network_error: 0 },
  latency_p50_ms: p95 === null ? null : p95 / 2, latency_p95_ms: p95, ttft_p50_ms: null, ttft_p95_ms: null,
  output_tps_avg: 40 + i, prompt_tokens: 1000 * total, completion_tokens: 120_000, cost_usd: 0, // large counts: exact in tooltips
})

test('each chart has a text summary for screen readers, and a name', () => {
  const series: Timeseries = {
    window: { start: '2026-01-02T03:00:00.000Z', end: '2026-01-02T03:03:00.000Z' }, bucket: '1m', bucket_ms: 60_000,
    points: [point(0, 4, 1500), point(1, 9, 250), point(2, 2, null)],
  }
  render(<Charts series={series} onZoom={() => {}} />)
  for (const title of ['Requests by outcome', 'Latency', 'Time to first token', 'Output tokens per second', 'Tokens']) expect(screen.getByText(title, { selector: 'figcaption' })).toBeTruthy()
  const text = [...document.querySelectorAll('.sr-only')].map((e) => e.textContent)
  expect(text).toContain('Requests per bucket: from 2 to 9, latest 2.')
  expect(text).toContain('Latency p95: from 250 ms to 1.50 s, latest 250 ms.')
  expect(text).toContain('Time to first token p95: no data in this range.')
  expect(text).toContain('Average output tokens per second: from 40 tok/s to 42 tok/s, latest 42 tok/s.')
})
