import { CapturedContent } from '@llm-proxy/core/contracts'
import { CAPTURE_SQL, type CaptureRecord, type Snapshot } from '@llm-proxy/storage'

/** What was captured of one request, or null (nothing captured, or a database from before captures). */
export async function getContent(db: Snapshot | null, id: string): Promise<CapturedContent | null> {
  if (db === null) return null
  let rows: CaptureRecord[]
  try {
    rows = await db.all<CaptureRecord>(CAPTURE_SQL.get, { id })
  } catch (err) {
    // Schema older than v8 (no proxy has migrated it yet): nothing was captured.
    const e = err as { code?: string; message?: string }
    if (e.code === '42P01' || /no such table/.test(e.message ?? '')) return null
    throw err
  }
  const r = rows[0]
  if (!r) return null
  return CapturedContent.parse({ ...r, ts: new Date(Number(r.ts)).toISOString(), request: JSON.parse(r.request), response: JSON.parse(r.response) })
}
