import type { ModelSummary } from '@llm-proxy/core/contracts'
import { useTranslation } from 'react-i18next'
import { modelLabel } from '../../i18n/labels'
import { formatCount, formatMs, formatPercent, formatRate, formatUsd } from '../../lib/format'
import { SortableTable, measureColumn, type SortableColumn } from './SortableTable'

type Measure = Exclude<keyof ModelSummary, 'model'>
/** Column key, label key under `tables.`, and how its values are shown. */
const MEASURES: [Measure, string, (v: any) => string][] = [
  ['requests', 'requests', formatCount],
  ['success_rate', 'success', formatPercent],
  ['latency_p50_ms', 'latencyP50', formatMs],
  ['latency_p95_ms', 'latencyP95', formatMs],
  ['ttft_p50_ms', 'ttftP50', formatMs],
  ['ttft_p95_ms', 'ttftP95', formatMs],
  ['output_tps_avg', 'tps', formatRate],
  ['prompt_tokens', 'promptTok', formatCount],
  ['completion_tokens', 'completionTok', formatCount],
  ['cost_usd', 'cost', formatUsd],
]

export function ModelsTable({ models }: { models: ModelSummary[] }) {
  const { t } = useTranslation()
  const columns: SortableColumn<ModelSummary>[] = [
    // Sorted by the model id, shown by its label.
    { key: 'model', label: t('tables.model'), value: (m) => m.model, render: (m) => modelLabel(m.model), ascendingFirst: true },
    ...MEASURES.map(([key, label, format]) => measureColumn<ModelSummary>(key, t(`tables.${label}`), format)),
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
