import type { ModelSummary } from '@llm-proxy/core/contracts'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { modelLabel } from '../../i18n/labels'
import { formatCount, formatMs, formatPercent, formatRate, formatUsd } from '../../lib/format'

const COLUMNS: { key: keyof ModelSummary; label: string; fmt: (v: any) => string }[] = [
  { key: 'model', label: 'model', fmt: modelLabel },
  { key: 'requests', label: 'requests', fmt: formatCount },
  { key: 'success_rate', label: 'success', fmt: formatPercent },
  { key: 'latency_p50_ms', label: 'latencyP50', fmt: formatMs },
  { key: 'latency_p95_ms', label: 'latencyP95', fmt: formatMs },
  { key: 'ttft_p50_ms', label: 'ttftP50', fmt: formatMs },
  { key: 'ttft_p95_ms', label: 'ttftP95', fmt: formatMs },
  { key: 'output_tps_avg', label: 'tps', fmt: formatRate },
  { key: 'prompt_tokens', label: 'promptTok', fmt: formatCount },
  { key: 'completion_tokens', label: 'completionTok', fmt: formatCount },
  { key: 'cost_usd', label: 'cost', fmt: formatUsd },
]

export function ModelsTable({ models }: { models: ModelSummary[] }) {
  const { t } = useTranslation()
  const [sort, setSort] = useState<{ key: keyof ModelSummary; desc: boolean }>({ key: 'requests', desc: true })
  const rows = [...models].sort((a, b) => {
    const x = a[sort.key]
    const y = b[sort.key]
    // A model without the measure goes last whichever way the column is sorted.
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1
    const c = typeof x === 'string' ? x.localeCompare(String(y)) : (x as number) - (y as number)
    return sort.desc ? -c : c
  })
  return (
    <section className="card table-card" aria-labelledby="models-title">
      <h2 id="models-title">{t('tables.models')}</h2>
      <div className="table-scroll">
        <table data-testid="models-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.key} aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : c.key !== 'model' })}>
                    {t(`tables.${c.label}`)}{sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.model} data-model={m.model}>
                {COLUMNS.map((c) => <td key={c.key}>{c.fmt(m[c.key])}</td>)}
              </tr>
            ))}
            {rows.length === 0 && <tr><td colSpan={COLUMNS.length} className="muted">{t('tables.noRequests')}</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  )
}
