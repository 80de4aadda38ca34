import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { ApiFailure } from '../../api/client'
import { EmptyState, ErrorBanner } from './States'

afterEach(cleanup)

test('the empty state shows how to point the SDK at the proxy', () => {
  render(<EmptyState proxyUrl="http://proxy.example:8001" />)
  expect(screen.getByText('No requests yet')).toBeTruthy()
  expect(screen.getByTestId('empty-state').textContent).toContain('base_url="http://proxy.example:8001/v1"')
})

test('an unreachable API names the URL and says the last data is kept', () => {
  render(<ErrorBanner error={new ApiFailure('unreachable', 'The metrics API at http://127.0.0.1:8002 could not be reached (ECONNREFUSED).', '/api/metrics')} hasData />)
  const banner = screen.getByRole('alert')
  expect(banner.textContent).toContain('Metrics API unreachable')
  expect(banner.textContent).toContain('http://127.0.0.1:8002')
  expect(banner.textContent).toContain('Showing the last data received')
})

test('an API error shows its message', () => {
  render(<ErrorBanner error={new ApiFailure('api', "Invalid query parameter 'start'", '/api/metrics')} hasData={false} />)
  expect(screen.getByRole('alert').textContent).toContain("Invalid query parameter 'start'")
  expect(screen.getByRole('alert').textContent).not.toContain('last data')
})
