import { useEffect, useMemo, useState } from 'react'
import { useModels, useSummary, useTimeseries } from './api/hooks'
import { Charts } from './features/charts/Charts'
import { Header, THEMES, type Theme } from './features/header/Header'
import { KpiCards } from './features/kpi/KpiCards'
import { RequestLog } from './features/requests/RequestLog'
import { EmptyState, ErrorBanner, Loading } from './features/states/States'
import { ErrorsTable } from './features/tables/ErrorsTable'
import { ModelsTable } from './features/tables/ModelsTable'
import { previousWindow, resolveRange, type TimeRange } from './lib/time-range'

const isTheme = (t: unknown): t is Theme => THEMES.includes(t as Theme)
const systemTheme = (): Theme => (window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')
function savedTheme(): Theme | null {
  try {
    const t = localStorage.getItem('theme')
    return isTheme(t) ? t : null
  } catch {
    return null
  }
}

export function App() {
  const [range, setRange] = useState<TimeRange>({ kind: 'relative', id: '1h' })
  // Ranges left by zooming into a chart, so "Back" can return to them.
  const [zoomedFrom, setZoomedFrom] = useState<TimeRange[]>([])
  const [model, setModel] = useState('')
  const [stream, setStream] = useState<'' | 'true' | 'false'>('')
  const [endpoint, setEndpoint] = useState('')
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
  const chooseRange = (r: TimeRange) => {
    setZoomedFrom([])
    setRange(r)
  }
  const zoom = (start: number, end: number) => {
    setZoomedFrom((h) => [...h, range])
    setRange({ kind: 'custom', start, end })
  }
  const zoomOut = () => {
    const last = zoomedFrom[zoomedFrom.length - 1]
    if (!last) return
    setZoomedFrom((h) => h.slice(0, -1))
    setRange(last)
  }
  useEffect(() => {
    fetch('/config.json').then((r) => r.json()).then((c: { proxyUrl?: string }) => c.proxyUrl && setProxyUrl(c.proxyUrl)).catch(() => {})
  }, [])

  const filters = useMemo(() => ({ model: model || undefined, stream: stream || undefined, endpoint: endpoint || undefined }), [model, stream, endpoint])
  const key = JSON.stringify({ range, filters })
  const current = () => resolveRange(range, Date.now())
  const summary = useSummary(key, () => ({ ...filters, ...current() }), refreshMs)
  const previous = useSummary(`prev:${key}`, () => ({ ...filters, ...previousWindow(current()) }), refreshMs)
  const series = useTimeseries(key, () => ({ ...filters, ...current() }), refreshMs)
  const models = useModels(refreshMs)
  const win = current()

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
        onModel={setModel}
        stream={stream}
        onStream={setStream}
        endpoint={endpoint}
        onEndpoint={setEndpoint}
        refreshMs={refreshMs}
        onRefreshMs={setRefreshMs}
        updatedAt={summary.updatedAt}
        onRefresh={refreshAll}
        theme={theme}
        onTheme={chooseTheme}
      />
      <main>
        {error && <ErrorBanner error={error} hasData={summary.data !== undefined} />}
        {summary.data === undefined && !error && <Loading />}
        {noDataYet && <EmptyState proxyUrl={proxyUrl} />}
        {summary.data && !noDataYet && (
          <>
            <KpiCards summary={summary.data} previous={previous.data} />
            {series.data && <Charts series={series.data} onZoom={zoom} />}
            <div className="tables">
              <ModelsTable models={summary.data.by_model} />
              <ErrorsTable errors={summary.data.errors} />
            </div>
            <RequestLog range={range} filters={filters} refreshMs={refreshMs} refreshTick={refreshTick} />
          </>
        )}
      </main>
    </div>
  )
}
