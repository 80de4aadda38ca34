import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { record, stubFetch } from '../../test/fixtures'
import { fieldLabel, RequestLog } from './RequestLog'

const NOW = Date.parse('2026-01-02T04:00:00Z')
const at = (minAgo: number) => new Date(NOW - minAgo * 60_000).toISOString()
const page = (ids: number[], next: string | null) => ({ data: ids.map((i) => record({ id: `req-${i}`, ts: at(i) })), next_cursor: next })

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  vi.setSystemTime(NOW)
})
afterEach(() => {
  cleanup()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

const ids = () => screen.getAllByRole('row').slice(1).map((r) => r.getAttribute('aria-label')?.split(',')[0])
const settle = () => act(async () => vi.advanceTimersByTimeAsync(0))

test('shows the newest requests of the range, with the filters, and the CSV of the same query', async () => {
  const api = stubFetch(() => page([1, 2], null))
  vi.stubGlobal('fetch', api.fetch)
  render(<RequestLog range={{ kind: 'relative', id: '15m' }} filters={{ model: 'llama3.2:1b', stream: 'true' }} refreshMs={10_000} />)
  await settle()
  expect(ids()).toEqual(['Request req-1', 'Request req-2'])
  const q = api.calls[0].searchParams
  expect([q.get('model'), q.get('stream'), q.get('start'), q.get('limit')]).toEqual(['llama3.2:1b', 'true', String(NOW - 15 * 60_000), '25'])
  const csv = new URL(screen.getByText('Download CSV').getAttribute('href')!, 'http://x')
  expect(csv.pathname).toBe('/api/metrics/requests.csv')
  expect(csv.searchParams.get('model')).toBe('llama3.2:1b')
  expect(screen.getByText('Live')).toBeTruthy()
})

test('older pages follow the cursor; the head stops moving until "back to the newest"', async () => {
  let head = [1, 2]
  const api = stubFetch((url) => (url.searchParams.get('cursor') === 'c2' ? page([3, 4], 'c4') : page(head, 'c2')))
  vi.stubGlobal('fetch', api.fetch)
  render(<RequestLog range={{ kind: 'relative', id: '1h' }} filters={{}} refreshMs={5_000} />)
  await settle()
  fireEvent.click(screen.getByText('Load older requests'))
  await settle()
  expect(ids()).toEqual(['Request req-1', 'Request req-2', 'Request req-3', 'Request req-4'])
  expect(api.calls.at(-1)!.searchParams.get('cursor')).toBe('c2')
  expect(screen.getByText(/Paused/)).toBeTruthy()

  // New traffic arrives; while older pages are shown the list does not jump or open a gap.
  head = [0, 1]
  const before = api.calls.length
  await act(async () => vi.advanceTimersByTimeAsync(30_000))
  expect(api.calls.length).toBe(before)
  expect(ids()[0]).toBe('Request req-1')

  fireEvent.click(screen.getByText('Back to the newest (live)'))
  await settle()
  expect(ids()).toEqual(['Request req-0', 'Request req-1'])
})

test('a failed older page says so and keeps the rows', async () => {
  vi.stubGlobal('fetch', stubFetch((url) => (url.searchParams.get('cursor') ? Promise.reject(new TypeError('fetch failed')) : page([1], 'c1'))).fetch)
  render(<RequestLog range={{ kind: 'relative', id: '1h' }} filters={{}} refreshMs={null} />)
  await settle()
  fireEvent.click(screen.getByText('Load older requests'))
  await settle()
  expect(screen.getByRole('alert').textContent).toContain('Could not load older requests')
  expect(ids()).toEqual(['Request req-1'])
})

test('the detail panel shows every recorded field, closes with Escape and gives focus back', async () => {
  vi.stubGlobal('fetch', stubFetch(() => page([1], null)).fetch)
  render(<RequestLog range={{ kind: 'relative', id: '1h' }} filters={{}} refreshMs={null} />)
  await settle()
  const row = screen.getAllByRole('row')[1]
  row.focus()
  fireEvent.keyDown(row, { key: 'Enter' })
  const panel = screen.getByTestId('request-detail')
  // Every recorded field, in words (the API's name as its tooltip), none left out.
  const terms = [...panel.querySelectorAll('dt')]
  expect(terms.map((t) => t.getAttribute('title')).sort()).toEqual(Object.keys(record()).sort())
  for (const t of terms) expect(t.textContent, t.title).not.toMatch(/_/)
  expect(within(panel).getByText('Time to first token')).toBeTruthy()
  expect(within(panel).getByText('Access key')).toBeTruthy()
  expect(within(panel).getByText('OpenAI/JS 6.0')).toBeTruthy()
  // The id whole, in one piece (the title shows only its start).
  expect(panel.querySelector('dd code.request-id')?.textContent).toMatch(/^req-\d+$/)
  // A field this version does not know yet still reads as words.
  expect(fieldLabel('overhead_ms')).toBe('Overhead (ms)')
  expect(document.activeElement?.getAttribute('aria-label')).toBe('Close details')
  fireEvent.keyDown(window, { key: 'Escape' })
  expect(screen.queryByTestId('request-detail')).toBeNull()
  expect(document.activeElement).toBe(row)
})

test('each request shows its endpoint and its estimated cost (a dash when no price is known)', async () => {
  vi.stubGlobal('fetch', stubFetch(() => ({
    data: [
      record({ id: 'req-a', ts: at(1), endpoint: '/v1/messages', cost_usd: 0.0042 }),
      record({ id: 'req-b', ts: at(2), endpoint: '/v1/responses', cost_usd: null }),
    ],
    next_cursor: null,
  })).fetch)
  render(<RequestLog range={{ kind: 'relative', id: '1h' }} filters={{}} refreshMs={null} />)
  await settle()
  const [a, b] = screen.getAllByRole('row').slice(1)
  expect(a.textContent).toContain('messages')
  expect(a.textContent).toContain('$0.0042')
  expect(b.textContent).toContain('responses')
  expect(within(b).getByTitle('No price known for this model').textContent).toBe('—')
})

test('the key of each request by name (its id when deleted), in the list and in the detail; no column without keys', async () => {
  let data = [
    record({ id: 'req-a', ts: at(1), key_id: 'key_alice', key_name: 'alice' }),
    record({ id: 'req-b', ts: at(2), key_id: 'key_gone', key_name: null }),
    record({ id: 'req-c', ts: at(3) }),
  ]
  vi.stubGlobal('fetch', stubFetch(() => ({ data, next_cursor: null })).fetch)
  const { unmount } = render(<RequestLog range={{ kind: 'relative', id: '1h' }} filters={{ key: 'key_alice' }} refreshMs={null} />)
  await settle()
  const headers = screen.getAllByRole('columnheader').map((h) => h.textContent)
  expect(headers.at(-1)).toBe('Key')
  const [a, b, c] = screen.getAllByRole('row').slice(1)
  // The phone card labels the cell (data-label); the id is its tooltip.
  expect(a.querySelector('td.c-key[data-label="Key"]')!.textContent).toBe('alice')
  expect(a.querySelector('td.c-key')!.getAttribute('title')).toBe('key_alice')
  expect(b.querySelector('td.c-key')!.textContent).toBe('key_gone (deleted)')
  expect(c.querySelector('td.c-key')!.textContent).toBe('—')
  expect(screen.getByTestId('request-log').classList.contains('with-keys')).toBe(true)
  fireEvent.click(a)
  const panel = screen.getByTestId('request-detail')
  const field = (name: string) => [...panel.querySelectorAll('.field')].find((f) => f.querySelector('dt')!.getAttribute('title') === name)!
  expect(field('key_name').querySelector('dt')!.textContent).toBe('Key')
  expect(field('key_name').querySelector('dd')!.textContent).toBe('alice')
  expect(field('key_id').querySelector('dd')!.textContent).toBe('key_alice')
  unmount()

  data = [record({ id: 'req-d', ts: at(1) })]
  render(<RequestLog range={{ kind: 'relative', id: '1h' }} filters={{}} refreshMs={null} />)
  await settle()
  expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).not.toContain('Key')
  expect(document.querySelector('td.c-key')).toBeNull()
})
