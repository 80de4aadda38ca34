import type { KeyCounter, KeyRecord } from './types.js'

/** The key store's SQL, written once for both engines (named `@parameters`). */
export const KEY_COLUMNS = [
  'id', 'name', 'owner', 'hash', 'display', 'created_at', 'updated_at', 'expires_at', 'revoked_at', 'rpm', 'tpm',
  'budget_tokens', 'budget_usd', 'budget_period', 'models', 'upstream_key_enc', 'capture',
] as const satisfies readonly (keyof KeyRecord)[]

export const KEY_SQL = {
  list: 'SELECT * FROM api_keys ORDER BY created_at, id',
  get: 'SELECT * FROM api_keys WHERE id = @id',
  insert: `INSERT INTO api_keys (${KEY_COLUMNS.join(', ')}) VALUES (${KEY_COLUMNS.map((c) => '@' + c).join(', ')})`,
  update: (fields: readonly string[]) => `UPDATE api_keys SET ${fields.map((f) => `${f} = @${f}`).join(', ')} WHERE id = @id`,
  delete: 'DELETE FROM api_keys WHERE id = @id',
  deleteCounters: 'DELETE FROM key_counters WHERE key_id = @id',
  upsertCounter: `INSERT INTO key_counters (key_id, kind, window_start, replica, requests, tokens, cost_usd, updated_at)
    VALUES (@key_id, @kind, @window_start, @replica, @requests, @tokens, @cost_usd, @updated_at)
    ON CONFLICT (key_id, kind, window_start, replica) DO UPDATE SET
      requests = excluded.requests, tokens = excluded.tokens, cost_usd = excluded.cost_usd, updated_at = excluded.updated_at`,
  upsertCounters: (tuples: string) => `INSERT INTO key_counters (key_id, kind, window_start, replica, requests, tokens, cost_usd, updated_at)
    VALUES ${tuples}
    ON CONFLICT (key_id, kind, window_start, replica) DO UPDATE SET
      requests = excluded.requests, tokens = excluded.tokens, cost_usd = excluded.cost_usd, updated_at = excluded.updated_at`,
  /** Old windows are of no use to anyone: minutes after an hour, days and months after two periods. */
  prune: `DELETE FROM key_counters WHERE (kind = 'minute' AND window_start < @minute) OR (kind = 'day' AND window_start < @day) OR (kind = 'month' AND window_start < @month)`,
  sums: (windows: number, scope: 'others' | 'all') => `SELECT key_id, kind, window_start, sum(requests) AS requests, sum(tokens) AS tokens, sum(cost_usd) AS cost_usd
    FROM key_counters WHERE (${Array.from({ length: windows }, (_, i) => `(kind = @k${i} AND window_start = @s${i})`).join(' OR ')})
    ${scope === 'others' ? 'AND replica <> @replica' : ''} GROUP BY key_id, kind, window_start`,
}

export function windowParams(replica: string, windows: readonly { kind: string; start: number }[]): Record<string, unknown> {
  const p: Record<string, unknown> = { replica }
  windows.forEach((w, i) => ((p[`k${i}`] = w.kind), (p[`s${i}`] = w.start)))
  return p
}

export function pruneParams(now: number): Record<string, unknown> {
  return { minute: now - 3_600_000, day: now - 3 * 86_400_000, month: now - 70 * 86_400_000 }
}

export const toCounter = (r: Record<string, unknown>): KeyCounter => ({
  key_id: String(r.key_id), kind: r.kind as KeyCounter['kind'], window_start: Number(r.window_start),
  requests: Number(r.requests), tokens: Number(r.tokens), cost_usd: Number(r.cost_usd),
})
