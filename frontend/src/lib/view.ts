import { RANGES, type RangeId, type TimeRange } from './time-range'

/**
 * What the dashboard shows, as it lives in the address bar, so a view can be bookmarked, shared
 * and walked with the browser's back and forward buttons:
 *   ?range=6h                           a relative range
 *   ?from=2026-01-02T03:00:00.000Z&to=… a fixed one (chosen by hand or by zooming into a chart)
 *   &model=llama3.2:1b                  one model; `model=` (empty) is the requests without one
 *   &endpoint=/v1/messages              one endpoint
 *   &stream=true|false                  streamed or not
 *   &key=key_3kq9Xw2LmP0a               one proxy key, by its id
 * No range in the address: the dashboard picks one that shows the data there is (`range: null`).
 */
export interface View {
  range: TimeRange | null
  /** null: every model; '': requests that named none. */
  model: string | null
  stream: '' | 'true' | 'false'
  /** '' : every endpoint. */
  endpoint: string
  /** A proxy key's id; null: every request, with a key or without. */
  key: string | null
}

export function viewFromSearch(search: string): View {
  const q = new URLSearchParams(search)
  let range: TimeRange | null = null
  const id = q.get('range')
  const from = Date.parse(q.get('from') ?? '')
  const to = Date.parse(q.get('to') ?? '')
  if (id && RANGES.some((r) => r.id === id)) range = { kind: 'relative', id: id as RangeId }
  else if (Number.isFinite(from) && Number.isFinite(to) && to > from) range = { kind: 'custom', start: from, end: to }
  const stream = q.get('stream')
  return { range, model: q.get('model'), stream: stream === 'true' || stream === 'false' ? stream : '', endpoint: q.get('endpoint') ?? '', key: q.get('key') || null }
}

export function searchFromView(v: View): string {
  const q = new URLSearchParams()
  if (v.range?.kind === 'relative') q.set('range', v.range.id)
  else if (v.range?.kind === 'custom') {
    q.set('from', new Date(v.range.start).toISOString())
    q.set('to', new Date(v.range.end).toISOString())
  }
  if (v.model !== null) q.set('model', v.model)
  if (v.endpoint) q.set('endpoint', v.endpoint)
  if (v.stream) q.set('stream', v.stream)
  if (v.key) q.set('key', v.key)
  const s = q.toString()
  return s ? `?${s}` : ''
}

/**
 * The range a first visit opens with: the shortest preset that reaches back to the newest request,
 * so a fresh install (a few minutes of data) is not a thin sliver at the edge of an hour, and data
 * from last week is not an empty "last hour". Nothing recorded: the shortest.
 */
export function rangeShowingData(lastSeen: number[], now: number): TimeRange {
  const newest = lastSeen.length ? Math.max(...lastSeen) : now
  const fit = RANGES.find((r) => now - newest < r.ms * 0.9) ?? RANGES[RANGES.length - 1]
  return { kind: 'relative', id: fit.id }
}
