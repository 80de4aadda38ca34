import type { KeySummary } from '@llm-proxy/core/contracts'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { keyLabel } from '../../i18n/labels'
import { formatCount, formatMs, formatPercent, formatUsd } from '../../lib/format'

type Column = 'key' | Exclude<keyof KeySummary, 'key_id' | 'key_name'>
const name = (k: KeySummary) => keyLabel(k.key_name, k.key_id)
const COLUMNS: { key: Column; label: string; fmt: (v: any) => string }[] = [
  { key: 'key', label: 'key', fmt: String },
  { key: 'requests', label: 'requests', fmt: formatCount },
  { key: 'failed', label: 'failed', fmt: formatCount },
  { key: 'success_rate', label: 'success', fmt: formatPercent },
  { key: 'latency_p50_ms', label: 'latencyP50', fmt: formatMs },
  { key: 'latency_p95_ms', label: 'latencyP95', fmt: formatMs },
  { key: 'ttft_p50_ms', label: 'ttftP50', fmt: formatMs },
  { key: 'ttft_p95_ms', label: 'ttftP95', fmt: formatMs },
  { key: 'prompt_tokens', label: 'promptTok', fmt: formatCount },
  { key: 'completion_tokens', label: 'completionTok', fmt: formatCount },
  { key: 'total_tokens', label: 'totalTok', fmt: formatCount },
  { key: 'cost_usd', label: 'cost', fmt: formatUsd },
]
const value = (k: KeySummary, c: Column) => (c === 'key' ? name(k) : k[c])

/** Each proxy key's share of the window; not shown when no request used a key (AUTH_MODE=passthrough). */
export function KeysTable({ keys }: { keys: KeySummary[] }) {
  const { t } = useTranslation()
  const [sort, setSort] = useState<{ key: Column; desc: boolean }>({ key: 'requests', desc: true })
  if (keys.length === 0) return null
  const rows = [...keys].sort((a, b) => {
    const x = value(a, sort.key)
    const y = value(b, sort.key)
    // A key without the measure goes last whichever way the column is sorted.
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1
    const c = typeof x === 'string' ? x.localeCompare(String(y)) : (x as number) - (y as number)
    return sort.desc ? -c : c
  })
  return (
    <section className="card table-card" aria-labelledby="keys-title">
      <h2 id="keys-title">{t('tables.keys')}</h2>
      <div className="table-scroll">
        <table data-testid="keys-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.key} aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : c.key !== 'key' })}>
                    {t(`tables.${c.label}`)}{sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((k) => (
              <tr key={k.key_id} data-key={k.key_id}>
                {COLUMNS.map((c) => <td key={c.key} title={c.key === 'key' ? k.key_id : undefined}>{c.fmt(value(k, c.key))}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
