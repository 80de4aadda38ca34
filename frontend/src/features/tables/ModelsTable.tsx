import type { ModelSummary } from '@llm-proxy/core/contracts'
import { useTranslation } from 'react-i18next'
import { modelLabel } from '../../i18n/labels'
import { formatCount, formatMs, formatPercent, formatRate, formatUsd } from '../../lib/format'
import { SortableTable, type SortableColumn } from './SortableTable'

type Measure = Exclude<keyof ModelSummary, 'model'>
const measure = (key: Measure, label: string, fmt: (v: any) => string) => ({ key, label, fmt })
const MEASURES = [
  measure('requests', 'requests', formatCount),
  measure('success_rate', 'success', formatPercent),
  measure('latency_p50_ms', 'latencyP50', formatMs),
  measure('latency_p95_ms', 'latencyP95', formatMs),
  measure('ttft_p50_ms', 'ttftP50', formatMs),
  measure('ttft_p95_ms', 'ttftP95', formatMs),
  measure('output_tps_avg', 'tps', formatRate),
  measure('prompt_tokens', 'promptTok', formatCount),
  measure('completion_tokens', 'completionTok', formatCount),
  measure('cost_usd', 'cost', formatUsd),
]

export function ModelsTable({ models }: { models: ModelSummary[] }) {
  const { t } = useTranslation()
  const columns: SortableColumn<ModelSummary>[] = [
    // Sorted by the model id, shown by its label.
    { key: 'model', label: t('tables.model'), value: (m) => m.model, render: (m) => modelLabel(m.model), ascendingFirst: true },
    ...MEASURES.map((c): SortableColumn<ModelSummary> => ({
      key: c.key, label: t(`tables.${c.label}`), value: (m) => m[c.key] as number | null, render: (m) => c.fmt(m[c.key]),
    })),
  ]
  return (
    <section className="card table-card" aria-labelledby="models-title">
      <h2 id="models-title">{t('tables.models')}</h2>
      <SortableTable
        testId="models-table"
        columns={columns}
        rows={models}
        rowKey={(m) => m.model}
        rowProps={(m) => ({ 'data-model': m.model })}
        defaultSort={{ key: 'requests', desc: true }}
        empty={t('tables.noRequests')}
      />
    </section>
  )
}
