import { act, cleanup, render } from '@testing-library/react'
import { afterEach, expect, test, vi } from 'vitest'
import { usePolling } from './use-polling'

afterEach(() => {
  cleanup()
  vi.useRealTimers()
})

function Probe({ fetcher, interval }: { fetcher: (s: AbortSignal) => Promise<number>; interval: number | null }) {
  const p = usePolling('k', fetcher, interval)
  return <span data-testid="v">{p.data ?? 'none'}{p.error ? ` error:${p.error.message}` : ''}</span>
}

test('never more than one request in flight, even when answers are slower than the interval', async () => {
  vi.useFakeTimers()
  let inFlight = 0
  let maxInFlight = 0
  let calls = 0
  const resolvers: (() => void)[] = []
  const fetcher = () => {
    calls++
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    return new Promise<number>((resolve) => resolvers.push(() => (inFlight--, resolve(calls))))
  }
  render(<Probe fetcher={fetcher} interval={1000} />)
  await act(async () => vi.advanceTimersByTimeAsync(10_000)) // the first answer has not come yet
  expect(calls).toBe(1)
  await act(async () => resolvers.shift()!())
  await act(async () => vi.advanceTimersByTimeAsync(1000))
  expect(calls).toBe(2)
  expect(maxInFlight).toBe(1)
})

test('keeps the last data when a refresh fails', async () => {
  vi.useFakeTimers()
  let n = 0
  const fetcher = async () => {
    if (++n > 1) throw new Error('boom')
    return 42
  }
  const { getByTestId } = render(<Probe fetcher={fetcher} interval={1000} />)
  await act(async () => vi.advanceTimersByTimeAsync(0))
  expect(getByTestId('v').textContent).toBe('42')
  await act(async () => vi.advanceTimersByTimeAsync(1000))
  expect(getByTestId('v').textContent).toBe('42 error:boom')
})

test('pauses while the tab is hidden', async () => {
  vi.useFakeTimers()
  let calls = 0
  render(<Probe fetcher={async () => ++calls} interval={1000} />)
  await act(async () => vi.advanceTimersByTimeAsync(0))
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })
  document.dispatchEvent(new Event('visibilitychange'))
  const before = calls
  await act(async () => vi.advanceTimersByTimeAsync(10_000))
  expect(calls).toBe(before)
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => false })
  await act(async () => document.dispatchEvent(new Event('visibilitychange')))
  expect(calls).toBe(before + 1)
})

test('a new interval applies from the next fetch; "off" stops polling; refresh still works', async () => {
  vi.useFakeTimers()
  let calls = 0
  const fetcher = async () => ++calls
  const { rerender, getByTestId } = render(<Probe fetcher={fetcher} interval={10_000} />)
  await act(async () => vi.advanceTimersByTimeAsync(0))
  expect(calls).toBe(1)
  rerender(<Probe fetcher={fetcher} interval={1000} />)
  await act(async () => vi.advanceTimersByTimeAsync(0))
  expect(calls).toBe(1) // changing the interval is not a fetch
  await act(async () => vi.advanceTimersByTimeAsync(1000))
  expect(calls).toBe(2)
  rerender(<Probe fetcher={fetcher} interval={null} />)
  await act(async () => vi.advanceTimersByTimeAsync(60_000))
  expect(calls).toBe(2)
  expect(getByTestId('v').textContent).toBe('2')
})

test('a manual refresh while a request is in flight does not start a second one', async () => {
  let calls = 0
  let release = () => {}
  function Refresher() {
    const p = usePolling('r', () => (calls++, new Promise<number>((r) => (release = () => r(calls)))), null)
    return <button onClick={p.refresh}>{p.data ?? 'none'}</button>
  }
  const { getByRole } = render(<Refresher />)
  await act(async () => getByRole('button').click())
  expect(calls).toBe(1)
  await act(async () => release())
  await act(async () => getByRole('button').click())
  expect(calls).toBe(2)
})
