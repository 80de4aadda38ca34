import type Database from 'better-sqlite3'
import type { RequestRow } from '../row.js'

/**
 * Maintains the aggregate tables the metrics API reads, inside the proxy's batch transaction.
 * (Filled in by the metrics API work; today there are no rollup tables.)
 */
export function createRollupWriter(_db: Database.Database): (rows: readonly RequestRow[]) => void {
  return () => {}
}
