import type { RequestRecord } from '@llm-proxy/core/contracts'
import { useEffect, useRef, useState } from 'react'
import { apiUrl, type Params } from '../../api/client'
import { fetchRequestsPage, useRequestsPage } from '../../api/hooks'
import { formatMs, formatTime } from '../../lib/format'

const OUTCOME_LABEL: Record<string, string> = {
  success: 'success', cancelled: 'cancelled', client_error: 'client error', backend_error: 'backend error', network_error: 'network error',
}

/** The newest requests, live; older pages through the API's cursor; one request in detail. */
export function RequestLog({ filters, refreshMs }: { filters: Params; refreshMs: number | null }) {
  const live = useRequestsPage({ ...filters, limit: 25 }, refreshMs)
  const [older, setOlder] = useState<RequestRecord[]>([])
  const [cursor, setCursor] = useState<string | null | undefined>(undefined)
  const [selected, setSelected] = useState<RequestRecord | null>(null)
  const key = JSON.stringify(filters)
  useEffect(() => {
    setOlder([])
    setCursor(undefined)
  }, [key])

  const first = live.data?.data ?? []
  const next = cursor === undefined ? live.data?.next_cursor ?? null : cursor
  const rows = [...first, ...older.filter((r) => !first.some((f) => f.id === r.id))]

  async function loadMore() {
    if (!next) return
    const page = await fetchRequestsPage({ ...filters, limit: 50, cursor: next })
    setOlder((o) => [...o, ...page.data])
    setCursor(page.next_cursor)
  }

  return (
    <section className="card table-card" aria-labelledby="log-title">
      <div className="card-head">
        <h2 id="log-title">Requests</h2>
        <a className="button" href={apiUrl('/metrics/requests.csv', filters)} download="requests.csv">Download CSV</a>
      </div>
      <div className="table-scroll">
        <table data-testid="request-log">
          <thead>
            <tr><th>Time</th><th>Model</th><th>Endpoint</th><th>Outcome</th><th>Status</th><th>Latency</th><th>TTFT</th><th>Tokens</th><th>User</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className="clickable" tabIndex={0} onClick={() => setSelected(r)} onKeyDown={(e) => e.key === 'Enter' && setSelected(r)} aria-label={`Request ${r.id}`}>
                <td>{formatTime(r.ts)}</td>
                <td>{r.model ?? r.model_requested ?? '—'}</td>
                <td><code>{r.endpoint.replace('/v1/', '')}</code>{r.stream ? ' ⇶' : ''}</td>
                <td><span className={`pill ${r.outcome}`}>{OUTCOME_LABEL[r.outcome]}</span></td>
                <td>{r.status_code ?? '—'}</td>
                <td>{formatMs(r.total_ms)}</td>
                <td>{formatMs(r.ttft_ms)}</td>
                <td>{r.prompt_tokens ?? '—'} / {r.completion_tokens ?? '—'}{r.tokens_estimated ? '*' : ''}</td>
                <td>{r.user ?? '—'}</td>
              </tr>
            ))}
            {rows.length === 0 && <tr><td colSpan={9} className="muted">No requests match.</td></tr>}
          </tbody>
        </table>
      </div>
      {next && <button type="button" className="more" onClick={loadMore}>Load older requests</button>}
      {selected && <RequestDetail request={selected} onClose={() => setSelected(null)} />}
    </section>
  )
}

function RequestDetail({ request, onClose }: { request: RequestRecord; onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    closeRef.current?.focus()
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])
  return (
    <aside className="detail" role="dialog" aria-modal="true" aria-labelledby="detail-title" data-testid="request-detail">
      <div className="detail-head">
        <h3 id="detail-title">Request {request.id.slice(0, 8)}</h3>
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
