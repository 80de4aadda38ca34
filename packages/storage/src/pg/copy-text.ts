import { histToPg } from './connect.js'

/** What COPY's text format escapes; NUL, which PostgreSQL text cannot hold, is dropped. */
const SPECIAL = /[\u0000\\\t\n\r]/g
const ESCAPED: Record<string, string> = { '\u0000': '', '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }
const escape = (c: string) => ESCAPED[c]

/**
 * One value in COPY's text format: `\N` for null and for a number that is not finite (as JSON has
 * it), booleans as the smallint columns' 0 and 1, histogram columns (`*_hist`) as int4[] literals.
 */
function copyValue(v: unknown, hist: boolean): string {
  if (v === null || v === undefined) return '\\N'
  if (hist) return histToPg(v as Uint8Array) ?? '\\N'
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '\\N'
  if (typeof v === 'boolean') return v ? '1' : '0'
  if (typeof v === 'bigint') return String(v)
  return String(v).replace(SPECIAL, escape)
}

/**
 * A row as a line of COPY text (tab between values, in `columns` order, newline at the end): the
 * proxy's writer sends each batch's rows this way and the SQLite-to-PostgreSQL command whole tables.
 */
export function copyLineOf(columns: readonly string[]): (row: object) => string {
  const hist = columns.map((c) => c.endsWith('_hist'))
  return (row) => {
    let line = ''
    for (let i = 0; i < columns.length; i++) line += (i === 0 ? '' : '\t') + copyValue((row as Record<string, unknown>)[columns[i]], hist[i])
    return line + '\n'
  }
}
