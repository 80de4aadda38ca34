import { z } from 'zod'
import { IsoTime } from './common.js'

/** `GET /metrics/models`: every model seen, busiest first. */
export const ModelsList = z.object({
  models: z.array(z.object({ model: z.string(), requests: z.number().int(), last_seen: IsoTime })),
})
export type ModelsList = z.infer<typeof ModelsList>
