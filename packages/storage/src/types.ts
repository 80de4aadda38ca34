import type { RequestRow } from '@llm-proxy/core'

export type Engine = 'sqlite' | 'postgres'

/**
 * Where the proxy's rows go: one call per batch, one transaction per call (rows and their rollups
 * together). Never blocks the event loop: SQLite writes run in a worker thread, PostgreSQL's are
 * asynchronous.
 */
export interface RowSink {
  readonly engine: Engine
  insertBatch(rows: readonly RequestRow[]): Promise<void>
  /** Deletes raw rows older than `beforeTs`; rollups are kept. Returns the rows deleted. */
  deleteBefore(beforeTs: number): Promise<number>
  /** Proxy keys and their counters (the admin API and AUTH_MODE=keys). */
  readonly keys: KeyStore
  /** Captured content (CAPTURE), apart from the rows. */
  readonly captures: CaptureStore
  close(): Promise<void>
}

/** One captured request as stored: both sides already redacted and cut, as JSON text. */
export interface CaptureRecord {
  request_id: string
  ts: number
  endpoint: string
  key_id: string | null
  redaction: 'pii' | 'off'
  /** JSON of CapturedRequest. */
  request: string
  /** JSON of CapturedResponse. */
  response: string
}

/** Captured content, keyed by request id; its own retention (CAPTURE_RETENTION_DAYS). */
export interface CaptureStore {
  insert(records: readonly CaptureRecord[]): Promise<void>
  /** Deletes captures older than `beforeTs`; returns how many. */
  deleteBefore(beforeTs: number): Promise<number>
}

/** A consistent read: every query in one snapshot sees the same committed batches. */
export interface Snapshot {
  /**
   * Runs portable SQL: named parameters as `@name`, identifiers that are keywords double-quoted
   * (`"user"`). Integers come back as numbers, histograms as int32-pair buffers, on both engines.
   */
  all<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>
  /**
   * The same rows, reused from an earlier read while `fingerprintSql` (same parameters, one row of
   * aggregates over the same rows) answers the same: for history that no longer changes. The rows
   * are shared between reads: read them, never change them.
   */
  allCached<T>(sql: string, params: Record<string, unknown>, fingerprintSql: string): Promise<readonly T[]>
}

/** The metrics API's side: read-only. */
export interface MetricsReader {
  readonly engine: Engine
  /** The schema version, or null while there is no database or schema yet. */
  schemaVersion(): Promise<number | null>
  /** One consistent snapshot per answer; null while there is nothing to read yet. */
  read<T>(fn: (s: Snapshot | null) => Promise<T>): Promise<T>
  /** A long read (CSV export) row by row, on its own connection. */
  stream<T>(sql: string, params?: Record<string, unknown>): AsyncIterable<T>
  close(): Promise<void>
}

/**
 * Storage is down or refuses writes for now (locked, full, unreachable); the writer keeps the rows
 * and retries. Any other error is about the rows themselves.
 */
export class TransientStorageError extends Error {
  readonly transient = true
  constructor(message: string, readonly code: string | undefined, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TransientStorageError'
  }
}

/** The database cannot be read right now (the metrics API answers 503). */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageUnavailableError'
  }
}

export const isTransient = (err: unknown): boolean => (err as { transient?: boolean } | null)?.transient === true

/** A proxy key as stored: the secret's SHA-256 only; times in epoch ms. */
export interface KeyRecord {
  id: string
  name: string
  owner: string | null
  hash: string
  display: string
  created_at: number
  updated_at: number
  expires_at: number | null
  revoked_at: number | null
  rpm: number | null
  tpm: number | null
  budget_tokens: number | null
  budget_usd: number | null
  budget_period: 'day' | 'month'
  /** JSON array of model globs, or null for every model. */
  models: string | null
  /** AES-256-GCM with SECRET_KEY, base64 (iv | tag | ciphertext). */
  upstream_key_enc: string | null
  capture: 'inherit' | 'off' | 'errors' | 'all'
}

/** One replica's count for one key and window (`minute`, `day` or `month`, by its start). */
export interface KeyCounter {
  key_id: string
  kind: 'minute' | 'day' | 'month'
  window_start: number
  requests: number
  tokens: number
  cost_usd: number
}

/** Keys and their counters, in the same database as the rows. */
export interface KeyStore {
  listKeys(): Promise<KeyRecord[]>
  insertKey(key: KeyRecord): Promise<void>
  /** Changes the given fields; null when there is no such key. */
  updateKey(id: string, patch: Partial<Omit<KeyRecord, 'id'>>): Promise<KeyRecord | null>
  deleteKey(id: string): Promise<boolean>
  /**
   * Stores this replica's counters (absolute values) and returns the sums of every replica's for
   * the windows asked about (`others` leaves this replica out).
   */
  syncCounters(replica: string, mine: readonly KeyCounter[], windows: readonly { kind: KeyCounter['kind']; start: number }[], scope: 'others' | 'all'): Promise<KeyCounter[]>
}
