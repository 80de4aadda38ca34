import type { Timeseries } from '@llm-proxy/core/contracts'
import { cloneElement, type ReactElement } from 'react'
import { Area, AreaChart, Bar, BarChart, Brush, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { formatCount, formatExact, formatMs, formatRate, formatTime } from '../../lib/format'

const OUTCOMES = [
  { key: 'success', label: 'Success', color: 'var(--c-success)' },
  { key: 'cancelled', label: 'Cancelled', color: 'var(--c-cancelled)' },
  { key: 'client_error', label: 'Client error', color: 'var(--c-client)' },
  { key: 'backend_error', label: 'Backend error', color: 'var(--c-backend)' },
  { key: 'network_error', label: 'Network error', color: 'var(--c-network)' },
] as const

type Point = Timeseries['points'][number] & { t: number } & Record<string, unknown>

export interface ChartsProps {
  series: Timeseries
  /** Narrow the time range to [start, end) (brush or click). */
  onZoom: (start: number, end: number) => void
}

// Recharts sorts legend and tooltip items by name; keep the order the series are declared in.
const ORDER = ['success', 'cancelled', 'client_error', 'backend_error', 'network_error', 'prompt_tokens', 'completion_tokens']
const byOrder = (item: { dataKey?: unknown }) => {
  const key = String(item.dataKey)
  return ORDER.includes(key) ? ORDER.indexOf(key) : key
}

const tick = (t: number, spanMs: number) => formatTime(new Date(t).toISOString(), spanMs > 36 * 3_600_000)

/** A sentence for screen readers, since a chart says nothing to them. */
function describe(points: Point[], label: string, pick: (p: Point) => number | null, fmt: (v: number | null) => string): string {
  const vals = points.map(pick).filter((v): v is number => v !== null)
  if (!vals.length) return `${label}: no data in this range.`
  return `${label}: from ${fmt(Math.min(...vals))} to ${fmt(Math.max(...vals))}, latest ${fmt(vals[vals.length - 1])}.`
}

/**
 * One chart in a card. Recharts makes the chart focusable (arrow keys move the tooltip through the
 * points, so a keyboard reads exact values); the summary names it for screen readers.
 */
function ChartCard({ title, summary, wide, children }: { title: string; summary: string; wide?: boolean; children: ReactElement<{ title?: string; desc?: string }> }) {
  return (
    <figure className={wide ? 'card chart wide' : 'card chart'}>
      <figcaption>{title}</figcaption>
      <p className="sr-only">{summary}</p>
      <div className="chart-body">
        <ResponsiveContainer width="100%" height={220}>{cloneElement(children, { title: `${title} (arrow keys: values by time; click: zoom in)`, desc: summary })}</ResponsiveContainer>
      </div>
    </figure>
  )
}

export function Charts({ series, onZoom }: ChartsProps) {
  const points: Point[] = series.points.map((p) => ({ ...p, t: Date.parse(p.start), ...p.requests }))
  const span = points.length ? points[points.length - 1].t - points[0].t : 0
  const xAxis = <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={(t) => tick(t, span)} stroke="var(--muted)" fontSize={11} minTickGap={40} />
  // Bars need a band per bucket: on a time axis a single bucket (a zoom to one bucket, a one-minute
  // range) has no width and its bars vanish. Buckets are evenly spaced, so a category axis is exact.
  const barAxis = <XAxis dataKey="t" type="category" tickFormatter={(t) => tick(Number(t), span)} stroke="var(--muted)" fontSize={11} minTickGap={40} />
  // One bucket is one point: lines and areas draw nothing between points, so mark it.
  const single = points.length === 1
  const tooltip = (fmt: (v: number) => string) => (
    <Tooltip
      labelFormatter={(t) => formatTime(new Date(Number(t)).toISOString())}
      formatter={(v) => fmt(Number(v))}
      itemSorter={byOrder}
      contentStyle={{ background: 'var(--card)', border: '1px solid var(--border)', color: 'var(--fg)', fontSize: 12 }}
    />
  )
  const grid = <CartesianGrid stroke="var(--grid)" vertical={false} />
  const zoomTo = (i: number) => points[i] && onZoom(points[i].t, points[i].t + series.bucket_ms)
  const clickZoom = (state: { activeTooltipIndex?: number | string | null } | null) => {
    const i = Number(state?.activeTooltipIndex)
    if (Number.isInteger(i)) zoomTo(i)
  }

  /** p50 and p95 of one measure over time. */
  const percentileChart = (title: string, measure: 'latency' | 'ttft') => (
    <ChartCard title={title} summary={describe(points, `${title} p95`, (p) => p[`${measure}_p95_ms`], formatMs)}>
      <LineChart data={points} onClick={clickZoom}>
        {grid}
        {xAxis}
        <YAxis stroke="var(--muted)" fontSize={11} width={64} tickFormatter={(v) => formatMs(v)} />
        {tooltip(formatMs)}
        <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={byOrder} />
        <Line type="monotone" dataKey={`${measure}_p50_ms`} name="p50" stroke="var(--c-line1)" dot={{ r: single ? 4 : 1.5 }} connectNulls isAnimationActive={false} />
        <Line type="monotone" dataKey={`${measure}_p95_ms`} name="p95" stroke="var(--c-line2)" dot={{ r: single ? 4 : 1.5 }} connectNulls isAnimationActive={false} />
      </LineChart>
    </ChartCard>
  )

  return (
    <section className="charts" aria-label="Charts over time">
      <ChartCard wide title="Requests by outcome" summary={describe(points, 'Requests per bucket', (p) => p.requests.total, formatCount)}>
        <AreaChart data={points} onClick={clickZoom}>
          {grid}
          {xAxis}
          <YAxis stroke="var(--muted)" fontSize={11} width={40} allowDecimals={false} />
          {tooltip(formatExact)}
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={byOrder} />
          {OUTCOMES.map((o) => (
            <Area key={o.key} type="monotone" dataKey={o.key} name={o.label} stackId="1" stroke={o.color} fill={o.color} fillOpacity={0.55} dot={single ? { r: 4 } : false} isAnimationActive={false} />
          ))}
          {points.length > 2 && (
            <Brush
              dataKey="t"
              height={22}
              stroke="var(--accent)"
              fill="var(--card)"
              tickFormatter={(t) => tick(t, span)}
              onChange={(r) => {
                const { startIndex, endIndex } = r as { startIndex?: number; endIndex?: number }
                if (startIndex === undefined || endIndex === undefined) return
                if (startIndex === 0 && endIndex === points.length - 1) return
                onZoom(points[startIndex].t, points[endIndex].t + series.bucket_ms)
              }}
            />
          )}
        </AreaChart>
      </ChartCard>
      {percentileChart('Latency', 'latency')}
      {percentileChart('Time to first token', 'ttft')}
      <ChartCard title="Output tokens per second" summary={describe(points, 'Average output tokens per second', (p) => p.output_tps_avg, formatRate)}>
        <LineChart data={points} onClick={clickZoom}>
          {grid}
          {xAxis}
          <YAxis stroke="var(--muted)" fontSize={11} width={40} />
          {tooltip(formatRate)}
          <Line type="monotone" dataKey="output_tps_avg" name="avg tok/s" stroke="var(--accent)" dot={{ r: single ? 4 : 1.5 }} connectNulls isAnimationActive={false} />
        </LineChart>
      </ChartCard>
      <ChartCard title="Tokens" summary={`${describe(points, 'Prompt tokens per bucket', (p) => p.prompt_tokens, formatCount)} ${describe(points, 'Completion tokens per bucket', (p) => p.completion_tokens, formatCount)}`}>
        <BarChart data={points} onClick={clickZoom}>
          {grid}
          {barAxis}
          <YAxis stroke="var(--muted)" fontSize={11} width={44} tickFormatter={(v) => formatCount(v)} />
          {tooltip(formatExact)}
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={byOrder} />
          <Bar dataKey="prompt_tokens" name="Prompt" fill="var(--c-line1)" stackId="t" maxBarSize={48} isAnimationActive={false} />
          <Bar dataKey="completion_tokens" name="Completion" fill="var(--c-line2)" stackId="t" maxBarSize={48} isAnimationActive={false} />
        </BarChart>
      </ChartCard>
    </section>
  )
}
