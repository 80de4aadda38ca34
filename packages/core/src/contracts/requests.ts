import { z } from 'zod'
import { RequestRecord } from './row.js'

export { RequestRecord }

/** `GET /metrics/requests`: newest first; pass `next_cursor` back as `cursor` for the next page. */
export const RequestsPage = z.object({
  data: z.array(RequestRecord),
  next_cursor: z.string().nullable(),
})
export type RequestsPage = z.infer<typeof RequestsPage>
