import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { Snapshot } from '@llm-proxy/storage'
import { firstTs } from './scan.js'

export interface ResolvedWindow {
  start: number
  end: number
  /** False when the window was open and there is no data yet. */
  hasStart: boolean
  /**
   * The span to read: where no row can lie beyond an edge (no start given; an end at or after now),
   * the edge widens to a whole day so the rollups answer without reading the newest raw rows.
   */
  scanStart: number
  scanEnd: number
}

const DAY = 86_400_000

/** No `end` = now; no `start` = the first row there is. */
export async function resolveWindow(db: Snapshot | null, f: FilterQuery, now = Date.now()): Promise<ResolvedWindow> {
  const end = f.end ?? now
  const scanEnd = end >= now ? Math.ceil((end + 1) / DAY) * DAY : end
  if (f.start !== undefined) return { start: f.start, end, hasStart: true, scanStart: f.start, scanEnd }
  const first = db ? await firstTs(db) : null
  if (first === null) return { start: end, end, hasStart: false, scanStart: end, scanEnd: end }
  const start = Math.min(first, end)
  return { start, end, hasStart: true, scanStart: Math.floor(start / DAY) * DAY, scanEnd }
}

export const iso = (ms: number) => new Date(ms).toISOString()
