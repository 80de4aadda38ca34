import { LATEST_SCHEMA_VERSION, openReaderDb } from '@llm-proxy/core'
import Database from 'better-sqlite3'

/**
 * The read-only database, opened on first use and again later if the proxy had not created it yet,
 * so the API can start first. Until the schema the API reads exists, `get()` returns null (empty answers).
 */
export class DbHandle {
  private db: Database.Database | null = null

  constructor(readonly file: string) {}

  get(): Database.Database | null {
    if (this.db) return this.db
    const db = openReaderDb(this.file)
    if (!db) return null
    if ((this.schemaVersion(db) ?? 0) < LATEST_SCHEMA_VERSION) {
      db.close()
      return null
    }
    this.db = db
    return db
  }

  schemaVersion(db: Database.Database | null = this.db): number | null {
    return db ? (db.pragma('user_version', { simple: true }) as number) : null
  }

  /** A second connection for long reads (CSV export), so they do not hold the shared one busy. */
  openExtra(): Database.Database | null {
    return this.get() ? openReaderDb(this.file) : null
  }

  close(): void {
    this.db?.close()
    this.db = null
  }
}
