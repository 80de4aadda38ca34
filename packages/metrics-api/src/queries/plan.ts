import { LEVELS, type LevelName } from '@llm-proxy/core'
import type { FilterQuery } from '@llm-proxy/core/contracts'

/** A piece of a time window read from one place: a rollup level, or the raw rows. */
export interface Segment {
  source: LevelName | 'raw'
  from: number
  to: number
}

/**
 * Covers [start, end) with the coarsest aligned rollup buckets that fit, and finer ones (down to raw
 * rows) at the ragged edges: 30 days read ~30 day rows, a few dozen hour and minute rows, and at most
 * two minutes of raw rows.
 */
export function planSegments(start: number, end: number, coarsest: number = LEVELS.length - 1, only?: ReadonlySet<string>): Segment[] {
  if (end <= start) return []
  if (coarsest < 0) return [{ source: 'raw', from: start, to: end }]
  const { name, ms } = LEVELS[coarsest]
  // `only`: the levels a rollup is kept at (saturation: hour and day); the others are skipped.
  if (only && !only.has(name)) return planSegments(start, end, coarsest - 1, only)
  const first = Math.ceil(start / ms) * ms
  const last = Math.floor(end / ms) * ms
  if (first >= last) return planSegments(start, end, coarsest - 1, only)
  return [...planSegments(start, first, coarsest - 1, only), { source: name, from: first, to: last }, ...planSegments(last, end, coarsest - 1, only)]
}

/** The filters as SQL for raw rows and for rollup rows, with named parameters. */
export function filterSql(f: FilterQuery): { raw: string; rollup: string; users: string; params: Record<string, unknown> } {
  const raw: string[] = []
  const rollup: string[] = []
  const users: string[] = []
  const params: Record<string, unknown> = {}
  if (f.model !== undefined) {
    raw.push("coalesce(model, model_requested, '') = @model")
    rollup.push('model = @model')
    users.push('model = @model')
    params.model = f.model
  }
  if (f.stream !== undefined) {
    raw.push('stream = @stream')
    rollup.push('stream = @stream')
    users.push('stream = @stream')
    params.stream = f.stream ? 1 : 0
  }
  if (f.outcome !== undefined) {
    raw.push('outcome = @outcome')
    rollup.push('outcome = @outcome')
    params.outcome = f.outcome
  }
  if (f.user !== undefined) {
    raw.push('"user" = @user')
    params.user = f.user
  }
  if (f.endpoint !== undefined) {
    raw.push('endpoint = @endpoint')
    params.endpoint = f.endpoint
  }
  if (f.key !== undefined) {
    raw.push('key_id = @key')
    rollup.push('key_id = @key')
    users.push('key_id = @key')
    params.key = f.key
  }
  const and = (parts: string[]) => parts.map((p) => ` AND ${p}`).join('')
  return { raw: and(raw), rollup: and(rollup), users: and(users), params }
}
