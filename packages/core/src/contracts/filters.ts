import { z } from 'zod'
import { OutcomeSchema } from './common.js'

/**
 * A point in time as a query parameter: epoch milliseconds, or ISO 8601 with a `Z` or an offset.
 * Parsed to epoch ms.
 */
/** The last millisecond of year 9999: later times cannot be written back as ISO 8601. */
export const MAX_TIME_MS = 253_402_300_799_999

export const TimeParam = z.string().transform((value, ctx) => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  }
  if (/^\d{1,16}$/.test(value)) {
    const ms = Number(value)
    return ms <= MAX_TIME_MS ? ms : fail('expected a time before the year 10000')
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i.exec(value)
  const ms = iso ? Date.parse(value) : NaN
  if (!iso || Number.isNaN(ms)) return fail('expected epoch milliseconds or ISO 8601 with a time zone, e.g. 2026-01-31T12:00:00Z')
  // Date.parse rolls 2026-02-30 over into March; a day or time that does not exist is refused.
  const [y, mo, d, hh = '0', mm = '0', ss = '0'] = [iso[1], iso[2], iso[3], iso[5], iso[6], iso[8]]
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)))
  if (day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d) || Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) {
    return fail(`${value.slice(0, 10)} is not a date that exists`)
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
  /** The metered path, e.g. `/v1/messages`. Aggregates filtered by endpoint are computed from raw rows (rollups are not kept per endpoint). */
  endpoint: z.string().regex(/^\/v1\/[a-z/]+$/, 'expected an endpoint path, e.g. /v1/chat/completions').optional(),
  /** A proxy key's id. */
  key: z.string().min(1, 'expected a key id').optional(),
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
  // Digits only: Number() would also take 0x10, 1e2 or ' 5'.
  limit: z.string().regex(/^\d{1,4}$/, 'expected a whole number from 1 to 500').transform(Number)
    .pipe(z.number().min(1, 'expected a whole number from 1 to 500').max(500, 'expected a whole number from 1 to 500')).default(50),
  cursor: z.string().min(1).optional(),
})
export type RequestsQuery = z.infer<typeof RequestsQuery>
