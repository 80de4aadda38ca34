import { useEffect, useMemo, useState, type ReactNode } from 'react'
import { useModels, useSummary, useTimeseries } from './api/hooks'
import { Charts } from './features/charts/Charts'
import { Header, THEMES, type Theme } from './features/header/Header'
import { KpiCards } from './features/kpi/KpiCards'
import { RequestLog } from './features/requests/RequestLog'
import { SaturationPanel } from './features/saturation/SaturationPanel'
import { EmptyState, ErrorBanner, Loading } from './features/states/States'
import { ErrorsTable } from './features/tables/ErrorsTable'
import { KeysTable } from './features/tables/KeysTable'
import { ModelsTable } from './features/tables/ModelsTable'
import { previousWindow, resolveRange, type TimeRange } from './lib/time-range'
import { rangeShowingData, searchFromView, viewFromSearch, type View } from './lib/view'

export const isTheme = (t: unknown): t is Theme => THEMES.includes(t as Theme)
export const systemTheme = (): Theme => (window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')
export function savedTheme(): Theme | null {
  try {
    const t = localStorage.getItem('theme')
    return isTheme(t) ? t : null
  } catch {
    return null
  }
}

/** Ranges left by zooming into a chart, kept in the history entry so "Back" works after a reload too. */
interface HistoryState {
  zoomedFrom?: TimeRange[]
}

/** The metrics dashboard; `nav` holds the sign-in links when the server has sign-in. */
export function App({ nav, signedIn = false }: { nav?: ReactNode; signedIn?: boolean } = {}) {
  // The view (range, model, endpoint, streaming, key) lives in the address bar; see lib/view.ts.
  const [initial] = useState(() => viewFromSearch(window.location.search))
  // No range in the address: the shortest preset showing the data, once the models say when the
  // newest request was; until then (and if the user never picks one) the address has no range.
  const [range, setRange] = useState<TimeRange>(initial.range ?? { kind: 'relative', id: '15m' })
  const [rangeChosen, setRangeChosen] = useState(initial.range !== null)
  const [zoomedFrom, setZoomedFrom] = useState<TimeRange[]>(() => (window.history.state as HistoryState | null)?.zoomedFrom ?? [])
  const [model, setModel] = useState<string | null>(initial.model)
  const [stream, setStream] = useState<'' | 'true' | 'false'>(initial.stream)
  const [endpoint, setEndpoint] = useState(initial.endpoint)
  const [keyId, setKeyId] = useState<string | null>(initial.key)

  const [refreshMs, setRefreshMs] = useState<number | null>(10_000)
  // A saved choice wins; until the user picks one, follow the system's light/dark preference.
  const [theme, setTheme] = useState<Theme>(() => savedTheme() ?? systemTheme())
  const [proxyUrl, setProxyUrl] = useState('http://localhost:8001')

  useEffect(() => {
    document.documentElement.dataset.theme = theme
  }, [theme])
  useEffect(() => {
    const media = window.matchMedia?.('(prefers-color-scheme: dark)')
    const follow = () => savedTheme() === null && setTheme(systemTheme())
    media?.addEventListener('change', follow)
    return () => media?.removeEventListener('change', follow)
  }, [])
  const chooseTheme = (t: Theme) => {
    setTheme(t)
    try {
      localStorage.setItem('theme', t)
    } catch {}
  }
  /** A change made here: shown, and a new history entry (back and forward walk through them). */
  const navigate = (next: Partial<View> & { zoomedFrom?: TimeRange[] }) => {
    const view: View = { range: next.range ?? (rangeChosen ? range : null), model: next.model !== undefined ? next.model : model, stream: next.stream ?? stream, endpoint: next.endpoint ?? endpoint, key: next.key !== undefined ? next.key : keyId }
    const zoomed = next.zoomedFrom ?? zoomedFrom
    if (next.range) {
      setRange(next.range)
      setRangeChosen(true)
    }
    if (next.model !== undefined) setModel(next.model)
    if (next.stream !== undefined) setStream(next.stream)
    if (next.endpoint !== undefined) setEndpoint(next.endpoint)
    if (next.key !== undefined) setKeyId(next.key)
    setZoomedFrom(zoomed)
    const url = `${window.location.pathname}${searchFromView(view)}`
    if (url !== `${window.location.pathname}${window.location.search}` || zoomed !== zoomedFrom) window.history.pushState({ zoomedFrom: zoomed } satisfies HistoryState, '', url)
  }
  // Back and forward: the view of that entry.
  useEffect(() => {
    const onPop = (e: PopStateEvent) => {
      const v = viewFromSearch(window.location.search)
      if (v.range) setRange(v.range)
      setRangeChosen(v.range !== null)
      setModel(v.model)
      setStream(v.stream)
      setEndpoint(v.endpoint)
      setKeyId(v.key)
      setZoomedFrom((e.state as HistoryState | null)?.zoomedFrom ?? [])
    }
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  const chooseRange = (r: TimeRange) => navigate({ range: r, zoomedFrom: [] })
  const zoom = (start: number, end: number) => navigate({ range: { kind: 'custom', start, end }, zoomedFrom: [...zoomedFrom, range] })
  const zoomOut = () => {
    const last = zoomedFrom[zoomedFrom.length - 1]
    if (last) navigate({ range: last, zoomedFrom: zoomedFrom.slice(0, -1) })
  }
  useEffect(() => {
    fetch('/config.json').then((r) => r.json()).then((c: { proxyUrl?: string }) => c.proxyUrl && setProxyUrl(c.proxyUrl)).catch(() => {})
  }, [])

  // `model: ''` asks for the requests without a model; null leaves the parameter out.
  const filters = useMemo(() => ({ model, stream: stream || undefined, endpoint: endpoint || undefined, key: keyId ?? undefined }), [model, stream, endpoint, keyId])
  const key = JSON.stringify({ range, filters })
  const current = () => resolveRange(range, Date.now())
  const summary = useSummary(key, () => ({ ...filters, ...current() }), refreshMs)
  const previous = useSummary(`prev:${key}`, () => ({ ...filters, ...previousWindow(current()) }), refreshMs)
  const series = useTimeseries(key, () => ({ ...filters, ...current() }), refreshMs)
  const models = useModels(refreshMs)
  const win = current()
  // A first visit without a range in the address: once we know when the newest request was, open
  // on the shortest range that shows it (the address stays without a range until one is chosen).
  const lastSeen = models.data?.models.map((m) => Date.parse(m.last_seen))
  useEffect(() => {
    if (rangeChosen || !lastSeen) return
    const fit = rangeShowingData(lastSeen, Date.now())
    setRange((r) => (JSON.stringify(r) === JSON.stringify(fit) ? r : fit))
    // Only the first answer decides; later polls must not move the range under the reader.
    setRangeChosen(true)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSeen === undefined])

  // The key filter's choices: every key a summary has named, kept when a filter narrows the
  // summary to one key (so another can be picked without going back to "All keys" first).
  const [keys, setKeys] = useState<{ id: string; name: string | null }[]>([])
  useEffect(() => {
    const byKey = summary.data?.by_key
    if (!byKey?.length) return
    setKeys((known) => {
      const next = [...known]
      for (const k of byKey) {
        const i = next.findIndex((x) => x.id === k.key_id)
        if (i === -1) next.push({ id: k.key_id, name: k.key_name })
        else if (next[i].name !== k.key_name) next[i] = { id: k.key_id, name: k.key_name }
      }
      return next.length === known.length && next.every((k, i) => k === known[i]) ? known : next
    })
  }, [summary.data])

  const error = summary.error ?? series.error ?? models.error
  const noDataYet = models.data !== undefined && models.data.models.length === 0
  const [refreshTick, setRefreshTick] = useState(0)
  const refreshAll = () => {
    ;[summary, previous, series, models].forEach((p) => p.refresh())
    setRefreshTick((n) => n + 1)
  }

  return (
    <div className="app">
      <Header
        range={range}
        window={win}
        onRange={chooseRange}
        onBack={zoomedFrom.length ? zoomOut : undefined}
        models={models.data?.models.map((m) => m.model) ?? []}
        model={model}
        onModel={(m) => navigate({ model: m })}
        keys={keys}
        keyId={keyId}
        onKey={(k) => navigate({ key: k })}
        stream={stream}
        onStream={(s) => navigate({ stream: s })}
        endpoint={endpoint}
        onEndpoint={(e) => navigate({ endpoint: e })}
        refreshMs={refreshMs}
        onRefreshMs={setRefreshMs}
        updatedAt={summary.updatedAt}
        onRefresh={refreshAll}
        theme={theme}
        onTheme={chooseTheme}
        nav={nav}
      />
      <main>
        {error && <ErrorBanner error={error} hasData={summary.data !== undefined} />}
        {summary.data === undefined && !error && <Loading />}
        {noDataYet && <EmptyState proxyUrl={proxyUrl} />}
        {summary.data && !noDataYet && (
          <>
            <KpiCards summary={summary.data} previous={previous.data} />
            {series.data && <Charts series={series.data} onZoom={zoom} />}
            <SaturationPanel range={range} filters={filters} refreshMs={refreshMs} refreshTick={refreshTick} />
            <div className="tables">
              <ModelsTable models={summary.data.by_model} />
              <KeysTable keys={summary.data.by_key} />
              <ErrorsTable errors={summary.data.errors} />
            </div>
            <RequestLog range={range} filters={filters} refreshMs={refreshMs} refreshTick={refreshTick} showContent={signedIn} />
          </>
        )}
      </main>
    </div>
  )
}
