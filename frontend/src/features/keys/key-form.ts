import type { ApiKeyView, CapturePolicy, CreateKeyBody } from '@llm-proxy/core/contracts'
import { i18n } from '../../i18n'
import { formatCount, formatUsd } from '../../lib/format'
import { fromLocalInput, toLocalInput } from '../../lib/time-range'

/** The create/edit form as typed: every field a string until it is sent. */
export interface KeyForm {
  name: string
  owner: string
  rpm: string
  tpm: string
  budget_tokens: string
  budget_usd: string
  budget_period: 'day' | 'month'
  /** Comma- or line-separated model globs; empty: every model. */
  models: string
  /** datetime-local, the browser's time zone; empty: never. */
  expires: string
  capture: CapturePolicy
}

export function formFromKey(k?: ApiKeyView): KeyForm {
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v))
  return {
    name: k?.name ?? '',
    owner: k?.owner ?? '',
    rpm: n(k?.limits.rpm),
    tpm: n(k?.limits.tpm),
    budget_tokens: n(k?.limits.budget_tokens),
    budget_usd: n(k?.limits.budget_usd),
    budget_period: k?.limits.budget_period ?? 'month',
    models: k?.models?.join(', ') ?? '',
    expires: k?.expires_at ? toLocalInput(Date.parse(k.expires_at)) : '',
    capture: k?.capture ?? 'inherit',
  }
}

/**
 * The body for `POST /admin/keys` and `PATCH /admin/keys/:id` (the same fields: an edit sends them
 * all, an empty one meaning "none"), or the first field that is wrong and why.
 */
export function bodyFromForm(f: KeyForm): { body: CreateKeyBody } | { field: keyof KeyForm; error: string } {
  if (!f.name.trim()) return { field: 'name', error: i18n.t('keys.form.errName') }
  const int = (field: 'rpm' | 'tpm' | 'budget_tokens') => {
    const v = f[field].trim()
    if (!v) return null
    return /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : field
  }
  const limits = { rpm: int('rpm'), tpm: int('tpm'), budget_tokens: int('budget_tokens') }
  for (const [field, v] of Object.entries(limits)) if (typeof v === 'string') return { field: field as keyof KeyForm, error: i18n.t('keys.form.errWhole') }
  const usd = f.budget_usd.trim()
  if (usd && !(Number(usd) > 0)) return { field: 'budget_usd', error: i18n.t('keys.form.errUsd') }
  let expires_at: string | null = null
  if (f.expires) {
    const ms = fromLocalInput(f.expires)
    if (ms === null) return { field: 'expires', error: i18n.t('keys.form.errDate') }
    expires_at = new Date(ms).toISOString()
  }
  const models = f.models.split(/[,\n]/).map((m) => m.trim()).filter(Boolean)
  return {
    body: {
      name: f.name.trim(),
      owner: f.owner.trim() || null,
      limits: { ...(limits as Record<'rpm' | 'tpm' | 'budget_tokens', number | null>), budget_usd: usd ? Number(usd) : null, budget_period: f.budget_period },
      models: models.length ? models : null,
      expires_at,
      capture: f.capture,
    },
  }
}

/** `60 rpm · 10K tpm · 1M tokens/month`; "None" when the key has no limit. */
export function limitsText(k: ApiKeyView): string {
  const l = k.limits
  const parts = [
    l.rpm !== null && `${formatCount(l.rpm)} rpm`,
    l.tpm !== null && `${formatCount(l.tpm)} tpm`,
    l.budget_tokens !== null && i18n.t(`keys.limits.tokensPer_${l.budget_period}`, { tokens: formatCount(l.budget_tokens) }),
    l.budget_usd !== null && i18n.t(`keys.limits.usdPer_${l.budget_period}`, { usd: formatUsd(l.budget_usd) }),
  ].filter(Boolean)
  return parts.length ? parts.join(' · ') : i18n.t('keys.limits.none')
}
