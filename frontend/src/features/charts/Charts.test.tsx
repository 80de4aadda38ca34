import type { Timeseries } from '@llm-proxy/core/contracts'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeAll, expect, test, vi } from 'vitest'
import { ChartTooltip, Charts, lastBucketPartial, splitPartial } from './Charts'

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
  expect(text).toContain('Latency p95: from 250 ms to 1.50 sec, latest 250 ms.')
  expect(text).toContain('Time to first token p95: no data in this range.')
  expect(text).toContain('Average output tokens per second: from 40 tok/s to 42 tok/s, latest 42 tok/s.')
})

const series = (end: string): Timeseries => ({
  window: { start: '2026-01-02T03:00:00.000Z', end }, bucket: '1m', bucket_ms: 60_000,
  points: [point(0, 4, 1500), point(1, 9, 250), point(2, 2, 300)],
})

test('the last bucket is partial while the window ends inside it', () => {
  expect(lastBucketPartial(series('2026-01-02T03:02:20.000Z'))).toBe(true) // the bucket 03:02 runs to 03:03
  expect(lastBucketPartial(series('2026-01-02T03:03:00.000Z'))).toBe(false) // ends with the window
  expect(lastBucketPartial({ ...series('2026-01-02T03:03:00.000Z'), points: [] })).toBe(false)
})

test('a partial bucket ends each line with a dashed segment from the last complete value, not a drop', () => {
  const pts = [{ v: 10 }, { v: null }, { v: 2 }].map((p, i) => ({ ...p, t: i })) as unknown as Parameters<typeof splitPartial>[0]
  const out = splitPartial(pts, ['v'], true)
  expect(out.map((p) => p['v:done'])).toEqual([10, null, null])
  // From the last bucket with a value (bucket 0; bucket 1 had none) to the partial one.
  expect(out.map((p) => p['v:partial'])).toEqual([10, null, 2])
  const whole = splitPartial(pts, ['v'], false)
  expect(whole.map((p) => p['v:done'])).toEqual([10, null, 2])
  expect(whole.every((p) => p['v:partial'] === null)).toBe(true)
})

test('drawn: dashed line ends, a hatched last segment, a lighter last bar, and a note', () => {
  render(<Charts series={series('2026-01-02T03:02:20.000Z')} onZoom={() => {}} size={{ width: 600, height: 220 }} />)
  // Latency p50 and p95 and output tok/s end dashed (the fixture has no TTFT, so no TTFT line at all).
  const dashed = [...document.querySelectorAll('.partial-line path.recharts-line-curve')]
  expect(dashed.length).toBe(3)
  for (const d of dashed) expect(d.getAttribute('stroke-dasharray')).toBe('4 3')
  expect(document.querySelectorAll('.partial-area').length).toBe(1)
  const bars = [...document.querySelectorAll('.recharts-bar-rectangle path')]
  expect(bars.length).toBe(6) // 3 buckets × prompt and completion
  expect(bars.filter((b) => b.getAttribute('fill-opacity') === '0.35').length).toBe(2)
  expect(screen.getAllByText('Dashed or hatched: the last bucket, still filling').length).toBe(5)
  expect([...document.querySelectorAll('.sr-only')][0].textContent).toMatch(/The last bucket is still filling\.$/)
  cleanup()
  // A window that ends with the last bucket: nothing partial.
  render(<Charts series={series('2026-01-02T03:03:00.000Z')} onZoom={() => {}} size={{ width: 600, height: 220 }} />)
  expect(document.querySelectorAll('.partial-line path.recharts-line-curve').length).toBe(0)
  expect(document.querySelectorAll('.partial-area').length).toBe(0)
  expect(screen.queryByText(/still filling/)).toBeNull()
})

test("the tooltip of the partial bucket says it is still filling; the others don't", () => {
  const infos = [{ key: 'success', name: 'Success', color: 'red' }]
  const p = (t: number) => ({ payload: { t, success: 3 } as never })
  const t2 = Date.parse('2026-01-02T03:02:00.000Z')
  render(<ChartTooltip active payload={[p(t2)]} label={t2} series={infos} fmt={String} partialT={t2} />)
  expect(screen.getByTestId('chart-tooltip').textContent).toContain('Success: 3')
  expect(screen.getByText('partial — bucket still filling')).toBeTruthy()
  cleanup()
  render(<ChartTooltip active payload={[p(t2 - 60_000)]} label={t2 - 60_000} series={infos} fmt={String} partialT={t2} />)
  expect(screen.queryByText(/still filling/)).toBeNull()
})

test('a touch tap picks a bucket and offers the zoom; a mouse click zooms at once', () => {
  const onZoom = vi.fn()
  render(<Charts series={series('2026-01-02T03:03:00.000Z')} onZoom={onZoom} size={{ width: 600, height: 220 }} />)
  const tokens = [...document.querySelectorAll('figure')].find((f) => f.querySelector('figcaption')!.textContent === 'Tokens')!
  const surface = tokens.querySelector('.recharts-wrapper')!
  const body = tokens.querySelector('.chart-body')!
  const at = { clientX: 300, clientY: 100 }
  // jsdom has no PointerEvent: a pointerdown Event carrying pointerType stands in for it.
  const press = (pointerType: string) => fireEvent(surface, Object.assign(new Event('pointerdown', { bubbles: true }), { pointerType }))
  expect(body.contains(surface)).toBe(true)
  press('touch')
  fireEvent.mouseMove(surface, at)
  fireEvent.click(surface, at)
  expect(onZoom).not.toHaveBeenCalled()
  const zoom = screen.getByRole('button', { name: /^Zoom to / })
  fireEvent.click(zoom)
  expect(onZoom).toHaveBeenCalledTimes(1)
  const [start, end] = onZoom.mock.calls[0]
  expect(end - start).toBe(60_000)
  press('mouse')
  fireEvent.mouseMove(surface, at)
  fireEvent.click(surface, at)
  expect(onZoom).toHaveBeenCalledTimes(2)
})
