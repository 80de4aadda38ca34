export const RANGES = [
  { id: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const

export type RangeId = (typeof RANGES)[number]['id']

/** A relative range (moves with time) or a fixed one chosen on a chart or by hand. */
export type TimeRange = { kind: 'relative'; id: RangeId } | { kind: 'custom'; start: number; end: number }

export interface Window {
  start: number
  end: number
}

export function resolveRange(range: TimeRange, now: number): Window {
  if (range.kind === 'custom') return { start: range.start, end: range.end }
  const ms = RANGES.find((r) => r.id === range.id)!.ms
  return { start: now - ms, end: now }
}

/** The window of the same length just before, for "change against the previous window". */
export function previousWindow(w: Window): Window {
  return { start: w.start - (w.end - w.start), end: w.start }
}

/** Browser `datetime-local` value ↔ epoch ms (local time). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}
export function fromLocalInput(value: string): number | null {
  const ms = new Date(value).getTime()
  return Number.isNaN(ms) ? null : ms
}
