import { z } from 'zod'

/** `GET /health` of the metrics API. */
export const MetricsHealth = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.object({
    engine: z.enum(['sqlite', 'postgres']),
    /** False until the proxy has created the file, or when it cannot be read. */
    readable: z.boolean(),
    schema_version: z.number().int().nullable(),
  }),
  version: z.string(),
})
export type MetricsHealth = z.infer<typeof MetricsHealth>
