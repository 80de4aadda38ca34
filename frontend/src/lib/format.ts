/** Display helpers: every number the dashboard shows goes through one of these. */

/** A model as the dashboard names it: requests that named none (malformed JSON, say) are "(no model)". */
export function modelLabel(model: string | null | undefined): string {
  return model ? model : '(no model)'
}

/** A proxy key as the dashboard names it: its name, or its id when the key was deleted since. */
export function keyLabel(name: string | null | undefined, id: string): string {
  return name ? name : `${id} (deleted)`
}

const nf0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })
const nfExact = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })

export function formatCount(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (Math.abs(v) >= 1e9) return `${nf1.format(v / 1e9)}B`
  if (Math.abs(v) >= 1e6) return `${nf1.format(v / 1e6)}M`
  if (Math.abs(v) >= 1e4) return `${nf1.format(v / 1e3)}k`
  return nf0.format(v)
}

export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (v >= 60_000) return `${nf1.format(v / 60_000)} min`
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`
  if (v >= 100) return `${nf0.format(v)} ms`
  return `${v.toFixed(1)} ms`
}

export function formatPercent(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (v === 1 || v === 0) return `${v * 100}%`
  // Never round a rate with failures up to 100% (or one with successes down to 0%).
  if (v >= 0.9995) return '>99.9%'
  if (v < 0.0005) return '<0.1%'
  return `${(v * 100).toFixed(1)}%`
}

/** A count in full, with digit grouping (tooltips show exact values). */
export function formatExact(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : nfExact.format(v)
}

/** US dollars: cents for everyday sums, two significant digits below a cent, k/M for large ones. */
export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (v === 0) return '$0'
  const a = Math.abs(v)
  const sign = v < 0 ? '−' : ''
  if (a < 0.01) return `${sign}$${Number(a.toPrecision(2))}`
  if (a >= 1e6) return `${sign}$${nf1.format(a / 1e6)}M`
  if (a >= 1e4) return `${sign}$${nf1.format(a / 1e3)}k`
  return `${sign}$${a.toFixed(2)}`
}

export function formatRate(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${nf1.format(v)} tok/s`
}

/** Local date and time of an ISO string, as the viewer reads it. */
export function formatTime(iso: string | null | undefined, withDate = true): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return withDate
    ? d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
}

/** Relative change of `now` against `before`, e.g. "+12%"; null when there is nothing to compare. */
export function formatDelta(now: number | null | undefined, before: number | null | undefined): string | null {
  if (now === null || now === undefined || before === null || before === undefined || before === 0) return null
  const change = (now - before) / Math.abs(before)
  if (Math.abs(change) < 0.005) return '±0%'
  if (change >= 10) return '>+999%'
  return `${change > 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(Math.abs(change) < 0.1 ? 1 : 0)}%`
}
