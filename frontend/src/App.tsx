import { useEffect, useMemo, useState } from 'react'
import { useModels, useSummary, useTimeseries } from './api/hooks'
import { Charts } from './features/charts/Charts'
import { Header, type Theme } from './features/header/Header'
import { KpiCards } from './features/kpi/KpiCards'
import { RequestLog } from './features/requests/RequestLog'
import { EmptyState, ErrorBanner, Loading } from './features/states/States'
import { ErrorsTable } from './features/tables/ErrorsTable'
import { ModelsTable } from './features/tables/ModelsTable'
import { previousWindow, resolveRange, type TimeRange } from './lib/time-range'

function initialTheme(): Theme {
  const t = document.documentElement.dataset.theme
  return t === 'dark' || t === 'terminal' ? t : 'light'
}

export function App() {
  const [range, setRange] = useState<TimeRange>({ kind: 'relative', id: '1h' })
  const [model, setModel] = useState('')
  const [stream, setStream] = useState<'' | 'true' | 'false'>('')
  const [refreshMs, setRefreshMs] = useState<number | null>(10_000)
  const [theme, setTheme] = useState<Theme>(initialTheme)
  const [proxyUrl, setProxyUrl] = useState('http://localhost:8001')

  useEffect(() => {
    document.documentElement.dataset.theme = theme
    try {
      localStorage.setItem('theme', theme)
    } catch {}
  }, [theme])
  useEffect(() => {
    fetch('/config.json').then((r) => r.json()).then((c: { proxyUrl?: string }) => c.proxyUrl && setProxyUrl(c.proxyUrl)).catch(() => {})
  }, [])

  const filters = useMemo(() => ({ model: model || undefined, stream: stream || undefined }), [model, stream])
  const key = JSON.stringify({ range, filters })
  const current = () => resolveRange(range, Date.now())
  const summary = useSummary(key, () => ({ ...filters, ...current() }), refreshMs)
  const previous = useSummary(`prev:${key}`, () => ({ ...filters, ...previousWindow(current()) }), refreshMs)
  const series = useTimeseries(key, () => ({ ...filters, ...current() }), refreshMs)
  const models = useModels(refreshMs)
  const window = current()
  const logFilters = useMemo(() => (range.kind === 'custom' ? { ...filters, start: range.start, end: range.end } : filters), [filters, range])

  const error = summary.error ?? series.error ?? models.error
  const noDataYet = models.data !== undefined && models.data.models.length === 0
  const refreshAll = () => [summary, previous, series, models].forEach((p) => p.refresh())

  return (
    <div className="app">
      <Header
        range={range}
        window={window}
        onRange={setRange}
        models={models.data?.models.map((m) => m.model) ?? []}
        model={model}
        onModel={setModel}
        stream={stream}
        onStream={setStream}
        refreshMs={refreshMs}
        onRefreshMs={setRefreshMs}
        updatedAt={summary.updatedAt}
        onRefresh={refreshAll}
        theme={theme}
        onTheme={setTheme}
      />
      <main>
        {error && <ErrorBanner error={error} hasData={summary.data !== undefined} />}
        {summary.data === undefined && !error && <Loading />}
        {noDataYet && <EmptyState proxyUrl={proxyUrl} />}
        {summary.data && !noDataYet && (
          <>
            <KpiCards summary={summary.data} previous={previous.data} />
            {series.data && <Charts series={series.data} onZoom={(start, end) => setRange({ kind: 'custom', start, end })} />}
            <div className="tables">
              <ModelsTable models={summary.data.by_model} />
              <ErrorsTable errors={summary.data.errors} />
            </div>
            <RequestLog filters={logFilters} refreshMs={refreshMs} />
          </>
        )}
      </main>
    </div>
  )
}
