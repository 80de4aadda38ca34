import type { ModelSummary } from '@llm-proxy/core/contracts'
import { useState } from 'react'
import { formatCount, formatMs, formatPercent, formatRate, formatUsd, modelLabel } from '../../lib/format'

const COLUMNS: { key: keyof ModelSummary; label: string; fmt: (v: any) => string }[] = [
  { key: 'model', label: 'Model', fmt: modelLabel },
  { key: 'requests', label: 'Requests', fmt: formatCount },
  { key: 'success_rate', label: 'Success', fmt: formatPercent },
  { key: 'latency_p50_ms', label: 'Latency p50', fmt: formatMs },
  { key: 'latency_p95_ms', label: 'Latency p95', fmt: formatMs },
  { key: 'ttft_p50_ms', label: 'TTFT p50', fmt: formatMs },
  { key: 'ttft_p95_ms', label: 'TTFT p95', fmt: formatMs },
  { key: 'output_tps_avg', label: 'Tokens/s', fmt: formatRate },
  { key: 'prompt_tokens', label: 'Prompt tok', fmt: formatCount },
  { key: 'completion_tokens', label: 'Completion tok', fmt: formatCount },
  { key: 'cost_usd', label: 'Est. cost', fmt: formatUsd },
]

export function ModelsTable({ models }: { models: ModelSummary[] }) {
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
      <h2 id="models-title">Models</h2>
      <div className="table-scroll">
        <table data-testid="models-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.key} aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : c.key !== 'model' })}>
                    {c.label}{sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
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
            {rows.length === 0 && <tr><td colSpan={COLUMNS.length} className="muted">No requests in this range.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  )
}
