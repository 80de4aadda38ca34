import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, expect, test, vi } from 'vitest'
import { SessionNav } from './SessionNav'

afterEach(cleanup)

test('sign-in off (or unknown yet): nothing at all', () => {
  const { container } = render(<SessionNav session={{ enabled: false, user: null, expires_at: null, keys: false }} page="dashboard" go={vi.fn()} onSignOut={vi.fn()} />)
  expect(container.innerHTML).toBe('')
  const unknown = render(<SessionNav session={null} page="dashboard" go={vi.fn()} onSignOut={vi.fn()} />)
  expect(unknown.container.innerHTML).toBe('')
})

test('signed out: a Sign in link and no Keys link', () => {
  const go = vi.fn()
  render(<SessionNav session={{ enabled: true, user: null, expires_at: null, keys: true }} page="dashboard" go={go} onSignOut={vi.fn()} />)
  expect(screen.queryByRole('link', { name: 'Keys' })).toBeNull()
  fireEvent.click(screen.getByRole('link', { name: 'Sign in' }))
  expect(go).toHaveBeenCalledWith('/sign-in')
})

test('signed in: Keys (when the server can manage keys), the user, Sign out', () => {
  const go = vi.fn()
  const onSignOut = vi.fn()
  const session = { enabled: true, user: 'admin', expires_at: '2026-01-01T12:00:00.000Z', keys: true }
  const { rerender } = render(<SessionNav session={session} page="dashboard" go={go} onSignOut={onSignOut} />)
  fireEvent.click(screen.getByRole('link', { name: 'Keys' }))
  expect(go).toHaveBeenCalledWith('/keys')
  expect(screen.getByText('admin')).toBeTruthy()
  fireEvent.click(screen.getByRole('button', { name: 'Sign out' }))
  expect(onSignOut).toHaveBeenCalled()
  rerender(<SessionNav session={{ ...session, keys: false }} page="dashboard" go={go} onSignOut={onSignOut} />)
  expect(screen.queryByRole('link', { name: 'Keys' })).toBeNull()
  rerender(<SessionNav session={session} page="keys" go={go} onSignOut={onSignOut} />)
  expect(screen.getByRole('link', { name: 'Dashboard' }).getAttribute('href')).toBe('/')
})
