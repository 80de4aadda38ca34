import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, expect, test, vi } from 'vitest'
import { toLocalInput, type TimeRange } from '../../lib/time-range'
import { Header, type HeaderProps } from './Header'

afterEach(cleanup)

const NOW = Date.parse('2026-01-02T04:00:00Z')
function props(over: Partial<HeaderProps> = {}): HeaderProps {
  return {
    range: { kind: 'relative', id: '1h' }, window: { start: NOW - 3_600_000, end: NOW }, onRange: vi.fn(),
    models: ['llama3.2:1b', 'qwen2.5:7b', ''], model: null, onModel: vi.fn(), keys: [], keyId: null, onKey: vi.fn(), stream: '', onStream: vi.fn(), endpoint: '', onEndpoint: vi.fn(),
    refreshMs: 10_000, onRefreshMs: vi.fn(), updatedAt: null, onRefresh: vi.fn(), theme: 'light', onTheme: vi.fn(), ...over,
  }
}

test('every control has a label; refresh intervals off to 1m, 10s chosen', () => {
  const p = props()
  render(<Header {...p} />)
  const refresh = screen.getByLabelText('Refresh') as HTMLSelectElement
  expect([...refresh.options].map((o) => o.text)).toEqual(['Off', '5s', '10s', '30s', '1m'])
  expect(refresh.selectedOptions[0].text).toBe('10s')
  fireEvent.change(refresh, { target: { value: 'null' } })
  expect(p.onRefreshMs).toHaveBeenCalledWith(null)
  fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'm:qwen2.5:7b' } })
  expect(p.onModel).toHaveBeenCalledWith('qwen2.5:7b')
  // Requests without a model are an option by name, apart from "All models".
  const options = [...(screen.getByLabelText('Model') as HTMLSelectElement).options].map((o) => o.textContent)
  expect(options).toEqual(['All models', 'llama3.2:1b', 'qwen2.5:7b', '(no model)'])
  fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'm:' } })
  expect(p.onModel).toHaveBeenLastCalledWith('')
  fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'all' } })
  expect(p.onModel).toHaveBeenLastCalledWith(null)
  fireEvent.change(screen.getByLabelText('Streaming'), { target: { value: 'true' } })
  expect(p.onStream).toHaveBeenCalledWith('true')
  const endpoint = screen.getByLabelText('Endpoint') as HTMLSelectElement
  expect([...endpoint.options].map((o) => o.value)).toEqual(['', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/messages'])
  fireEvent.change(endpoint, { target: { value: '/v1/messages' } })
  expect(p.onEndpoint).toHaveBeenCalledWith('/v1/messages')
  const theme = screen.getByLabelText('Theme') as HTMLSelectElement
  expect([...theme.options].map((o) => [o.value, o.text])).toEqual([['light', 'Light'], ['dark', 'Dark'], ['terminal', 'Terminal'], ['solarized', 'Solarized light'], ['vivid', 'Vivid']])
  fireEvent.change(theme, { target: { value: 'terminal' } })
  expect(p.onTheme).toHaveBeenCalledWith('terminal')
  fireEvent.change(theme, { target: { value: 'vivid' } })
  expect(p.onTheme).toHaveBeenLastCalledWith('vivid')
  fireEvent.click(screen.getByRole('button', { name: 'Refresh now' }))
  expect(p.onRefresh).toHaveBeenCalled()
  expect(screen.queryByRole('button', { name: /Zoom out/ })).toBeNull()
})

test('a zoomed range shows in From/To, with a way back', () => {
  const p = props()
  const { rerender } = render(<Header {...p} />)
  const zoomed: TimeRange = { kind: 'custom', start: NOW - 20 * 60_000, end: NOW - 15 * 60_000 }
  const onBack = vi.fn()
  rerender(<Header {...p} range={zoomed} window={zoomed} onBack={onBack} />)
  expect((screen.getByLabelText('From') as HTMLInputElement).value).toBe(toLocalInput(zoomed.start))
  expect((screen.getByLabelText('To') as HTMLInputElement).value).toBe(toLocalInput(zoomed.end))
  expect((screen.getByLabelText('Time range') as HTMLSelectElement).value).toBe('custom')
  fireEvent.click(screen.getByRole('button', { name: /Zoom out/ }))
  expect(onBack).toHaveBeenCalled()
})

test('a custom range is applied, and a reversed one refused with a message', () => {
  const p = props()
  render(<Header {...p} />)
  fireEvent.change(screen.getByLabelText('Time range'), { target: { value: 'custom' } })
  fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-01-02T05:00' } })
  fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-01-02T04:00' } })
  fireEvent.click(screen.getByRole('button', { name: 'Apply' }))
  expect(p.onRange).not.toHaveBeenCalled()
  expect(screen.getByRole('alert').textContent).toContain('must be after')
  fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-01-02T06:30' } })
  fireEvent.click(screen.getByRole('button', { name: 'Apply' }))
  expect(p.onRange).toHaveBeenCalledWith({ kind: 'custom', start: new Date('2026-01-02T05:00').getTime(), end: new Date('2026-01-02T06:30').getTime() })
  expect(screen.queryByRole('alert')).toBeNull()
})

test('the key filter: shown once the summary names keys, by name, the key id as its value', () => {
  const p = props()
  const { rerender } = render(<Header {...p} />)
  // AUTH_MODE=passthrough: no key was ever seen, no filter for it.
  expect(screen.queryByLabelText('Key')).toBeNull()
  rerender(<Header {...p} keys={[{ id: 'key_a', name: 'alice' }, { id: 'key_gone', name: null }]} />)
  const key = screen.getByLabelText('Key') as HTMLSelectElement
  expect([...key.options].map((o) => [o.value, o.textContent])).toEqual([['', 'All keys'], ['key_a', 'alice'], ['key_gone', 'key_gone (deleted)']])
  fireEvent.change(key, { target: { value: 'key_a' } })
  expect(p.onKey).toHaveBeenCalledWith('key_a')
  fireEvent.change(key, { target: { value: '' } })
  expect(p.onKey).toHaveBeenLastCalledWith(null)
  // A key from a shared address that no summary has named yet: chosen, by its id.
  rerender(<Header {...p} keyId="key_b" />)
  const shared = screen.getByLabelText('Key') as HTMLSelectElement
  expect(shared.value).toBe('key_b')
  expect(shared.options[shared.selectedIndex].textContent).toBe('key_b')
})
