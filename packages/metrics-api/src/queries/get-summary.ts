import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { ErrorSummary, ModelSummary, Summary } from '@llm-proxy/core/contracts'
import type Database from 'better-sqlite3'
import { Agg, modelOf, type RawRow } from './aggregate.js'
import { prepare, scan } from './scan.js'
import { iso, resolveWindow } from './window.js'

const TOP_USERS = 10

/** `GET /metrics`: the whole window in one pass over rollups and edge rows. */
export function getSummary(db: Database.Database | null, f: FilterQuery, now = Date.now()): Summary {
  const w = resolveWindow(db, f, now)
  const all = new Agg()
  const models = new Map<string, Agg>()
  const users = new Map<string, number>()
  const errors = new Map<string, ErrorSummary & { lastTs: number }>()
  const modelAgg = (m: string) => {
    let a = models.get(m)
    if (!a) models.set(m, (a = new Agg(['latency', 'ttft'])))
    return a
  }
  const addError = (type: string, status: number | null, count: number, ts: number, message: string | null) => {
    const key = `${type}\u0000${status}`
    const e = errors.get(key)
    if (!e) errors.set(key, { error_type: type, status_code: status, count, last_seen: iso(ts), last_message: message, lastTs: ts })
    else {
      e.count += count
      if (ts >= e.lastTs) Object.assign(e, { lastTs: ts, last_seen: iso(ts), last_message: message })
    }
  }
  // User rollups have no outcome; with that filter, count users from raw rows instead.
  const usersFromRollups = f.outcome === undefined

  if (db && w.end > w.start) {
    scan(db, f, w.scanStart, w.scanEnd, {
      raw(r: RawRow) {
        all.addRaw(r)
        modelAgg(modelOf(r)).addRaw(r)
        if (r.user && usersFromRollups) users.set(r.user, (users.get(r.user) ?? 0) + 1)
        if (r.outcome !== 'success' && r.outcome !== 'cancelled') addError(r.error_type ?? r.outcome, r.status_code, 1, r.ts, r.error_message)
      },
      rollup(r) {
        all.addRollup(r)
        modelAgg(r.model).addRollup(r)
      },
      user: usersFromRollups ? (_b, user, n) => users.set(user, (users.get(user) ?? 0) + n) : undefined,
      error: (e) => addError(e.error_type, e.status_code || null, e.count, e.last_ts, e.last_message),
    })
    if (!usersFromRollups) {
      const rows = prepare(
        db,
        `SELECT user, count(*) AS n FROM requests WHERE ts >= @from AND ts < @to AND user IS NOT NULL` +
          `${f.model !== undefined ? " AND coalesce(model, model_requested, '') = @model" : ''}` +
          `${f.stream !== undefined ? ' AND stream = @stream' : ''}${f.outcome !== undefined ? ' AND outcome = @outcome' : ''}` +
          `${f.user !== undefined ? ' AND user = @user' : ''}${f.endpoint !== undefined ? ' AND endpoint = @endpoint' : ''} GROUP BY user`,
      ).all({ from: w.start, to: w.end, model: f.model, stream: f.stream === undefined ? undefined : f.stream ? 1 : 0, outcome: f.outcome, user: f.user, endpoint: f.endpoint }) as { user: string; n: number }[]
      for (const r of rows) users.set(r.user, r.n)
    }
  }

  const byModel: ModelSummary[] = [...models.entries()]
    .filter(([, a]) => a.total > 0)
    .sort((a, b) => b[1].total - a[1].total)
    .map(([model, a]) => {
      const lat = a.measures.latency.stats()
      const ttft = a.measures.ttft.stats()
      return {
        model,
        requests: a.total,
        success_rate: a.successRate(),
        latency_p50_ms: lat.p50,
        latency_p95_ms: lat.p95,
        ttft_p50_ms: ttft.p50,
        ttft_p95_ms: ttft.p95,
        output_tps_avg: a.measures.tps.stats().avg,
        prompt_tokens: a.tokens.prompt,
        completion_tokens: a.tokens.completion,
        total_tokens: a.tokens.total,
        cost_usd: a.costUsd(),
      }
    })

  return {
    window: { start: w.hasStart ? iso(w.start) : null, end: iso(w.end) },
    requests: {
      total: all.total,
      success: all.outcomes.success,
      failed: all.failed,
      cancelled: all.outcomes.cancelled,
      success_rate: all.successRate(),
      streaming: all.streaming,
    },
    latency_ms: all.measures.latency.stats(),
    ttft_ms: all.measures.ttft.stats(),
    tpot_ms: all.measures.tpot.stats(),
    output_tps: all.measures.tps.stats(),
    tokens: { ...all.tokens },
    cost: { usd: all.costUsd(), requests_with_cost: all.cost.requests },
    by_model: byModel,
    errors: [...errors.values()].sort((a, b) => b.count - a.count || b.lastTs - a.lastTs).map(({ lastTs: _, ...e }) => e),
    top_users: [...users.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_USERS).map(([user, requests]) => ({ user, requests })),
  }
}
