import type { FilterQuery } from '@llm-proxy/core/contracts'
import type { ErrorSummary, ModelSummary, Summary } from '@llm-proxy/core/contracts'
import { EXACT_LIMIT } from '@llm-proxy/core'
import type { Snapshot } from '@llm-proxy/storage'
import { Agg, modelOf, type RawRow } from './aggregate.js'
import { scan } from './scan.js'
import { filterSql } from './plan.js'
import { iso, resolveWindow } from './window.js'

const TOP_USERS = 10

/**
 * `GET /metrics`: the whole window in one pass over rollups and edge rows. A window of at most
 * EXACT_LIMIT requests is read again from its raw rows, so its percentiles are exact.
 */
export async function getSummary(db: Snapshot | null, f: FilterQuery, now = Date.now()): Promise<Summary> {
  const w = await resolveWindow(db, f, now)
  const first = await summarize(db, f, w)
  if (!db || first.all.total === 0 || first.all.total > EXACT_LIMIT || first.all.exact) return first.answer
  const exact = await summarize(db, f, w, -1)
  // Retention may have removed raw rows the rollups still count: then the rollups answer.
  return exact.all.total === first.all.total ? exact.answer : first.answer
}

async function summarize(db: Snapshot | null, f: FilterQuery, w: Awaited<ReturnType<typeof resolveWindow>>, coarsest?: number): Promise<{ all: Agg; answer: Summary }> {
  const all = new Agg()
  const models = new Map<string, Agg>()
  const keys = new Map<string, Agg>()
  const keyAgg = (k: string) => {
    let a = keys.get(k)
    if (!a) keys.set(k, (a = new Agg(['latency', 'ttft'])))
    return a
  }
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
    await scan(db, f, w.scanStart, w.scanEnd, {
      raw(r: RawRow) {
        all.addRaw(r)
        modelAgg(modelOf(r)).addRaw(r)
        if (r.key_id) keyAgg(r.key_id).addRaw(r)
        if (r.user && usersFromRollups) users.set(r.user, (users.get(r.user) ?? 0) + 1)
        if (r.outcome !== 'success' && r.outcome !== 'cancelled') addError(r.error_type ?? r.outcome, r.status_code, 1, r.ts, r.error_message)
      },
      rollup(r) {
        all.addRollup(r)
        modelAgg(r.model).addRollup(r)
        if (r.key_id) keyAgg(r.key_id).addRollup(r)
      },
      user: usersFromRollups ? (user, n) => users.set(user, (users.get(user) ?? 0) + n) : undefined,
      error: (e) => addError(e.error_type, e.status_code || null, e.count, e.last_ts, e.last_message),
    }, coarsest)
    if (!usersFromRollups) {
      const { raw, params } = filterSql(f)
      const rows = await db.all<{ user: string; n: number }>(
        `SELECT "user", count(*) AS n FROM requests WHERE ts >= @from AND ts < @to AND "user" IS NOT NULL${raw} GROUP BY "user"`,
        { ...params, from: w.start, to: w.end },
      )
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
        prompt_tokens: a.tokens.prompt_tokens,
        completion_tokens: a.tokens.completion_tokens,
        total_tokens: a.tokens.total_tokens,
        cost_usd: a.costOrNull(),
      }
    })

  const names = db && keys.size > 0 ? new Map((await db.all<{ id: string; name: string }>('SELECT id, name FROM api_keys')).map((k) => [k.id, k.name])) : new Map<string, string>()
  const byKey = [...keys.entries()]
    .sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
    .map(([id, a]) => {
      const lat = a.measures.latency.stats()
      const ttft = a.measures.ttft.stats()
      return {
        key_id: id,
        key_name: names.get(id) ?? null,
        requests: a.total,
        failed: a.failed,
        success_rate: a.successRate(),
        latency_p50_ms: lat.p50,
        latency_p95_ms: lat.p95,
        ttft_p50_ms: ttft.p50,
        ttft_p95_ms: ttft.p95,
        prompt_tokens: a.tokens.prompt_tokens,
        completion_tokens: a.tokens.completion_tokens,
        total_tokens: a.tokens.total_tokens,
        cost_usd: a.costOrNull(1e6),
      }
    })

  const answer: Summary = {
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
    overhead_ms: all.measures.overhead.stats(),
    tokens: {
      prompt: all.tokens.prompt_tokens,
      completion: all.tokens.completion_tokens,
      total: all.tokens.total_tokens,
      cached: all.tokens.cached_tokens,
      reasoning: all.tokens.reasoning_tokens,
      requests_with_usage: all.withUsage,
      estimated: all.estimated,
    },
    cost_usd: all.costOrNull(),
    by_model: byModel,
    by_key: byKey,
    errors: [...errors.values()].sort((a, b) => b.count - a.count || b.lastTs - a.lastTs).map(({ lastTs: _, ...e }) => e),
    top_users: [...users.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_USERS).map(([user, requests]) => ({ user, requests })),
  }
  return { all, answer }
}
