/**
 * Display helpers: every number the dashboard shows goes through one of these, formatted with
 * `Intl` for a locale. Each takes the locale last; left out, it is the dashboard's language
 * (set by src/i18n when the language changes).
 */

let current = 'en'
/** The locale the helpers use when none is passed (the i18n module keeps it in step). */
export function setFormatLocale(locale: string) {
  current = locale
}

// Intl formatters are slow to build and tables format hundreds of cells: one per locale and options.
const cache = new Map<string, Intl.NumberFormat>()
function nf(locale: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  const id = `${locale}|${JSON.stringify(opts)}`
  let f = cache.get(id)
  if (!f) cache.set(id, (f = new Intl.NumberFormat(locale, opts)))
  return f
}

export function formatCount(v: number | null | undefined, locale = current): string {
  if (v === null || v === undefined) return '—'
  // Below 10,000 in full; above, the locale's short form (12.3K, 1,2 k, 1.2万).
  return Math.abs(v) >= 1e4 ? nf(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(v) : nf(locale, { maximumFractionDigits: 0 }).format(v)
}

const unit = (locale: string, u: string, digits: { min?: number; max: number }) =>
  nf(locale, { style: 'unit', unit: u, unitDisplay: 'short', minimumFractionDigits: digits.min ?? 0, maximumFractionDigits: digits.max })

export function formatMs(v: number | null | undefined, locale = current): string {
  if (v === null || v === undefined) return '—'
  if (v >= 60_000) return unit(locale, 'minute', { max: 1 }).format(v / 60_000)
  if (v >= 1000) return unit(locale, 'second', { min: 2, max: 2 }).format(v / 1000)
  if (v >= 100) return unit(locale, 'millisecond', { max: 0 }).format(v)
  return unit(locale, 'millisecond', { min: 1, max: 1 }).format(v)
}

const pct = (locale: string, v: number, digits: number) => nf(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v)

export function formatPercent(v: number | null | undefined, locale = current): string {
  if (v === null || v === undefined) return '—'
  if (v === 1 || v === 0) return pct(locale, v, 0)
  // Never round a rate with failures up to 100% (or one with successes down to 0%).
  if (v >= 0.9995) return `>${pct(locale, 0.999, 1)}`
  if (v < 0.0005) return `<${pct(locale, 0.001, 1)}`
  return pct(locale, v, 1)
}

/** A count in full, with the locale's digit grouping (tooltips show exact values). */
export function formatExact(v: number | null | undefined, locale = current): string {
  return v === null || v === undefined ? '—' : nf(locale, { maximumFractionDigits: 2 }).format(v)
}

/** A size in bytes, in full ("1,234 bytes", "1 234 octets"). */
export function formatBytes(v: number, locale = current): string {
  return nf(locale, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(v)
}

/** US dollars: cents for everyday sums, two significant digits below a cent, compact for large ones. */
export function formatUsd(v: number | null | undefined, locale = current): string {
  if (v === null || v === undefined) return '—'
  const usd = { style: 'currency', currency: 'USD' } as const
  if (v === 0) return nf(locale, { ...usd, minimumFractionDigits: 0, maximumFractionDigits: 0 }).format(0)
  const a = Math.abs(v)
  if (a < 0.01) return nf(locale, { ...usd, maximumSignificantDigits: 2 }).format(v)
  if (a >= 1e4) return nf(locale, { ...usd, notation: 'compact', maximumFractionDigits: 1 }).format(v)
  return nf(locale, { ...usd, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v)
}

/** Output speed; "tok/s" is how the field writes it, in every language. */
export function formatRate(v: number | null | undefined, locale = current): string {
  return v === null || v === undefined ? '—' : `${nf(locale, { maximumFractionDigits: 1 }).format(v)} tok/s`
}

/** Local date and time of an ISO string, as the viewer reads it. */
export function formatTime(iso: string | null | undefined, withDate = true, locale = current): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return withDate
    ? d.toLocaleString(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
}

/** Relative change of `now` against `before`, e.g. "+12%"; null when there is nothing to compare. */
export function formatDelta(now: number | null | undefined, before: number | null | undefined, locale = current): string | null {
  const change = relativeChange(now, before)
  if (change === null) return null
  if (change === 0) return `±${pct(locale, 0, 0)}`
  if (change >= 10) return `>+${pct(locale, 9.99, 0)}`
  return nf(locale, { style: 'percent', signDisplay: 'always', minimumFractionDigits: Math.abs(change) < 0.1 ? 1 : 0, maximumFractionDigits: Math.abs(change) < 0.1 ? 1 : 0 }).format(change)
}

/** The change as a fraction, 0 when it rounds to nothing (under half a percent); null without a base. */
export function relativeChange(now: number | null | undefined, before: number | null | undefined): number | null {
  if (now === null || now === undefined || before === null || before === undefined || before === 0) return null
  const change = (now - before) / Math.abs(before)
  return Math.abs(change) < 0.005 ? 0 : change
}

/** A refresh interval in the locale's narrow units ("5s", "5 с", "5秒"). */
export function formatInterval(ms: number, locale = current): string {
  return ms >= 60_000 ? nf(locale, { style: 'unit', unit: 'minute', unitDisplay: 'narrow' }).format(ms / 60_000) : nf(locale, { style: 'unit', unit: 'second', unitDisplay: 'narrow' }).format(ms / 1000)
}

/** Milliseconds in full ("1,534 ms"), beside the rounded figure in the request's detail. */
export function formatExactMs(v: number, locale = current): string {
  return unit(locale, 'millisecond', { max: 2 }).format(v)
}

/** A plain figure with one decimal ("141.9", "141,9"). */
export function formatDecimal(v: number | null | undefined, locale = current): string {
  return v === null || v === undefined ? '—' : nf(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v)
}
