import type { CaptureRecord } from './types.js'

/** The capture store's SQL, written once for both engines (named `@parameters`). */
export const CAPTURE_COLUMNS = ['request_id', 'ts', 'endpoint', 'key_id', 'redaction', 'request', 'response'] as const satisfies readonly (keyof CaptureRecord)[]

export const CAPTURE_SQL = {
  // A retried write whose first attempt landed must not fail the batch.
  insert: `INSERT INTO captures (${CAPTURE_COLUMNS.join(', ')}) VALUES (${CAPTURE_COLUMNS.map((c) => '@' + c).join(', ')}) ON CONFLICT (request_id) DO NOTHING`,
  deleteBefore: 'DELETE FROM captures WHERE ts < @before',
  get: `SELECT ${CAPTURE_COLUMNS.join(', ')} FROM captures WHERE request_id = @id`,
}

/** The table, the same on both engines (text and bigint-compatible integers). */
export const capturesDdl = (int: string) => `
  CREATE TABLE captures (
    request_id text PRIMARY KEY, ts ${int} NOT NULL, endpoint text NOT NULL, key_id text,
    redaction text NOT NULL, request text NOT NULL, response text NOT NULL
  );
  CREATE INDEX captures_ts ON captures (ts);`
