import type { Saturation, SaturationModel } from '@llm-proxy/core/contracts'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { useSaturation } from '../../api/hooks'
import type { Params } from '../../api/client'
import { formatCount, formatMs, formatRate, formatTime } from '../../lib/format'
import { modelLabel } from '../../i18n/labels'
import { resolveRange, type TimeRange } from '../../lib/time-range'
import { describeSaturation, levelLabel } from './describe'

export interface SaturationPanelProps {
  range: TimeRange
  filters: Params
  refreshMs: number | null
  /** Changes when the header's "Refresh" is pressed. */
  refreshTick?: number
}

/** The saturation panel over the selected range and filters: it fetches its own data. */
export function SaturationPanel({ range, filters, refreshMs, refreshTick }: SaturationPanelProps) {
  const query = (): Params => {
    const w = resolveRange(range, Date.now())
    return range.kind === 'custom' ? { ...filters, start: w.start, end: w.end } : { ...filters, start: w.start }
  }
  const sat = useSaturation(JSON.stringify([range, filters]), query, refreshMs)
  const refresh = sat.refresh
  useEffect(() => {
    if (refreshTick) refresh()
  }, [refreshTick, refresh])
  if (!sat.data) return null
  return <SaturationView data={sat.data} />
}

type Point = { label: string; tps: number | null; total: number | null; ttft: number | null; requests: number; sparse: boolean }

/** A dot greyed out where the level has too few requests to trust. */
const dot = (color: string) =>
  function Dot(props: { cx?: number; cy?: number; payload?: Point; index?: number }) {
    if (props.cx === undefined || props.cy === undefined || props.cy === null) return <g key={props.index} />
    const sparse = props.payload?.sparse
    return <circle key={props.index} cx={props.cx} cy={props.cy} r={sparse ? 2.5 : 3.5} fill={sparse ? 'var(--muted)' : color} stroke="none" opacity={sparse ? 0.6 : 1} />
  }

/**
 * Per-request tokens/s (p50) and TTFT p95 against the concurrency each request met, one model at a
 * time, with what the data says in words for every model.
 */
export function SaturationView({ data }: { data: Saturation }) {
  const { t } = useTranslation()
  const [picked, setPicked] = useState<string | null>(null)
  const model: SaturationModel | undefined = data.models.find((m) => m.model === picked) ?? data.models[0]
  const sentences = data.models.flatMap((m) => describeSaturation(m, data.min_samples))
  const points: Point[] = (model?.levels ?? []).map((l) => ({ label: levelLabel(l), tps: l.output_tps_p50, total: l.output_tps_total, ttft: l.ttft_p95_ms, requests: l.requests, sparse: l.sparse }))
  // The chart in words, for screen readers: every level of the charted model.
  const summary = model
    ? t('saturation.summary', {
        model: modelLabel(model.model),
        levels: model.levels
          .map((l) => t(l.sparse ? 'saturation.summaryLevelSparse' : 'saturation.summaryLevel', { level: levelLabel(l), tps: formatRate(l.output_tps_p50), total: formatRate(l.output_tps_total), ttft: formatMs(l.ttft_p95_ms), requests: formatCount(l.requests) }))
          .join('; '),
      })
    : ''
  return (
    <section className="card saturation" aria-labelledby="saturation-title" data-testid="saturation">
      <div className="card-head">
        <h2 id="saturation-title">{t('saturation.title')}</h2>
        <span className="muted">{t('saturation.subtitle')}</span>
        {data.models.length > 1 && (
          <label className="push">
            <span className="sr-only">{t('saturation.model')}</span>
            <select value={model?.model ?? ''} onChange={(e) => setPicked(e.target.value)} aria-label={t('saturation.modelLabel')}>
              {data.models.map((m) => (
                <option key={m.model} value={m.model}>{modelLabel(m.model)}</option>
              ))}
            </select>
          </label>
        )}
      </div>
      {!model ? (
        <p className="muted">{t('saturation.empty')}</p>
      ) : (
        <>
          <ul className="saturation-findings">
            {sentences.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ul>
          <p className="sr-only" data-testid="saturation-summary">{summary}</p>
          <div className="chart-body">
            <ResponsiveContainer width="100%" height={240}>
              <LineChart data={points} title={t('saturation.chartTitle', { model: modelLabel(model.model) })} desc={summary}>
                <CartesianGrid stroke="var(--grid)" vertical={false} />
                <XAxis dataKey="label" stroke="var(--muted)" fontSize={11} label={{ value: t('saturation.axis'), position: 'insideBottom', offset: -2, fontSize: 11, fill: 'var(--muted)' }} height={36} />
                <YAxis yAxisId="tps" stroke="var(--muted)" fontSize={11} width={48} tickFormatter={(v) => formatCount(v)} />
                <YAxis yAxisId="ttft" orientation="right" stroke="var(--muted)" fontSize={11} width={64} tickFormatter={(v) => formatMs(v)} />
                <Tooltip
                  contentStyle={{ background: 'var(--card)', border: '1px solid var(--border)', color: 'var(--fg)', fontSize: 12 }}
                  labelFormatter={(label, items) => {
                    const p = items?.[0]?.payload as Point | undefined
                    return t(p?.sparse ? 'saturation.tooltipSparse' : 'saturation.tooltip', { level: label, requests: p ? formatCount(p.requests) : '?' })
                  }}
                  formatter={(v, _name, item) => (item?.dataKey === 'ttft' ? formatMs(Number(v)) : formatRate(Number(v)))}
                />
                <Legend verticalAlign="top" height={26} wrapperStyle={{ fontSize: 12 }} formatter={(value) => <span className="legend-text">{value}</span>} />
                {model.tps_halved && (
                  <ReferenceLine yAxisId="tps" x={levelLabel(model.tps_halved)} stroke="var(--c-line1)" strokeDasharray="4 4" label={{ value: t('saturation.speedHalved'), position: 'insideTopRight', fontSize: 11, fill: 'var(--muted)' }} />
                )}
                {model.ttft_p95_doubled && (
                  <ReferenceLine yAxisId="ttft" x={levelLabel(model.ttft_p95_doubled)} stroke="var(--c-line2)" strokeDasharray="2 4" label={{ value: t('saturation.ttftDoubledMark'), position: 'insideBottomRight', fontSize: 11, fill: 'var(--muted)' }} />
                )}
                <Line yAxisId="tps" dataKey="tps" name={t('saturation.lineTps')} stroke="var(--c-line1)" dot={dot('var(--c-line1)')} connectNulls isAnimationActive={false} />
                <Line yAxisId="tps" dataKey="total" name={t('saturation.lineTotal')} stroke="var(--c-success)" strokeDasharray="5 3" dot={dot('var(--c-success)')} connectNulls isAnimationActive={false} />
                <Line yAxisId="ttft" dataKey="ttft" name={t('saturation.lineTtft')} stroke="var(--c-line2)" dot={dot('var(--c-line2)')} connectNulls isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
          <p className="muted saturation-note">
            {t('saturation.note', { min: data.min_samples })}
          </p>
        </>
      )}
    </section>
  )
}
