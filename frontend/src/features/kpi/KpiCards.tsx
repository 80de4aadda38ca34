import type { Summary } from '@llm-proxy/core/contracts'
import { useTranslation } from 'react-i18next'
import { formatCount, formatDecimal, formatDelta, formatMs, formatPercent, formatUsd, relativeChange } from '../../lib/format'

interface Kpi {
  id: string
  value: (s: Summary) => number | null
  format: (v: number | null) => string
  /** Whether a rise is good news (colours the change). */
  higherIsBetter: boolean | null
}

const KPIS: Kpi[] = [
  { id: 'requests', value: (s) => s.requests.total, format: formatCount, higherIsBetter: null },
  { id: 'success', value: (s) => s.requests.success_rate, format: formatPercent, higherIsBetter: true },
  { id: 'p50', value: (s) => s.latency_ms.p50, format: formatMs, higherIsBetter: false },
  { id: 'p95', value: (s) => s.latency_ms.p95, format: formatMs, higherIsBetter: false },
  { id: 'ttft', value: (s) => s.ttft_ms.p50, format: formatMs, higherIsBetter: false },
  { id: 'tps', value: (s) => s.output_tps.avg, format: formatDecimal, higherIsBetter: true },
  { id: 'prompt', value: (s) => s.tokens.prompt, format: formatCount, higherIsBetter: null },
  { id: 'completion', value: (s) => s.tokens.completion, format: formatCount, higherIsBetter: null },
  { id: 'errors', value: (s) => s.requests.failed, format: formatCount, higherIsBetter: false },
  // Estimated from the requests whose model has a price (PRICES_FILE or the bundled table).
  { id: 'cost', value: (s) => s.cost_usd, format: formatUsd, higherIsBetter: null },
]

export function KpiCards({ summary, previous }: { summary: Summary; previous: Summary | undefined }) {
  const { t } = useTranslation()
  return (
    <section className="kpis" aria-label={t('kpi.section')}>
      {KPIS.map((k) => {
        const now = k.value(summary)
        const before = previous ? k.value(previous) : null
        const delta = formatDelta(now, before)
        const up = now !== null && before !== null && now > before
        const tone = delta === null || relativeChange(now, before) === 0 || k.higherIsBetter === null ? 'neutral' : up === k.higherIsBetter ? 'good' : 'bad'
        const label = t(`kpi.${k.id}`)
        return (
          <div className="card kpi" key={k.id} data-kpi={k.id}>
            <div className="kpi-label" title={label}>{label}</div>
            <div className="kpi-value" data-testid={`kpi-${k.id}`}>{k.format(now)}</div>
            <div className="kpi-delta" title={t('kpi.deltaTitle')}>
              {delta ? (
                <>
                  <span className={tone}>{delta}</span> {t('kpi.vsPrevious')}
                </>
              ) : (
                t('kpi.noPrevious')
              )}
            </div>
          </div>
        )
      })}
    </section>
  )
}
