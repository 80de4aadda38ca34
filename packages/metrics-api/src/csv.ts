import type { RequestRecord } from '@llm-proxy/core/contracts'
import { ROW_COLUMNS } from '@llm-proxy/core'

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return ''
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** CSV text in chunks of a few hundred rows, header first; the rows are read as the client reads. */
export function* toCsvLines(rows: Iterable<RequestRecord>): Generator<string> {
  yield ROW_COLUMNS.join(',') + '\n'
  let chunk = ''
  let n = 0
  for (const row of rows) {
    chunk += ROW_COLUMNS.map((c) => cell(row[c])).join(',') + '\n'
    if (++n === 500) {
      yield chunk
      chunk = ''
      n = 0
    }
  }
  if (chunk) yield chunk
}
