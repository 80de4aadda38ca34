import { z } from 'zod'
import { RequestRecord as StoredRecord } from './row.js'

/** A recorded request as the API returns it: every stored field, plus the name of its key. */
export const RequestRecord = StoredRecord.extend({ key_name: z.string().nullable() })
export type RequestRecord = z.infer<typeof RequestRecord>

/** `GET /metrics/requests`: newest first; pass `next_cursor` back as `cursor` for the next page. */
export const RequestsPage = z.object({
  data: z.array(RequestRecord),
  next_cursor: z.string().nullable(),
})
export type RequestsPage = z.infer<typeof RequestsPage>
