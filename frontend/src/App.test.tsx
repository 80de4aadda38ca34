import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { App } from './App'
import { keyRow, summary, stubFetch } from './test/fixtures'

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

describe('the view in the address bar', () => {
  afterEach(() => window.history.replaceState(null, '', '/'))
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString()

  test.each([
    ['a fresh install (the newest request a minute ago)', 60_000, '15m'],
    ['the newest request 40 minutes ago', 40 * 60_000, '1h'],
    ['the newest request three days ago', 3 * 86_400_000, '7d'],
  ])('no range in the address: the shortest range showing the data, for %s', async (_what, age, expected) => {
    const stub = api({ models: [{ model: 'llama3.2:1b', requests: 12, last_seen: ago(age) }] })
    vi.stubGlobal('fetch', stub.fetch)
    render(<App />)
    await settle()
    await settle()
    expect((screen.getByLabelText('Time range') as HTMLSelectElement).value).toBe(expected)
    // The data is asked for over that range, and the address stays as it was until a choice is made.
    const last = stub.calls.filter((u) => u.pathname === '/api/metrics').at(-1)!
    const span = Date.now() - Number(last.searchParams.get('start'))
    expect(span).toBeGreaterThan(age)
    expect(window.location.search).toBe('')
  })

  test('a shared address opens that view: range, the requests without a model, streamed only', async () => {
    window.history.replaceState(null, '', '/?range=6h&model=&endpoint=%2Fv1%2Fmessages&stream=true')
    const stub = api({ models: [{ model: 'llama3.2:1b', requests: 12, last_seen: ago(60_000) }, { model: '', requests: 2, last_seen: ago(60_000) }] })
    vi.stubGlobal('fetch', stub.fetch)
    render(<App />)
    await settle()
    expect((screen.getByLabelText('Time range') as HTMLSelectElement).value).toBe('6h')
    const model = screen.getByLabelText('Model') as HTMLSelectElement
    expect(model.options[model.selectedIndex].textContent).toBe('(no model)')
    expect((screen.getByLabelText('Streaming') as HTMLSelectElement).value).toBe('true')
    const asked = stub.calls.filter((u) => u.pathname === '/api/metrics').at(-1)!
    expect(asked.searchParams.get('model')).toBe('')
    expect(asked.searchParams.get('stream')).toBe('true')
    expect(asked.searchParams.get('endpoint')).toBe('/v1/messages')
    expect((screen.getByLabelText('Endpoint') as HTMLSelectElement).value).toBe('/v1/messages')
    expect(Date.now() - Number(asked.searchParams.get('start'))).toBeGreaterThan(5.9 * 3_600_000)
  })

  test('each choice is a history entry; going back restores the view before it', async () => {
    vi.stubGlobal('fetch', api({ models: [{ model: 'llama3.2:1b', requests: 12, last_seen: ago(60_000) }] }).fetch)
    render(<App />)
    await settle()
    fireEvent.change(screen.getByLabelText('Time range'), { target: { value: '24h' } })
    expect(window.location.search).toBe('?range=24h')
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'm:llama3.2:1b' } })
    expect(window.location.search).toBe('?range=24h&model=llama3.2%3A1b')
    // What the browser's Back button does: the address of the entry before, then popstate.
    window.history.replaceState(null, '', '/?range=24h')
    act(() => void window.dispatchEvent(new PopStateEvent('popstate', { state: null })))
    expect((screen.getByLabelText('Model') as HTMLSelectElement).value).toBe('all')
    expect((screen.getByLabelText('Time range') as HTMLSelectElement).value).toBe('24h')
  })

  test('the key filter: from the address, on every API call, back into the address; the per-key table', async () => {
    window.history.replaceState(null, '', '/?range=1h&key=key_bob')
    const keys = [keyRow({ key_id: 'key_alice', key_name: 'alice', requests: 9 }), keyRow({ key_id: 'key_bob', key_name: 'bob', requests: 3 })]
    const stub = stubFetch((url) => {
      if (url.pathname === '/config.json') return {}
      if (url.pathname === '/api/metrics/models') return { models: [{ model: 'llama3.2:1b', requests: 12, last_seen: ago(60_000) }] }
      if (url.pathname === '/api/metrics/timeseries') return series
      if (url.pathname === '/api/metrics/requests') return { data: [], next_cursor: null }
      // A summary filtered by key names only that key.
      const key = url.searchParams.get('key')
      return { ...summary(), by_key: key ? keys.filter((k) => k.key_id === key) : keys }
    })
    vi.stubGlobal('fetch', stub.fetch)
    render(<App />)
    await settle()
    const select = () => screen.getByLabelText('Key') as HTMLSelectElement
    expect(select().value).toBe('key_bob')
    expect(select().options[select().selectedIndex].textContent).toBe('bob')
    for (const path of ['/api/metrics', '/api/metrics/timeseries', '/api/metrics/requests']) {
      expect(stub.calls.filter((u) => u.pathname === path).at(-1)!.searchParams.get('key'), path).toBe('key_bob')
    }
    expect(screen.getByTestId('keys-table').querySelectorAll('tbody tr').length).toBe(1)

    fireEvent.change(select(), { target: { value: '' } })
    await settle()
    expect(window.location.search).toBe('?range=1h')
    expect(stub.calls.filter((u) => u.pathname === '/api/metrics').at(-1)!.searchParams.has('key')).toBe(false)
    expect([...select().options].map((o) => o.textContent)).toEqual(['All keys', 'bob', 'alice'])
    fireEvent.change(select(), { target: { value: 'key_alice' } })
    await settle()
    expect(window.location.search).toBe('?range=1h&key=key_alice')
    expect(stub.calls.filter((u) => u.pathname === '/api/metrics/requests').at(-1)!.searchParams.get('key')).toBe('key_alice')
    // Narrowed to alice, bob stays a choice.
    expect([...select().options].map((o) => o.value)).toEqual(['', 'key_bob', 'key_alice'])

    // Back: the entry before (all keys).
    window.history.replaceState(null, '', '/?range=1h')
    act(() => void window.dispatchEvent(new PopStateEvent('popstate', { state: null })))
    expect(select().value).toBe('')
  })

  test('no keys in the summary: no key filter and no per-key table', async () => {
    vi.stubGlobal('fetch', api({ models: [{ model: 'llama3.2:1b', requests: 12, last_seen: ago(60_000) }] }).fetch)
    render(<App />)
    await settle()
    expect(screen.getByTestId('models-table')).toBeTruthy()
    expect(screen.queryByLabelText('Key')).toBeNull()
    expect(screen.queryByTestId('keys-table')).toBeNull()
  })
})
