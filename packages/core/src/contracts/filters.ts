import { z } from 'zod'
import { OutcomeSchema } from './common.js'

/**
 * A point in time as a query parameter: epoch milliseconds, or ISO 8601 with a `Z` or an offset.
 * Parsed to epoch ms.
 */
export const TimeParam = z.string().transform((value, ctx) => {
  if (/^\d{1,16}$/.test(value)) return Number(value)
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i
  const ms = iso.test(value) ? Date.parse(value) : NaN
  if (Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected epoch milliseconds or ISO 8601 with a time zone, e.g. 2026-01-31T12:00:00Z',
    })
    return z.NEVER
  }
  return ms
})

const BoolParam = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true')

/** Filters every list and aggregate endpoint accepts. */
export const FilterQuery = z.object({
  start: TimeParam.optional(),
  end: TimeParam.optional(),
  /** A model name; empty (`model=`) selects the requests that named no model (malformed JSON, say). */
  model: z.string().optional(),
  stream: BoolParam.optional(),
  outcome: OutcomeSchema.optional(),
  user: z.string().min(1, 'expected a user').optional(),
})
export type FilterQuery = z.infer<typeof FilterQuery>

export const BUCKETS = ['auto', '1m', '5m', '15m', '1h', '1d'] as const
export const BucketSchema = z.enum(BUCKETS, { error: `expected one of ${BUCKETS.join(', ')}` })
export type Bucket = z.infer<typeof BucketSchema>

/** Every bucket size a series may come back in: the ones a client can ask for, and those `auto` adds. */
export const BUCKET_SIZES = ['1m', '2m', '5m', '10m', '15m', '30m', '1h', '2h', '3h', '6h', '12h', '1d'] as const
export type BucketSize = (typeof BUCKET_SIZES)[number]

export const TimeseriesQuery = FilterQuery.extend({ bucket: BucketSchema.default('auto') })
export type TimeseriesQuery = z.infer<typeof TimeseriesQuery>

export const RequestsQuery = FilterQuery.extend({
  limit: z.coerce.number({ error: 'expected a whole number from 1 to 500' }).int('expected a whole number from 1 to 500').min(1, 'expected a whole number from 1 to 500').max(500, 'expected a whole number from 1 to 500').default(50),
  cursor: z.string().min(1).optional(),
})
export type RequestsQuery = z.infer<typeof RequestsQuery>
