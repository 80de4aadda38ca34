import type { Timeseries } from '@llm-proxy/core/contracts'
import { cloneElement, useId, useRef, useState, type ReactElement, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { Area, AreaChart, Bar, BarChart, Brush, CartesianGrid, Cell, Legend, Line, LineChart, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { formatCount, formatExact, formatMs, formatRate, formatTime } from '../../lib/format'

const OUTCOMES = [
  { key: 'success', color: 'var(--c-success)' },
  { key: 'cancelled', color: 'var(--c-cancelled)' },
  { key: 'client_error', color: 'var(--c-client)' },
  { key: 'backend_error', color: 'var(--c-backend)' },
  { key: 'network_error', color: 'var(--c-network)' },
] as const

type Point = Timeseries['points'][number] & { t: number } & Record<string, unknown>

export interface ChartsProps {
  series: Timeseries
  /** Narrow the time range to [start, end) (brush or click). */
  onZoom: (start: number, end: number) => void
  /** Test hook: a fixed chart size where there is no layout (jsdom). */
  size?: { width: number; height: number }
}

// Recharts sorts legend items by name; keep the order the series are declared in.
const ORDER = ['success', 'cancelled', 'client_error', 'backend_error', 'network_error', 'prompt_tokens', 'completion_tokens']
const byOrder = (item: { dataKey?: unknown }) => {
  const key = String(item.dataKey)
  return ORDER.includes(key) ? ORDER.indexOf(key) : key
}
const tick = (t: number, spanMs: number) => formatTime(new Date(t).toISOString(), spanMs > 36 * 3_600_000)

/**
 * Whether the last bucket is still filling: it ends after the window does (a range ending now, or
 * a fixed range ending mid-bucket). Its counts are low only because the bucket is not over.
 */
export function lastBucketPartial(series: Timeseries): boolean {
  const last = series.points[series.points.length - 1]
  return last !== undefined && Date.parse(last.start) + series.bucket_ms > Date.parse(series.window.end)
}

/**
 * Splits each line's measure in two series: `<key>:done` up to the last complete value and
 * `<key>:partial` from there to the partial bucket, drawn dashed. Without a partial bucket the
 * first is the whole line and the second is empty.
 */
export function splitPartial(points: Point[], keys: string[], partial: boolean): Point[] {
  const last = points.length - 1
  const out = points.map((p) => ({ ...p }))
  for (const key of keys) {
    // The dashed part starts at the last bucket before the partial one that has a value.
    let from = -1
    if (partial) for (let i = last - 1; i >= 0 && from === -1; i--) if (points[i][key] !== null && points[i][key] !== undefined) from = i
    out.forEach((p, i) => {
      p[`${key}:done`] = partial && i === last ? null : points[i][key]
      p[`${key}:partial`] = partial && (i === last || i === from) ? points[i][key] : null
    })
  }
  return out
}

interface SeriesInfo {
  key: string
  name: string
  color: string
}

/** The tooltip: the bucket's time, each series' value, and a note when the bucket is still filling. */
export function ChartTooltip({ active, payload, label, series, fmt, partialT }: { active?: boolean; payload?: readonly { payload?: Point }[]; label?: unknown; series: SeriesInfo[]; fmt: (v: number | null) => string; partialT: number | null }) {
  const { t } = useTranslation()
  const point = payload?.[0]?.payload
  if (!active || !point) return null
  const time = Number(label ?? point.t)
  return (
    <div className="chart-tooltip" data-testid="chart-tooltip">
      <div className="tt-time">{formatTime(new Date(time).toISOString())}</div>
      {series.map((s) => (
        <div key={s.key} className="tt-row">
          <span className="tt-swatch" style={{ background: s.color }} aria-hidden />
          {s.name}: <strong>{fmt((point[s.key] as number | null | undefined) ?? null)}</strong>
        </div>
      ))}
      {partialT === time && <div className="tt-partial">{t('charts.partial')}</div>}
    </div>
  )
}

/**
 * One chart in a card. Recharts makes the chart focusable (arrow keys move the tooltip through the
 * points, so a keyboard reads exact values); the summary names it for screen readers.
 */
function ChartCard({ title, summary, wide, partial, size, onPointer, picked, children }: { title: string; summary: string; wide?: boolean; partial: boolean; size?: ChartsProps['size']; onPointer: (type: string) => void; picked: ReactNode; children: ReactElement<{ title?: string; desc?: string; width?: number; height?: number }> }) {
  const { t } = useTranslation()
  return (
    <figure className={wide ? 'card chart wide' : 'card chart'}>
      <figcaption>{title}</figcaption>
      <p className="sr-only">{summary}</p>
      {/* The pointer that pressed last: a tap (touch) shows values and offers a zoom button; a click zooms. */}
      <div className="chart-body" onPointerDownCapture={(e) => onPointer(e.pointerType)}>
        {size ? (
          cloneElement(children, { title: t('charts.chartTitle', { title }), desc: summary, ...size })
        ) : (
          <ResponsiveContainer width="100%" height={220}>{cloneElement(children, { title: t('charts.chartTitle', { title }), desc: summary })}</ResponsiveContainer>
        )}
      </div>
      {partial && <p className="chart-note">{t('charts.partialNote')}</p>}
      {picked}
    </figure>
  )
}

export function Charts({ series, onZoom, size }: ChartsProps) {
  const { t } = useTranslation()
  const uid = useId().replace(/:/g, '')
  const partial = lastBucketPartial(series)
  const lineKeys = ['latency_p50_ms', 'latency_p95_ms', 'ttft_p50_ms', 'ttft_p95_ms', 'output_tps_avg']
  const points: Point[] = splitPartial(
    series.points.map((p) => ({ ...p, t: Date.parse(p.start), ...p.requests })),
    lineKeys,
    partial,
  )
  const last = points.length - 1
  const partialT = partial ? points[last].t : null
  const span = points.length ? points[last].t - points[0].t : 0

  // A tap on a touch screen picks a bucket (the tooltip shows it) and offers to zoom; a mouse click zooms.
  const pointer = useRef('mouse')
  const [picked, setPicked] = useState<{ chart: string; index: number } | null>(null)
  const zoomTo = (i: number) => points[i] && onZoom(points[i].t, points[i].t + series.bucket_ms)
  const clickZoom = (chart: string) => (state: { activeTooltipIndex?: number | string | null } | null) => {
    const i = Number(state?.activeTooltipIndex)
    if (!Number.isInteger(i)) return
    if (pointer.current === 'touch') setPicked({ chart, index: i })
    else zoomTo(i)
  }
  const pickedBar = (chart: string) => {
    if (picked?.chart !== chart || !points[picked.index]) return null
    const p = points[picked.index]
    const from = formatTime(new Date(p.t).toISOString())
    const to = formatTime(new Date(p.t + series.bucket_ms).toISOString(), false)
    return (
      <div className="touch-zoom">
        <span>{from} – {to}</span>
        <button type="button" onClick={() => zoomTo(picked.index)} aria-label={t('charts.zoomToRangeLabel', { from, to })}>
          {t('charts.zoomToRange')}
        </button>
      </div>
    )
  }
  const card = (id: string, props: { title: string; summary: string; wide?: boolean }, chart: ReactElement<{ title?: string; desc?: string; width?: number; height?: number }>) => (
    <ChartCard {...props} partial={partial} size={size} onPointer={(type) => (pointer.current = type)} picked={pickedBar(id)}>
      {chart}
    </ChartCard>
  )

  /** A sentence for screen readers, since a chart says nothing to them. */
  const describe = (label: string, pick: (p: Point) => number | null, fmt: (v: number | null) => string): string => {
    const vals = points.map(pick).filter((v): v is number => v !== null)
    if (!vals.length) return t('charts.noData', { label })
    const text = t('charts.summary', { label, min: fmt(Math.min(...vals)), max: fmt(Math.max(...vals)), latest: fmt(vals[vals.length - 1]) })
    return partial ? `${text} ${t('charts.partialSummary')}` : text
  }

  const axisTick = { fill: 'var(--muted)', fontSize: 11 }
  const xAxis = <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={(v) => tick(v, span)} stroke="var(--muted)" tick={axisTick} minTickGap={40} />
  // Bars need a band per bucket: on a time axis a single bucket (a zoom to one bucket, a one-minute
  // range) has no width and its bars vanish. Buckets are evenly spaced, so a category axis is exact.
  const barAxis = <XAxis dataKey="t" type="category" tickFormatter={(v) => tick(Number(v), span)} stroke="var(--muted)" tick={axisTick} minTickGap={40} />
  const yAxis = (width: number, extra: Record<string, unknown> = {}) => <YAxis stroke="var(--muted)" tick={axisTick} width={width} {...extra} />
  // One bucket is one point: lines and areas draw nothing between points, so mark it.
  const single = points.length === 1
  const tooltip = (infos: SeriesInfo[], fmt: (v: number | null) => string) => (
    <Tooltip content={(p) => <ChartTooltip active={p.active} payload={p.payload as unknown as { payload?: Point }[]} label={p.label} series={infos} fmt={fmt} partialT={partialT} />} />
  )
  // Legend text in the text colour (the swatch carries the series colour, which may be too light to read).
  const legend = <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={byOrder} formatter={(value) => <span className="legend-text">{value}</span>} />
  const grid = <CartesianGrid stroke="var(--grid)" vertical={false} />
  /** A line, its last segment dashed when the bucket it ends in is still filling. */
  const line = (key: string, name: string, color: string) => [
    <Line key={key} type="monotone" dataKey={`${key}:done`} name={name} stroke={color} dot={{ r: single ? 4 : 1.5 }} connectNulls isAnimationActive={false} />,
    partial && <Line key={`${key}:partial`} type="monotone" dataKey={`${key}:partial`} name={name} legendType="none" stroke={color} strokeDasharray="4 3" dot={{ r: single ? 4 : 1.5, strokeDasharray: '' }} connectNulls isAnimationActive={false} className="partial-line" />,
  ]

  /** p50 and p95 of one measure over time. */
  const percentileChart = (title: string, measure: 'latency' | 'ttft') =>
    card(measure, { title, summary: describe(t('charts.p95Of', { title }), (p) => p[`${measure}_p95_ms`], formatMs) },
      <LineChart data={points} onClick={clickZoom(measure)}>
        {grid}
        {xAxis}
        {yAxis(64, { tickFormatter: (v: number) => formatMs(v) })}
        {tooltip([{ key: `${measure}_p50_ms`, name: 'p50', color: 'var(--c-line1)' }, { key: `${measure}_p95_ms`, name: 'p95', color: 'var(--c-line2)' }], formatMs)}
        {legend}
        {line(`${measure}_p50_ms`, 'p50', 'var(--c-line1)')}
        {line(`${measure}_p95_ms`, 'p95', 'var(--c-line2)')}
      </LineChart>,
    )
  const outcomes = OUTCOMES.map((o) => ({ ...o, name: t(`outcomes.${o.key}`) }))
  const tokenSeries = [
    { key: 'prompt_tokens', name: t('charts.prompt'), color: 'var(--c-line1)' },
    { key: 'completion_tokens', name: t('charts.completion'), color: 'var(--c-line2)' },
  ]
  return (
    <section className="charts" aria-label={t('charts.section')}>
      {card('requests', { wide: true, title: t('charts.requests'), summary: describe(t('charts.requestsPerBucket'), (p) => p.requests.total, formatCount) },
        <AreaChart data={points} onClick={clickZoom('requests')}>
          {/* The partial bucket's segment is hatched over with the card's colour: lighter, and not a drop. */}
          <defs>
            <pattern id={`hatch-${uid}`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
              <rect width="3" height="6" fill="var(--card)" fillOpacity={0.55} />
            </pattern>
          </defs>
          {grid}
          {xAxis}
          {yAxis(40, { allowDecimals: false, tickFormatter: (v: number) => formatCount(v) })}
          {tooltip(outcomes.map((o) => ({ key: o.key, name: o.name, color: o.color })), formatExact)}
          {legend}
          {outcomes.map((o) => (
            <Area key={o.key} type="monotone" dataKey={o.key} name={o.name} stackId="1" stroke={o.color} fill={o.color} fillOpacity={0.55} dot={single ? { r: 4 } : false} isAnimationActive={false} />
          ))}
          {partial && points.length > 1 && <ReferenceArea x1={points[last - 1].t} x2={points[last].t} fill={`url(#hatch-${uid})`} fillOpacity={1} stroke="none" className="partial-area" ifOverflow="hidden" />}
          {points.length > 2 && (
            <Brush
              dataKey="t"
              height={22}
              stroke="var(--accent)"
              fill="var(--card)"
              tickFormatter={(v) => tick(v, span)}
              onChange={(r) => {
                const { startIndex, endIndex } = r as { startIndex?: number; endIndex?: number }
                if (startIndex === undefined || endIndex === undefined) return
                if (startIndex === 0 && endIndex === points.length - 1) return
                onZoom(points[startIndex].t, points[endIndex].t + series.bucket_ms)
              }}
            />
          )}
        </AreaChart>,
      )}
      {percentileChart(t('charts.latency'), 'latency')}
      {percentileChart(t('charts.ttft'), 'ttft')}
      {card('tps', { title: t('charts.tps'), summary: describe(t('charts.avgTpsLong'), (p) => p.output_tps_avg, formatRate) },
        <LineChart data={points} onClick={clickZoom('tps')}>
          {grid}
          {xAxis}
          {yAxis(40, { tickFormatter: (v: number) => formatCount(v) })}
          {tooltip([{ key: 'output_tps_avg', name: t('charts.avgTps'), color: 'var(--accent)' }], formatRate)}
          {line('output_tps_avg', t('charts.avgTps'), 'var(--accent)')}
        </LineChart>,
      )}
      {card('tokens', { title: t('charts.tokens'), summary: `${describe(t('charts.promptPerBucket'), (p) => p.prompt_tokens, formatCount)} ${describe(t('charts.completionPerBucket'), (p) => p.completion_tokens, formatCount)}` },
        <BarChart data={points} onClick={clickZoom('tokens')}>
          {grid}
          {barAxis}
          {yAxis(44, { tickFormatter: (v: number) => formatCount(v) })}
          {tooltip(tokenSeries, formatExact)}
          {legend}
          {tokenSeries.map((s) => (
            <Bar key={s.key} dataKey={s.key} name={s.name} fill={s.color} stackId="t" maxBarSize={48} isAnimationActive={false}>
              {/* The partial bucket's bar: lighter, with a dashed outline. */}
              {points.map((p, i) => (partial && i === last ? <Cell key={p.t} fillOpacity={0.35} stroke={s.color} strokeDasharray="3 2" className="partial-bar" /> : <Cell key={p.t} />))}
            </Bar>
          ))}
        </BarChart>,
      )}
    </section>
  )
}
