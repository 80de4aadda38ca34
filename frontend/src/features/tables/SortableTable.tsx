import { useState, type ReactNode } from 'react'

export type SortValue = string | number | null

export interface SortableColumn<T> {
  /** Unique within the table; the sort state refers to it. */
  key: string
  /** Header text (already translated). */
  label: ReactNode
  /** What the column sorts by; null sorts last in either direction. */
  value: (row: T) => SortValue
  /** Cell content; defaults to the value as text. */
  render?: (row: T) => ReactNode
  /** Cell title attribute (e.g. an id behind a display name). */
  title?: (row: T) => string | undefined
  /** Text alignment of header and cells; unset leaves the stylesheet's (left). */
  align?: 'start' | 'end'
  /** First click sorts A to Z (text columns); otherwise largest first. */
  ascendingFirst?: boolean
}

/** A numeric column of a summary row: sorted by its value, shown formatted. */
export function measureColumn<T>(key: keyof T & string, label: ReactNode, format: (v: any) => string): SortableColumn<T> {
  return { key, label, value: (row) => row[key] as SortValue, render: (row) => format(row[key]) }
}

export interface SortableTableProps<T> {
  columns: SortableColumn<T>[]
  rows: T[]
  rowKey: (row: T) => string
  /** Extra attributes on each body row (e.g. data-model). */
  rowProps?: (row: T) => Record<string, string>
  defaultSort: { key: string; desc: boolean }
  /** Shown in one full-width cell when there are no rows. */
  empty?: ReactNode
  testId?: string
}

/** Nulls last whichever the direction; strings by locale, numbers by value. */
export function compareNullsLast(x: SortValue, y: SortValue, desc: boolean): number {
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1
  const c = typeof x === 'string' ? x.localeCompare(String(y)) : (x as number) - (y as number)
  return desc ? -c : c
}

/** A table whose every column sorts from a keyboard-reachable header button (aria-sort on the header). */
export function SortableTable<T>({ columns, rows, rowKey, rowProps, defaultSort, empty, testId }: SortableTableProps<T>) {
  const [sort, setSort] = useState(defaultSort)
  const active = columns.find((c) => c.key === sort.key)
  const sorted = active ? [...rows].sort((a, b) => compareNullsLast(active.value(a), active.value(b), sort.desc)) : rows
  const alignClass = (c: SortableColumn<T>) => (c.align ? `align-${c.align}` : undefined)
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} className={alignClass(c)} aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                <button type="button" onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : !c.ascendingFirst })}>
                  {c.label}{sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={rowKey(r)} {...rowProps?.(r)}>
              {columns.map((c) => (
                <td key={c.key} className={alignClass(c)} title={c.title?.(r)}>
                  {c.render ? c.render(r) : String(c.value(r) ?? '')}
                </td>
              ))}
            </tr>
          ))}
          {sorted.length === 0 && empty !== undefined && <tr><td colSpan={columns.length} className="muted">{empty}</td></tr>}
        </tbody>
      </table>
    </div>
  )
}
