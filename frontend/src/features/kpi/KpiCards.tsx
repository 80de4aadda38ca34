import type { Summary } from '@llm-proxy/core/contracts'
import { formatCount, formatDelta, formatMs, formatPercent, formatUsd } from '../../lib/format'

interface Kpi {
  id: string
  label: string
  value: (s: Summary) => number | null
  format: (v: number | null) => string
  /** Whether a rise is good news (colours the change). */
  higherIsBetter: boolean | null
}

const KPIS: Kpi[] = [
  { id: 'requests', label: 'Requests', value: (s) => s.requests.total, format: formatCount, higherIsBetter: null },
  { id: 'success', label: 'Success rate', value: (s) => s.requests.success_rate, format: formatPercent, higherIsBetter: true },
  { id: 'p50', label: 'Latency p50', value: (s) => s.latency_ms.p50, format: formatMs, higherIsBetter: false },
  { id: 'p95', label: 'Latency p95', value: (s) => s.latency_ms.p95, format: formatMs, higherIsBetter: false },
  { id: 'ttft', label: 'TTFT p50', value: (s) => s.ttft_ms.p50, format: formatMs, higherIsBetter: false },
  { id: 'tps', label: 'Output tokens/s', value: (s) => s.output_tps.avg, format: (v) => (v === null ? '—' : v.toFixed(1)), higherIsBetter: true },
  { id: 'prompt', label: 'Prompt tokens', value: (s) => s.tokens.prompt, format: formatCount, higherIsBetter: null },
  { id: 'completion', label: 'Completion tokens', value: (s) => s.tokens.completion, format: formatCount, higherIsBetter: null },
  { id: 'errors', label: 'Errors', value: (s) => s.requests.failed, format: formatCount, higherIsBetter: false },
  // Estimated from the requests whose model has a price (PRICES_FILE or the bundled table).
  { id: 'cost', label: 'Est. cost', value: (s) => s.cost_usd, format: formatUsd, higherIsBetter: null },
]

export function KpiCards({ summary, previous }: { summary: Summary; previous: Summary | undefined }) {
  return (
    <section className="kpis" aria-label="Key figures">
      {KPIS.map((k) => {
        const now = k.value(summary)
        const before = previous ? k.value(previous) : null
        const delta = formatDelta(now, before)
        const up = now !== null && before !== null && now > before
        const tone = delta === null || delta === '±0%' || k.higherIsBetter === null ? 'neutral' : up === k.higherIsBetter ? 'good' : 'bad'
        return (
          <div className="card kpi" key={k.id} data-kpi={k.id}>
            <div className="kpi-label" title={k.label}>{k.label}</div>
            <div className="kpi-value" data-testid={`kpi-${k.id}`}>{k.format(now)}</div>
            <div className="kpi-delta" title="Change against the previous window of the same length">
              {delta ? (
                <>
                  <span className={tone}>{delta}</span> vs prev.
                </>
              ) : (
                'no previous data'
              )}
            </div>
          </div>
        )
      })}
    </section>
  )
}
