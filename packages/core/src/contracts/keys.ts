import { z } from 'zod'
import { IsoTime } from './common.js'

/** What a proxy key may do; null means no limit. Budgets are per calendar day or month (UTC). */
export const KeyLimits = z.object({
  rpm: z.number().int().positive().nullable(),
  tpm: z.number().int().positive().nullable(),
  budget_tokens: z.number().int().positive().nullable(),
  budget_usd: z.number().positive().nullable(),
  budget_period: z.enum(['day', 'month']),
})
export type KeyLimits = z.infer<typeof KeyLimits>
export const NO_LIMITS: KeyLimits = { rpm: null, tpm: null, budget_tokens: null, budget_usd: null, budget_period: 'month' }

export const CAPTURE_POLICIES = ['inherit', 'off', 'errors', 'all'] as const
export const CapturePolicy = z.enum(CAPTURE_POLICIES)
export type CapturePolicy = z.infer<typeof CapturePolicy>

/** A key as every API shows it: never its secret, never its upstream key. */
export const ApiKeyView = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string().nullable(),
  /** `lmp-AbCd…WxYz`: enough to recognise a key, not to use it. */
  display: z.string(),
  status: z.enum(['active', 'expired', 'revoked']),
  created_at: IsoTime,
  updated_at: IsoTime,
  expires_at: IsoTime.nullable(),
  revoked_at: IsoTime.nullable(),
  limits: KeyLimits,
  /** Model globs the key may use (`llama*`, `gpt-4o`); null: every model. */
  models: z.array(z.string()).nullable(),
  capture: CapturePolicy,
  has_upstream_key: z.boolean(),
})
export type ApiKeyView = z.infer<typeof ApiKeyView>

/** Returned once, at creation and rotation: the only time the secret is shown. */
export const CreatedKey = ApiKeyView.extend({ secret: z.string() })
export type CreatedKey = z.infer<typeof CreatedKey>

const Expiry = z.string().regex(/^\d+[mhdw]$/, 'expected a duration such as 30d, 12h, 90m or 2w')
const Glob = z.string().min(1).max(200)

/** `POST /admin/keys`. */
export const CreateKeyBody = z
  .object({
    name: z.string().trim().min(1, 'expected a name').max(100),
    owner: z.string().trim().max(100).nullable().optional(),
    expires_at: IsoTime.nullable().optional(),
    expires_in: Expiry.optional(),
    limits: KeyLimits.partial().optional(),
    models: z.array(Glob).max(100).nullable().optional(),
    upstream_key: z.string().min(1).max(500).nullable().optional(),
    capture: CapturePolicy.optional(),
  })
  .strict()
export type CreateKeyBody = z.infer<typeof CreateKeyBody>

/** `PATCH /admin/keys/:id`: only what changes. */
export const UpdateKeyBody = CreateKeyBody.partial().strict()
export type UpdateKeyBody = z.infer<typeof UpdateKeyBody>

/** Spend against the key's limits; counts cover every proxy sharing the database. */
export const KeyUsage = z.object({
  key: ApiKeyView,
  period: z.object({ start: IsoTime, end: IsoTime }),
  requests: z.number().int(),
  tokens: z.number().int(),
  cost_usd: z.number(),
  budget_remaining_tokens: z.number().int().nullable(),
  budget_remaining_usd: z.number().nullable(),
  this_minute: z.object({ requests: z.number().int(), tokens: z.number().int() }),
})
export type KeyUsage = z.infer<typeof KeyUsage>

export const KeyList = z.object({ data: z.array(ApiKeyView) })
export type KeyList = z.infer<typeof KeyList>

/** `30d` → milliseconds. */
export function parseDuration(v: string): number {
  const n = Number(v.slice(0, -1))
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[v.slice(-1) as 'm' | 'h' | 'd' | 'w']
  return n * unit
}
