// What the proxy's event loop and a storage thread (SQLite or PostgreSQL) say to each other.
import type { RequestRow } from '@llm-proxy/core'
import type { CaptureRecord } from './types.js'

export type KeyMethod = 'listKeys' | 'insertKey' | 'updateKey' | 'deleteKey' | 'syncCounters'
export type WorkerRequest =
  | { id: number; op: 'insert'; rows: RequestRow[] }
  | { id: number; op: 'deleteBefore'; beforeTs: number }
  | { id: number; op: 'keys'; method: KeyMethod; args: unknown[] }
  | { id: number; op: 'captures'; records: CaptureRecord[] }
  | { id: number; op: 'deleteCapturesBefore'; beforeTs: number }
  | { id: number; op: 'close' }
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'open-failed'; message: string; code?: string }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; message: string; code?: string; transient: boolean }
  | { type: 'log'; level: 'warn' | 'error' | 'info'; message: string; data?: Record<string, unknown> }
