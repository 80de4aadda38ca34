// The SQLite writer thread: the proxy's event loop only posts batches here, so a slow disk, a lock
// held by another process or a batch with its rollups never delays a request.
import type Database from 'better-sqlite3'
import { statSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { openWriterDb } from './open.js'
import { createSqliteCaptures } from './captures.js'
import { createSqliteKeys } from './keys.js'
import type { WorkerReply, WorkerRequest } from '../sink-worker-protocol.js'
import { createSqliteStore, type SqliteStore } from './store.js'
import { lowerThreadPriority } from '../thread-priority.js'

const { file, nice } = workerData as { file: string; nice: number }
lowerThreadPriority(nice)
const port = parentPort!
const post = (m: WorkerReply) => port.postMessage(m)

/** Errors worth retrying: the database is busy, full, gone or not writable right now. */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL|READONLY|NOTADB|CORRUPT)/

let db: Database.Database | null = null
let store: SqliteStore | null = null
let keys: ReturnType<typeof createSqliteKeys> | null = null
let captures: ReturnType<typeof createSqliteCaptures> | null = null
let identity: string | null = null

const identityOf = (): string | null => {
  if (file === ':memory:') return 'memory'
  try {
    const s = statSync(file)
    return `${s.dev}:${s.ino}`
  } catch {
    return null
  }
}

function open(): void {
  db = openWriterDb(file)
  store = createSqliteStore(db)
  keys = createSqliteKeys(db)
  captures = createSqliteCaptures(db)
  identity = identityOf()
}

function closeDb(): void {
  try {
    db?.close()
  } catch {}
  db = null
  store = null
  keys = null
  captures = null
}

/** The file deleted or replaced under us would swallow every later row: notice it and start anew. */
function ensureOpen(): SqliteStore {
  if (store && identityOf() !== identity) {
    post({ type: 'log', level: 'error', message: 'the database file was deleted or replaced while in use; creating it again (rows already written to the old file are not in the new one)', data: { file } })
    closeDb()
  }
  if (!store) open()
  return store!
}

try {
  open()
  post({ type: 'ready' })
} catch (err) {
  const e = err as { message: string; code?: string }
  post({ type: 'open-failed', message: e.message, code: e.code })
}

port.on('message', (m: WorkerRequest) => {
  try {
    let value: unknown = null
    if (m.op === 'insert') {
      // Booleans survive structured clone; nothing else to convert.
      ensureOpen().insertBatch(m.rows)
    } else if (m.op === 'deleteBefore') value = ensureOpen().deleteBefore(m.beforeTs)
    else if (m.op === 'keys') {
      ensureOpen()
      value = (keys![m.method] as (...a: unknown[]) => unknown)(...m.args)
    }
    else if (m.op === 'captures') {
      ensureOpen()
      captures!.insert(m.records)
    } else if (m.op === 'deleteCapturesBefore') {
      ensureOpen()
      value = captures!.deleteBefore(m.beforeTs)
    } else if (m.op === 'close') closeDb()
    post({ type: 'result', id: m.id, ok: true, value })
  } catch (err) {
    const e = err as { message: string; code?: string }
    const transient = TRANSIENT.test(e.code ?? '') || /unable to open|readonly|disk|locked|busy/i.test(e.message)
    // A connection that failed this way may be stale (permissions changed, file replaced): reopen next time.
    if (transient) closeDb()
    post({ type: 'result', id: m.id, ok: false, message: e.message, code: e.code, transient })
  }
})
