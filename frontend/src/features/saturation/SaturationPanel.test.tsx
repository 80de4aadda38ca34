import type { Saturation, SaturationLevel } from '@llm-proxy/core/contracts'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeAll, expect, test } from 'vitest'
import { describeSaturation } from './describe'
import { SaturationView } from './SaturationPanel'

beforeAll(() => {
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
})
afterEach(cleanup)

const level = (lo: number, hi: number, requests: number, tps: number | null, ttft: number | null): SaturationLevel => ({
  level: lo, level_max: hi, requests, streamed: ttft === null ? 0 : requests, inflight_avg: (lo + hi) / 2,
  ttft_p50_ms: ttft === null ? null : ttft * 0.8, ttft_p95_ms: ttft, latency_p50_ms: 1000, latency_p95_ms: 1500,
  output_tps_p50: tps, output_tps_total: tps === null ? null : tps * lo, sparse: requests < 10,
})

const data: Saturation = {
  window: { start: '2026-01-02T03:00:00.000Z', end: '2026-01-02T04:00:00.000Z' },
  min_samples: 10,
  models: [
    {
      model: 'llama3.2:1b', requests: 130,
      levels: [level(1, 1, 40, 40, 250), level(2, 2, 30, 39, 260), level(3, 3, 20, 30, 400), level(5, 6, 30, 18, 700), level(7, 8, 6, 12, 900)],
      tps_halved: { level: 5, level_max: 6, value: 18, baseline_level: 1, baseline: 40 },
      ttft_p95_doubled: { level: 5, level_max: 6, value: 700, baseline_level: 1, baseline: 250 },
    },
    { model: 'qwen', requests: 25, levels: [level(1, 1, 12, 80, null), level(2, 2, 13, 79, null)], tps_halved: null, ttft_p95_doubled: null },
    { model: 'rare', requests: 3, levels: [level(1, 1, 3, 50, 100)], tps_halved: null, ttft_p95_doubled: null },
  ],
}

test('says where each model saturates, in words', () => {
  const [llama, qwen, rare] = data.models
  expect(describeSaturation(llama, 10)).toEqual([
    'llama3.2:1b: per-request speed halves above 4 concurrent requests (40 tok/s at 1, 18 tok/s at 5–6).',
    'llama3.2:1b: TTFT p95 doubles above 4 concurrent requests (250 ms at 1, 700 ms at 5–6).',
  ])
  expect(describeSaturation(qwen, 10)).toEqual(['qwen: no slow-down seen up to 2 concurrent requests: per-request speed never halved and TTFT p95 never doubled.'])
  expect(describeSaturation(rare, 10)).toEqual(['rare: not enough data yet; each concurrency level needs 10 requests, and no level has them.'])
})

test('the panel lists every model\'s findings and charts the picked one', () => {
  render(<SaturationView data={data} />)
  const panel = screen.getByTestId('saturation')
  expect(panel.textContent).toContain('llama3.2:1b: TTFT p95 doubles above 4 concurrent requests')
  expect(panel.textContent).toContain('qwen: no slow-down seen')
  expect(panel.textContent).toContain('rare: not enough data yet')
  expect(panel.textContent).toContain('Grey points: fewer than 10 requests at that level.')
  // The busiest model is charted first; the picker switches.
  const summary = () => screen.getByTestId('saturation-summary').textContent
  expect(summary()).toBe(
    'llama3.2:1b by concurrent requests: 1: 40 tok/s per request, 40 tok/s in all, TTFT p95 250 ms, 40 requests; 2: 39 tok/s per request, 78 tok/s in all, TTFT p95 260 ms, 30 requests; ' +
      '3: 30 tok/s per request, 90 tok/s in all, TTFT p95 400 ms, 20 requests; 5–6: 18 tok/s per request, 90 tok/s in all, TTFT p95 700 ms, 30 requests; 7–8: 12 tok/s per request, 84 tok/s in all, TTFT p95 900 ms, 6 requests (too few).',
  )
  const select = screen.getByLabelText('Saturation model') as HTMLSelectElement
  expect(select.value).toBe('llama3.2:1b')
  expect([...select.options].map((o) => o.value)).toEqual(['llama3.2:1b', 'qwen', 'rare'])
  fireEvent.change(select, { target: { value: 'qwen' } })
  expect(select.value).toBe('qwen')
  expect(summary()).toBe('qwen by concurrent requests: 1: 80 tok/s per request, 80 tok/s in all, TTFT p95 —, 12 requests; 2: 79 tok/s per request, 158 tok/s in all, TTFT p95 —, 13 requests.')
})

test('no data: says so, no chart, no picker', () => {
  render(<SaturationView data={{ ...data, models: [] }} />)
  expect(screen.getByTestId('saturation').textContent).toContain('No successful requests with a concurrency level in this range yet.')
  expect(screen.queryByLabelText('Saturation model')).toBeNull()
})
