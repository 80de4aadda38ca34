import type { FilterQuery } from '@llm-proxy/core/contracts'
import type Database from 'better-sqlite3'
import { firstTs } from './scan.js'

export interface ResolvedWindow {
  start: number
  end: number
  /** False when the window was open and there is no data yet. */
  hasStart: boolean
}

/** No `end` = now; no `start` = the first row there is. */
export function resolveWindow(db: Database.Database | null, f: FilterQuery, now = Date.now()): ResolvedWindow {
  const end = f.end ?? now
  if (f.start !== undefined) return { start: f.start, end, hasStart: true }
  const first = db ? firstTs(db) : null
  return first === null ? { start: end, end, hasStart: false } : { start: Math.min(first, end), end, hasStart: true }
}

export const iso = (ms: number) => new Date(ms).toISOString()
