import type { ApiKeyView } from '@llm-proxy/core/contracts'
import type { KeyRecord } from '@llm-proxy/storage/sink'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** A stored key as every API shows it: never its secret or hash, never its upstream key. */
export function toView(rec: KeyRecord, now = Date.now()): ApiKeyView {
  return {
    id: rec.id,
    name: rec.name,
    owner: rec.owner,
    display: rec.display,
    status: rec.revoked_at !== null ? 'revoked' : rec.expires_at !== null && rec.expires_at <= now ? 'expired' : 'active',
    created_at: iso(rec.created_at)!,
    updated_at: iso(rec.updated_at)!,
    expires_at: iso(rec.expires_at),
    revoked_at: iso(rec.revoked_at),
    limits: { rpm: rec.rpm, tpm: rec.tpm, budget_tokens: rec.budget_tokens, budget_usd: rec.budget_usd, budget_period: rec.budget_period },
    models: rec.models ? (JSON.parse(rec.models) as string[]) : null,
    capture: rec.capture,
    has_upstream_key: rec.upstream_key_enc !== null,
  }
}
