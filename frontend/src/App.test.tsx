import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeAll, beforeEach, expect, test, vi } from 'vitest'
import { App } from './App'
import { summary, stubFetch } from './test/fixtures'

beforeAll(() => {
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
})
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  localStorage.clear()
})
afterEach(() => {
  cleanup()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

const settle = () => act(async () => vi.advanceTimersByTimeAsync(0))
const series = { window: { start: null, end: '2026-01-02T03:00:00.000Z' }, bucket: '1m', bucket_ms: 60_000, points: [] }

/** The dashboard's origin: /config.json and /api/*; `models` decides whether anything was recorded. */
function api(o: { models: { model: string; requests: number; last_seen: string }[]; down?: () => boolean }) {
  return stubFetch((url) => {
    if (url.pathname === '/config.json') return { proxyUrl: 'http://proxy.internal:8001' }
    if (o.down?.()) {
      const error = { message: 'The metrics API at http://127.0.0.1:8002 could not be reached (ECONNREFUSED).', type: 'upstream_error', param: null, code: 'metrics_api_unreachable' }
      return new Response(JSON.stringify({ error }), { status: 502 })
    }
    if (url.pathname === '/api/metrics/models') return { models: o.models }
    if (url.pathname === '/api/metrics/timeseries') return series
    if (url.pathname === '/api/metrics/requests') return { data: [], next_cursor: null }
    if (url.pathname === '/api/metrics') return summary({ total: o.models.length ? 12 : 0, success: o.models.length ? 11 : 0 })
    throw new Error(`unexpected ${url}`)
  })
}

test('loading first, then — with nothing recorded yet — how to point the SDK at the proxy from /config.json', async () => {
  vi.stubGlobal('fetch', api({ models: [] }).fetch)
  render(<App />)
  expect(screen.getByRole('status').textContent).toContain('Loading')
  await settle()
  expect(screen.getByTestId('empty-state').textContent).toContain('base_url="http://proxy.internal:8001/v1"')
  expect(screen.queryByTestId('kpi-requests')).toBeNull()
  expect(screen.queryByRole('status')).toBeNull()
})

test('the metrics API going away: the banner names its URL and the last figures stay', async () => {
  let down = false
  vi.stubGlobal('fetch', api({ models: [{ model: 'llama3.2:1b', requests: 12, last_seen: '2026-01-02T03:00:00.000Z' }], down: () => down }).fetch)
  render(<App />)
  await settle()
  expect(screen.getByTestId('kpi-requests').textContent).toBe('12')
  expect(screen.queryByRole('alert')).toBeNull()
  down = true
  fireEvent.click(screen.getByRole('button', { name: 'Refresh now' }))
  await settle()
  expect(screen.getByRole('alert').textContent).toContain('http://127.0.0.1:8002')
  expect(screen.getByTestId('kpi-requests').textContent).toBe('12')
  // Back again: the banner goes at the next poll (10 s by default).
  down = false
  await act(async () => vi.advanceTimersByTimeAsync(10_000))
  expect(screen.queryByRole('alert')).toBeNull()
})

test('the theme follows the system until one is chosen, then is remembered', async () => {
  let dark = true
  const listeners: (() => void)[] = []
  vi.stubGlobal('matchMedia', (q: string) => ({ matches: q.includes('dark') && dark, addEventListener: (_: string, f: () => void) => listeners.push(f), removeEventListener: () => {} }))
  vi.stubGlobal('fetch', api({ models: [] }).fetch)
  render(<App />)
  await settle()
  expect(document.documentElement.dataset.theme).toBe('dark')
  dark = false
  act(() => listeners.forEach((f) => f()))
  expect(document.documentElement.dataset.theme).toBe('light')
  expect(localStorage.getItem('theme')).toBeNull()
  fireEvent.change(screen.getByLabelText('Theme'), { target: { value: 'terminal' } })
  expect(document.documentElement.dataset.theme).toBe('terminal')
  expect(localStorage.getItem('theme')).toBe('terminal')
  dark = true
  act(() => listeners.forEach((f) => f()))
  expect(document.documentElement.dataset.theme).toBe('terminal')
})
