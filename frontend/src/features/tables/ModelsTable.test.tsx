import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { modelRow } from '../../test/fixtures'
import { ModelsTable } from './ModelsTable'

afterEach(cleanup)

const order = () => [...document.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-model'))

test('sorted by requests, then by any column from its header button (keyboard-reachable)', () => {
  render(
    <ModelsTable
      models={[
        modelRow({ model: 'b-model', requests: 5, latency_p50_ms: 300 }),
        modelRow({ model: 'a-model', requests: 50, latency_p50_ms: null }),
        modelRow({ model: 'c-model', requests: 20, latency_p50_ms: 100 }),
      ]}
    />,
  )
  expect(order()).toEqual(['a-model', 'c-model', 'b-model'])
  const latency = screen.getByRole('button', { name: /Latency p50/ })
  fireEvent.click(latency)
  expect(order()).toEqual(['b-model', 'c-model', 'a-model']) // slowest first; no value last
  expect(latency.closest('th')!.getAttribute('aria-sort')).toBe('descending')
  fireEvent.click(latency)
  expect(order()).toEqual(['c-model', 'b-model', 'a-model'])
  fireEvent.click(screen.getByRole('button', { name: /^Model/ }))
  expect(order()).toEqual(['a-model', 'b-model', 'c-model'])
  expect(document.querySelector('tr[data-model="c-model"]')!.textContent).toContain('100 ms')
})

test('a cost column per model, sortable', () => {
  render(<ModelsTable models={[modelRow({ model: 'free', cost_usd: 0 }), modelRow({ model: 'cheap', cost_usd: 0.004 }), modelRow({ model: 'dear', cost_usd: 3.2 })]} />)
  fireEvent.click(screen.getByRole('button', { name: /Est\. cost/ }))
  expect(order()).toEqual(['dear', 'cheap', 'free'])
  const cells = (m: string) => [...document.querySelector(`tr[data-model="${m}"]`)!.querySelectorAll('td')].at(-1)!.textContent
  expect([cells('dear'), cells('cheap'), cells('free')]).toEqual(['$3.20', '$0.004', '$0'])
})
