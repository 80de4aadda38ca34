import { z } from 'zod'
import { IsoTime, OutcomeSchema } from './common.js'
import { ROW_COLUMNS, ROW_FIELDS, type RowColumn } from './row-fields.js'

export { ROW_FIELDS, ROW_COLUMNS, BOOL_COLUMNS, type FieldKind, type RowColumn } from './row-fields.js'

const kinds = {
  text: z.string(),
  int: z.number().int(),
  real: z.number(),
  bool: z.boolean(),
  time: IsoTime,
  outcome: OutcomeSchema,
}
type KindSchema = typeof kinds
type Shape = {
  [C in RowColumn]: (typeof ROW_FIELDS)[C][1] extends true ? z.ZodNullable<KindSchema[(typeof ROW_FIELDS)[C][0]]> : KindSchema[(typeof ROW_FIELDS)[C][0]]
}

/** One recorded request as the API returns it: every stored field, `ts` as ISO 8601. */
export const RequestRecord = z.object(
  Object.fromEntries(ROW_COLUMNS.map((c) => {
    const [kind, nullable] = ROW_FIELDS[c]
    return [c, nullable ? kinds[kind].nullable() : kinds[kind]]
  })) as unknown as Shape,
)
export type RequestRecord = z.infer<typeof RequestRecord>

/** One metered request as stored: the record with `ts` in UTC epoch ms. Times in ms. */
export type RequestRow = Omit<RequestRecord, 'ts'> & { ts: number }
