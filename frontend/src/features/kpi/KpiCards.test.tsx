import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { summary } from '../../test/fixtures'
import { KpiCards } from './KpiCards'

afterEach(cleanup)

const card = (id: string) => document.querySelector(`[data-kpi="${id}"]`)!

test('each figure with its change against the previous window, coloured by whether it is good news', () => {
  render(<KpiCards summary={summary({ total: 200, success: 196, p50: 1200 })} previous={summary({ total: 100, success: 90, p50: 800 })} />)
  expect(screen.getByTestId('kpi-requests').textContent).toBe('200')
  expect(screen.getByTestId('kpi-success').textContent).toBe('98.0%')
  expect(screen.getByTestId('kpi-p50').textContent).toBe('1.20 sec')
  expect(screen.getByTestId('kpi-errors').textContent).toBe('4')
  expect(card('requests').querySelector('.kpi-delta')!.textContent).toBe('+100% vs prev.')
  expect(card('requests').querySelector('.neutral')).not.toBeNull() // more traffic is neither good nor bad
  expect(card('success').querySelector('.good')!.textContent).toBe('+8.9%')
  expect(card('p50').querySelector('.bad')!.textContent).toBe('+50%') // slower
  expect(card('errors').querySelector('.good')!.textContent).toBe('-60%') // fewer errors
})

test('estimated cost: a KPI card in dollars, neutral change; $0 when no request had a price', () => {
  render(<KpiCards summary={summary({ cost: 12.5 })} previous={summary({ cost: 10 })} />)
  expect(screen.getByTestId('kpi-cost').textContent).toBe('$12.50')
  expect(card('cost').querySelector('.neutral')!.textContent).toBe('+25%')
  cleanup()
  render(<KpiCards summary={summary()} previous={undefined} />)
  expect(screen.getByTestId('kpi-cost').textContent).toBe('$0')
})

test('without a previous window the change says so', () => {
  render(<KpiCards summary={summary({ p50: null })} previous={undefined} />)
  expect(screen.getByTestId('kpi-p50').textContent).toBe('—')
  expect(card('requests').querySelector('.kpi-delta')!.textContent).toBe('no previous data')
})
