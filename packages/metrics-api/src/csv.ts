import type { RequestRecord } from '@llm-proxy/core/contracts'
import { ROW_COLUMNS } from '@llm-proxy/core'

/** The stored columns, then the key's name. */
const CSV_COLUMNS = [...ROW_COLUMNS, 'key_name'] as const

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or
 * CR) gets a leading apostrophe, as OWASP recommends for CSV export; other control characters are
 * dropped. Numbers are written as they are (a negative number is not a formula).
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  // eslint-disable-next-line no-control-regex
  let s = String(v).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r\t']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** CSV text in chunks of a few hundred rows, header first; the rows are read as the client reads. */
export async function* toCsvLines(rows: AsyncIterable<RequestRecord> | Iterable<RequestRecord>): AsyncGenerator<string> {
  yield CSV_COLUMNS.join(',') + '\n'
  let chunk = ''
  let n = 0
  for await (const row of rows) {
    chunk += CSV_COLUMNS.map((c) => csvCell(row[c])).join(',') + '\n'
    if (++n === 500) {
      yield chunk
      chunk = ''
      n = 0
    }
  }
  if (chunk) yield chunk
}
