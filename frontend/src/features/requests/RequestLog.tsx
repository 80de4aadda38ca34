import type { RequestRecord } from '@llm-proxy/core/contracts'
import { useEffect, useRef, useState } from 'react'
import { apiUrl, type Params } from '../../api/client'
import { fetchRequestsPage, useRequestsPage } from '../../api/hooks'
import { formatMs, formatTime, formatUsd } from '../../lib/format'
import { resolveRange, type TimeRange } from '../../lib/time-range'

const OUTCOME_LABEL: Record<string, string> = {
  success: 'success', cancelled: 'cancelled', client_error: 'client error', backend_error: 'backend error', network_error: 'network error',
}

export interface RequestLogProps {
  range: TimeRange
  filters: Params
  refreshMs: number | null
  /** Changes when the header's "Refresh" is pressed. */
  refreshTick?: number
}

/** The newest requests, live; older pages through the API's cursor; one request in detail. */
export function RequestLog(props: RequestLogProps) {
  // New range or filters: start over (no older pages, live again).
  return <Log key={JSON.stringify([props.range, props.filters])} {...props} />
}

function Log({ range, filters, refreshMs, refreshTick }: RequestLogProps) {
  // A relative range moves with the clock, so its start is computed at each fetch.
  const query = (): Params => {
    const w = resolveRange(range, Date.now())
    return range.kind === 'custom' ? { ...filters, start: w.start, end: w.end } : { ...filters, start: w.start }
  }
  const [older, setOlder] = useState<RequestRecord[]>([])
  // The newest page as it was when older pages were first loaded: the head stops moving while
  // someone reads further down, or new requests would open a gap between it and the older pages.
  const [frozen, setFrozen] = useState<RequestRecord[] | null>(null)
  const [cursor, setCursor] = useState<string | null | undefined>(undefined)
  const [loadingMore, setLoadingMore] = useState(false)
  const [moreError, setMoreError] = useState<string | null>(null)
  const [selected, setSelected] = useState<RequestRecord | null>(null)
  const abort = useRef<AbortController | null>(null)
  useEffect(() => () => abort.current?.abort(), [])

  const live = useRequestsPage(JSON.stringify([range, filters]), () => ({ ...query(), limit: 25 }), frozen ? null : refreshMs)
  const refreshLive = live.refresh
  useEffect(() => {
    if (refreshTick) refreshLive()
  }, [refreshTick, refreshLive])
  const head = frozen ?? live.data?.data ?? []
  const next = cursor === undefined ? (live.data?.next_cursor ?? null) : cursor
  const rows = [...head, ...older]

  async function loadMore() {
    if (!next || loadingMore) return
    setLoadingMore(true)
    setMoreError(null)
    abort.current = new AbortController()
    try {
      const page = await fetchRequestsPage({ ...query(), limit: 50, cursor: next }, abort.current.signal)
      setFrozen((f) => f ?? head)
      setOlder((o) => [...o, ...page.data.filter((r) => !o.some((x) => x.id === r.id) && !head.some((x) => x.id === r.id))])
      setCursor(page.next_cursor)
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setMoreError((err as Error).message)
    } finally {
      setLoadingMore(false)
    }
  }
  function backToLive() {
    setOlder([])
    setFrozen(null)
    setCursor(undefined)
    setMoreError(null)
    live.refresh()
  }

  return (
    <section className="card table-card" aria-labelledby="log-title">
      <div className="card-head">
        <h2 id="log-title">Requests</h2>
        {frozen ? (
          <span className="live paused">Paused while older requests are shown</span>
        ) : (
          refreshMs !== null && <span className="live">Live</span>
        )}
        <a className="button push" href={apiUrl('/metrics/requests.csv', query())} download="requests.csv">
          Download CSV
        </a>
      </div>
      <div className="table-scroll">
        <table data-testid="request-log">
          <thead>
            <tr><th>Time</th><th>Model</th><th>Endpoint</th><th>Outcome</th><th>Status</th><th>Latency</th><th>TTFT</th><th>Tokens in / out</th><th>Cost</th><th>User</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.id}
                className="clickable"
                tabIndex={0}
                onClick={() => setSelected(r)}
                onKeyDown={(e) => {
                  if (e.key !== 'Enter' && e.key !== ' ') return
                  e.preventDefault()
                  setSelected(r)
                }}
                aria-label={`Request ${r.id}, ${formatTime(r.ts)}, ${OUTCOME_LABEL[r.outcome]}: show details`}
              >
                <td>{formatTime(r.ts)}</td>
                <td>{r.model ?? r.model_requested ?? '—'}</td>
                <td><code>{r.endpoint.replace('/v1/', '')}</code>{r.stream ? <span title="streamed"> ⇶</span> : ''}</td>
                <td><span className={`pill ${r.outcome}`}>{OUTCOME_LABEL[r.outcome]}</span></td>
                <td>{r.status_code ?? '—'}</td>
                <td>{formatMs(r.total_ms)}</td>
                <td>{formatMs(r.ttft_ms)}</td>
                <td>{r.prompt_tokens ?? '—'} / {r.completion_tokens ?? '—'}{r.tokens_estimated ? <span title="estimated">*</span> : ''}</td>
                <td title={r.cost_usd === null ? 'No price known for this model' : `$${r.cost_usd}`}>{formatUsd(r.cost_usd)}</td>
                <td>{r.user ?? '—'}</td>
              </tr>
            ))}
            {rows.length === 0 && <tr><td colSpan={10} className="muted">{live.data ? 'No requests match.' : 'Loading…'}</td></tr>}
          </tbody>
        </table>
      </div>
      <div className="log-status">
        {next && (
          <button type="button" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load older requests'}
          </button>
        )}
        {frozen && <button type="button" onClick={backToLive}>Back to the newest (live)</button>}
        {moreError && <span className="invalid" role="alert">Could not load older requests: {moreError}</span>}
      </div>
      {selected && <RequestDetail request={selected} onClose={() => setSelected(null)} />}
    </section>
  )
}

function RequestDetail({ request, onClose }: { request: RequestRecord; onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null)
  // The parent re-renders at every poll; keep the effect from re-running (and moving focus) then.
  const close = useRef(onClose)
  close.current = onClose
  useEffect(() => {
    // Focus moves into the panel and back to the row it was opened from.
    const opener = document.activeElement as HTMLElement | null
    closeRef.current?.focus()
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close.current()
    window.addEventListener('keydown', onKey)
    return () => {
      window.removeEventListener('keydown', onKey)
      opener?.focus?.()
    }
  }, [])
  return (
    <aside className="detail" role="dialog" aria-labelledby="detail-title" data-testid="request-detail">
      <div className="detail-head">
        <h3 id="detail-title">Request <code>{request.id.slice(0, 8)}</code></h3>
        <button type="button" ref={closeRef} onClick={onClose} aria-label="Close details">✕</button>
      </div>
      <dl>
        {Object.entries(request).map(([k, v]) => (
          <div key={k} className="field">
            <dt>{k}</dt>
            <dd>{k === 'ts' ? `${formatTime(String(v))} (${v})` : v === null ? '—' : String(v)}</dd>
          </div>
        ))}
      </dl>
    </aside>
  )
}
