import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { ModelsList } from '@llm-proxy/core/contracts'
import type { Snapshot } from '@llm-proxy/storage'
import { modelOf } from './aggregate.js'
import { scan } from './scan.js'
import { iso, resolveWindow } from './window.js'

/** `GET /metrics/models`: models seen in the window (all time by default), busiest first. */
export async function getModels(db: Snapshot | null, f: FilterQuery, now = Date.now()): Promise<ModelsList> {
  const seen = new Map<string, { requests: number; last: number }>()
  const add = (model: string, n: number, ts: number) => {
    const m = seen.get(model) ?? { requests: 0, last: 0 }
    m.requests += n
    m.last = Math.max(m.last, ts)
    seen.set(model, m)
  }
  const w = await resolveWindow(db, f, now)
  if (db && w.end > w.start) {
    await scan(db, f, w.scanStart, w.scanEnd, { raw: (r) => add(modelOf(r), 1, r.ts), rollup: (r) => add(r.model, r.requests, r.last_ts) })
  }
  return {
    models: [...seen.entries()]
      .sort((a, b) => b[1].requests - a[1].requests || a[0].localeCompare(b[0]))
      .map(([model, m]) => ({ model, requests: m.requests, last_seen: iso(m.last) })),
  }
}
