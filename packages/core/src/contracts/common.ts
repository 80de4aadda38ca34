import { z } from 'zod'
import { OUTCOMES } from './outcomes.js'

export { OUTCOMES, type Outcome } from './outcomes.js'
export const OutcomeSchema = z.enum(OUTCOMES, { error: `expected one of ${OUTCOMES.join(', ')}` })

/** ISO 8601 UTC with `Z`, as every API response carries times. */
export const IsoTime = z.iso.datetime()

/** Aggregate of one measure; every field is null when no request in the window has the measure. */
export const Stats = z.object({
  avg: z.number().nullable(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  max: z.number().nullable(),
})
export type Stats = z.infer<typeof Stats>

export const Window = z.object({ start: IsoTime.nullable(), end: IsoTime })
export type Window = z.infer<typeof Window>

/** OpenAI-style error body, used by the proxy and the metrics API alike. */
export const ApiError = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
})
export type ApiError = z.infer<typeof ApiError>
