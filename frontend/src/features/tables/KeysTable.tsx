import type { KeySummary } from '@llm-proxy/core/contracts'
import { useTranslation } from 'react-i18next'
import { keyLabel } from '../../i18n/labels'
import { formatCount, formatMs, formatPercent, formatUsd } from '../../lib/format'
import { SortableTable, measureColumn, type SortableColumn } from './SortableTable'

type Measure = Exclude<keyof KeySummary, 'key_id' | 'key_name'>
/** Column key, label key under `tables.`, and how its values are shown. */
const MEASURES: [Measure, string, (v: any) => string][] = [
  ['requests', 'requests', formatCount],
  ['failed', 'failed', formatCount],
  ['success_rate', 'success', formatPercent],
  ['latency_p50_ms', 'latencyP50', formatMs],
  ['latency_p95_ms', 'latencyP95', formatMs],
  ['ttft_p50_ms', 'ttftP50', formatMs],
  ['ttft_p95_ms', 'ttftP95', formatMs],
  ['prompt_tokens', 'promptTok', formatCount],
  ['completion_tokens', 'completionTok', formatCount],
  ['total_tokens', 'totalTok', formatCount],
  ['cost_usd', 'cost', formatUsd],
]
const name = (k: KeySummary) => keyLabel(k.key_name, k.key_id)

/** Each proxy key's share of the window; not shown when no request used a key (AUTH_MODE=passthrough). */
export function KeysTable({ keys }: { keys: KeySummary[] }) {
  const { t } = useTranslation()
  if (keys.length === 0) return null
  const columns: SortableColumn<KeySummary>[] = [
    // Sorted and shown by name (a deleted key by its id); the id in the title.
    { key: 'key', label: t('tables.key'), value: name, title: (k) => k.key_id, ascendingFirst: true },
    ...MEASURES.map(([key, label, format]) => measureColumn<KeySummary>(key, t(`tables.${label}`), format)),
  ]
  return (
    <section className="card table-card" aria-labelledby="keys-title">
      <h2 id="keys-title">{t('tables.keys')}</h2>
      <SortableTable
        testId="keys-table"
        columns={columns}
        rows={keys}
        rowKey={(k) => k.key_id}
        rowProps={(k) => ({ 'data-key': k.key_id })}
        defaultSort={{ key: 'requests', desc: true }}
      />
    </section>
  )
}
