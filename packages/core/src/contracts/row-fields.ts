// Free of zod: see outcomes.ts.

/**
 * The one definition of a request row: every column, its kind and whether it may be null. The
 * stored row type, the API record, the insert statements and the CSV header all derive from it.
 * Order is the CSV column order. DESIGN: a migration adds the column to each engine's table.
 */
export const ROW_FIELDS = {
  id: ['text', false],
  ts: ['time', false],
  endpoint: ['text', false],
  stream: ['bool', false],
  model_requested: ['text', true],
  model: ['text', true],
  status_code: ['int', true],
  outcome: ['outcome', false],
  error_type: ['text', true],
  error_message: ['text', true],
  finish_reason: ['text', true],
  ttft_ms: ['real', true],
  ttlt_ms: ['real', true],
  total_ms: ['real', false],
  tpot_ms: ['real', true],
  output_tps: ['real', true],
  prompt_tokens: ['int', true],
  completion_tokens: ['int', true],
  total_tokens: ['int', true],
  cached_tokens: ['int', true],
  reasoning_tokens: ['int', true],
  tokens_estimated: ['bool', false],
  client_ip: ['text', true],
  user: ['text', true],
  user_agent: ['text', true],
  chunk_count: ['int', true],
  request_bytes: ['int', false],
  response_bytes: ['int', false],
  key_id: ['text', true],
  cost_usd: ['real', true],
  overhead_ms: ['real', true],
  inflight: ['int', true],
} as const satisfies Record<string, readonly [FieldKind, boolean]>

export type FieldKind = 'text' | 'int' | 'real' | 'bool' | 'time' | 'outcome'
export type RowColumn = keyof typeof ROW_FIELDS
export const ROW_COLUMNS = Object.keys(ROW_FIELDS) as RowColumn[]
/** Columns stored as 0/1 integers (SQLite has no booleans; PostgreSQL keeps the same shape). */
export const BOOL_COLUMNS = ROW_COLUMNS.filter((c) => ROW_FIELDS[c][0] === 'bool')
