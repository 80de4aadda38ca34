export { ROW_COLUMNS, ROW_FIELDS, BOOL_COLUMNS, type RowColumn, type FieldKind } from './contracts/row-fields.js'
export type { RequestRow } from './contracts/row.js'

import type { Outcome } from './contracts/outcomes.js'
export { OUTCOMES, type Outcome } from './contracts/outcomes.js'

/** Outcomes that count as failures in `success_rate`. Cancelled requests are reported apart. */
export const FAILED_OUTCOMES: readonly Outcome[] = ['client_error', 'backend_error', 'network_error']

export const METERED_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/messages'] as const
export type MeteredEndpoint = (typeof METERED_ENDPOINTS)[number]
