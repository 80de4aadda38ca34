import type { RequestRecord } from '@llm-proxy/core/contracts'
import { useEffect, useRef, useState } from 'react'
import { apiUrl, type Params } from '../../api/client'
import { fetchRequestsPage, useRequestsPage } from '../../api/hooks'
import { CapturedContent } from '../conversation/CapturedContent'
import { useTranslation } from 'react-i18next'
import { i18n } from '../../i18n'
import { keyLabel, modelLabel } from '../../i18n/labels'
import en from '../../i18n/locales/en.json'
import { formatBytes, formatExact, formatExactMs, formatMs, formatRate, formatTime, formatUsd } from '../../lib/format'
import { resolveRange, type TimeRange } from '../../lib/time-range'

const outcomeLabel = (o: string) => (i18n.exists(`logOutcomes.${o}`) ? i18n.t(`logOutcomes.${o}`) : o)

/** Every recorded field in words, in the order the detail panel lists them (locales/*.json, "fields"); the API name is its tooltip. */
const FIELDS = Object.keys(en.fields)
/** A field the list above does not know yet still gets a readable name. */
export const fieldLabel = (key: string) => (FIELDS.includes(key) ? i18n.t(`fields.${key}`) : (key.charAt(0).toUpperCase() + key.slice(1)).replace(/_ms$/, ' (ms)').replace(/_/g, ' '))

function fieldValue(key: string, v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (typeof v === 'boolean') return i18n.t(v ? 'log.yes' : 'log.no')
  if (key === 'ts') return `${formatTime(String(v))} (${String(v)})`
  if (key === 'outcome') return outcomeLabel(String(v))
  if (typeof v === 'number' && key.endsWith('_ms')) return v >= 1000 ? `${formatMs(v)} (${formatExactMs(v)})` : formatMs(v)
  if (typeof v === 'number' && key.endsWith('_bytes')) return formatBytes(v)
  if (typeof v === 'number' && key === 'output_tps') return formatRate(v)
  if (typeof v === 'number' && key === 'cost_usd') return `${formatUsd(v)} (${v})`
  if (typeof v === 'number') return formatExact(v)
  return String(v)
}

export interface RequestLogProps {
  range: TimeRange
  filters: Params
  refreshMs: number | null
  /** Changes when the header's "Refresh" is pressed. */
  refreshTick?: number
  /** A signed-in user: the detail shows what was captured of the request, if anything. */
  showContent?: boolean
}

/** The newest requests, live; older pages through the API's cursor; one request in detail. */
export function RequestLog(props: RequestLogProps) {
  // New range or filters: start over (no older pages, live again).
  return <Log key={JSON.stringify([props.range, props.filters])} {...props} />
}

function Log({ range, filters, refreshMs, refreshTick, showContent = false }: RequestLogProps) {
  const { t } = useTranslation()
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
  // The key column only when a request shown was made with a proxy key (AUTH_MODE=keys).
  const withKeys = rows.some((r) => r.key_id !== null)

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
        <h2 id="log-title">{t('log.title')}</h2>
        {frozen ? (
          <span className="live paused">{t('log.paused')}</span>
        ) : (
          refreshMs !== null && <span className="live">{t('log.live')}</span>
        )}
        <a className="button push" href={apiUrl('/metrics/requests.csv', query())} download="requests.csv">
          {t('log.downloadCsv')}
        </a>
      </div>
      <div className="table-scroll">
        {/* On a phone each row becomes a small card (theme.css); the labels come from data-label. */}
        <table data-testid="request-log" className={withKeys ? 'log-table with-keys' : 'log-table'}>
          <thead>
            <tr><th>{t('log.time')}</th><th>{t('log.model')}</th><th>{t('log.endpoint')}</th><th>{t('log.outcome')}</th><th>{t('log.status')}</th><th>{t('log.latency')}</th><th>{t('log.ttft')}</th><th>{t('log.tokensInOut')}</th><th>{t('log.cost')}</th><th>{t('log.user')}</th>{withKeys && <th>{t('log.key')}</th>}</tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.id}
                data-request-id={r.id}
                className="clickable"
                tabIndex={0}
                onClick={() => setSelected(r)}
                onKeyDown={(e) => {
                  if (e.key !== 'Enter' && e.key !== ' ') return
                  e.preventDefault()
                  setSelected(r)
                }}
                aria-label={t('log.rowLabel', { id: r.id, time: formatTime(r.ts), outcome: outcomeLabel(r.outcome) })}
              >
                <td className="c-time">{formatTime(r.ts)}</td>
                <td className="c-model">{modelLabel(r.model ?? r.model_requested)}</td>
                <td className="c-endpoint"><code>{r.endpoint.replace('/v1/', '')}</code>{r.stream ? <span title={t('log.streamed')}> ⇶</span> : ''}</td>
                <td className="c-outcome"><span className={`pill ${r.outcome}`}>{outcomeLabel(r.outcome)}</span></td>
                <td className="c-status" data-label={t('log.status')}>{r.status_code ?? '—'}</td>
                <td className="c-latency" data-label={t('log.latency')}>{formatMs(r.total_ms)}</td>
                <td className="c-ttft" data-label={t('log.ttft')}>{formatMs(r.ttft_ms)}</td>
                <td className="c-tokens" data-label={t('log.tokens')}>{formatExact(r.prompt_tokens)} / {formatExact(r.completion_tokens)}{r.tokens_estimated ? <span title={t('log.estimated')}>*</span> : ''}</td>
                <td className="c-cost" data-label={t('log.cost')} title={r.cost_usd === null ? t('log.noPrice') : `$${r.cost_usd}`}>{formatUsd(r.cost_usd)}</td>
                <td className="c-user" data-label={t('log.user')}>{r.user ?? '—'}</td>
                {withKeys && <td className="c-key" data-label={t('log.key')} title={r.key_id ?? undefined}>{r.key_id === null ? '—' : keyLabel(r.key_name, r.key_id)}</td>}
              </tr>
            ))}
            {rows.length === 0 && <tr><td colSpan={withKeys ? 11 : 10} className="muted">{live.data ? t('log.noMatch') : t('log.loading')}</td></tr>}
          </tbody>
        </table>
      </div>
      <div className="log-status">
        {next && (
          <button type="button" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? t('log.loading') : t('log.loadOlder')}
          </button>
        )}
        {frozen && <button type="button" onClick={backToLive}>{t('log.backToLive')}</button>}
        {moreError && <span className="invalid" role="alert">{t('log.loadOlderFailed', { message: moreError })}</span>}
      </div>
      {selected && <RequestDetail request={selected} showContent={showContent} onClose={() => setSelected(null)} />}
    </section>
  )
}

function RequestDetail({ request, showContent, onClose }: { request: RequestRecord; showContent: boolean; onClose: () => void }) {
  const { t } = useTranslation()
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
        <h3 id="detail-title">{t('log.detailTitle')} <code>{request.id.slice(0, 8)}</code></h3>
        <button type="button" ref={closeRef} onClick={onClose} aria-label={t('log.closeDetail')}>✕</button>
      </div>
      <dl>
        {[...FIELDS.filter((k) => k in request), ...Object.keys(request).filter((k) => !FIELDS.includes(k))].map((k) => (
          <div key={k} className={k === 'id' || k === 'user_agent' || k === 'error_message' ? 'field long' : 'field'}>
            <dt title={k}>{fieldLabel(k)}</dt>
            <dd>{k === 'id' ? <code className="request-id">{request.id}</code> : fieldValue(k, (request as Record<string, unknown>)[k])}</dd>
          </div>
        ))}
      </dl>
      {showContent && <CapturedContent requestId={request.id} />}
    </aside>
  )
}
