// Free of zod on purpose, as are row-fields.ts and saturation-levels.ts: the storage writer thread
// needs these and nothing else, and zod costs each thread that loads it about 10 MB.

/** How a request ended; see docs/technical/metrics.md. */
export const OUTCOMES = ['success', 'cancelled', 'client_error', 'backend_error', 'network_error'] as const
export type Outcome = (typeof OUTCOMES)[number]
