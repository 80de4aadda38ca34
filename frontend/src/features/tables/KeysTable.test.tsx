import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { keyRow } from '../../test/fixtures'
import { KeysTable } from './KeysTable'

afterEach(cleanup)

const order = () => [...document.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-key'))

test('not shown when no request used a key', () => {
  const { container } = render(<KeysTable keys={[]} />)
  expect(container.innerHTML).toBe('')
  expect(screen.queryByTestId('keys-table')).toBeNull()
})

test('busiest key first, then sorted by any column from its header button (keyboard-reachable)', () => {
  render(
    <KeysTable
      keys={[
        keyRow({ key_id: 'key_b', key_name: 'bob', requests: 5, failed: 3, ttft_p95_ms: null, cost_usd: 0.5 }),
        keyRow({ key_id: 'key_a', key_name: 'alice', requests: 50, failed: 0, ttft_p95_ms: 200, cost_usd: 1.25 }),
        keyRow({ key_id: 'key_x', key_name: null, requests: 20, failed: 1, ttft_p95_ms: 900 }),
      ]}
    />,
  )
  expect(order()).toEqual(['key_a', 'key_x', 'key_b'])
  // By name; a deleted key by its id.
  expect(document.querySelector('tr[data-key="key_x"] td')!.textContent).toBe('key_x (deleted)')
  expect(document.querySelector('tr[data-key="key_a"]')!.textContent).toContain('$1.25')
  const failed = screen.getByRole('button', { name: /^Failed/ })
  failed.focus()
  expect(document.activeElement).toBe(failed)
  fireEvent.click(failed)
  expect(order()).toEqual(['key_b', 'key_x', 'key_a'])
  expect(failed.closest('th')!.getAttribute('aria-sort')).toBe('descending')
  fireEvent.click(failed)
  expect(order()).toEqual(['key_a', 'key_x', 'key_b'])
  expect(failed.closest('th')!.getAttribute('aria-sort')).toBe('ascending')
  const ttft = screen.getByRole('button', { name: /TTFT p95/ })
  fireEvent.click(ttft)
  expect(order()).toEqual(['key_x', 'key_a', 'key_b']) // slowest first; no value last
  fireEvent.click(ttft)
  expect(order()).toEqual(['key_a', 'key_x', 'key_b'])
  fireEvent.click(screen.getByRole('button', { name: /^Key/ }))
  expect(order()).toEqual(['key_a', 'key_b', 'key_x']) // alice, bob, key_x (deleted): A to Z
})
