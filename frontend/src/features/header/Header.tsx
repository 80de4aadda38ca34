import { useEffect, useState, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { LanguageSelect } from './LanguageSelect'
import { keyLabel, modelLabel } from '../../i18n/labels'
import { formatInterval, formatTime } from '../../lib/format'
import { RANGES, fromLocalInput, toLocalInput, type TimeRange, type Window } from '../../lib/time-range'

export const REFRESH_OPTIONS = [
  { id: 'off', ms: null },
  { id: '5s', ms: 5_000 },
  { id: '10s', ms: 10_000 },
  { id: '30s', ms: 30_000 },
  { id: '1m', ms: 60_000 },
] as const
/** The metered endpoints, by the protocol a person knows them as. */
export const ENDPOINTS = [
  { path: '/v1/chat/completions', id: 'chat' },
  { path: '/v1/completions', id: 'completions' },
  { path: '/v1/embeddings', id: 'embeddings' },
  { path: '/v1/responses', id: 'responses' },
  { path: '/v1/messages', id: 'messages' },
] as const
export const THEMES = ['light', 'dark', 'terminal', 'solarized', 'vivid'] as const
export type Theme = (typeof THEMES)[number]

export interface HeaderProps {
  range: TimeRange
  window: Window
  onRange: (r: TimeRange) => void
  /** Set after a zoom on a chart: back to the range before it. */
  onBack?: () => void
  /** Model names as the API reports them; '' is the requests that named none. */
  models: string[]
  /** null: all models. */
  model: string | null
  onModel: (m: string | null) => void
  /** Proxy keys seen in the summary, by id; the filter shows only when there is one (or one is chosen). */
  keys: { id: string; name: string | null }[]
  /** A key's id; null: all keys. */
  keyId: string | null
  onKey: (k: string | null) => void
  stream: '' | 'true' | 'false'
  onStream: (s: '' | 'true' | 'false') => void
  endpoint: string
  onEndpoint: (e: string) => void
  refreshMs: number | null
  onRefreshMs: (ms: number | null) => void
  updatedAt: number | null
  onRefresh: () => void
  theme: Theme
  onTheme: (t: Theme) => void
  /** Sign-in, Keys and sign-out links (only when the dashboard has sign-in). */
  nav?: ReactNode
}

export function Header(p: HeaderProps) {
  const { t } = useTranslation()
  const [customOpen, setCustomOpen] = useState(false)
  const [invalid, setInvalid] = useState(false)
  const [from, setFrom] = useState(toLocalInput(p.window.start))
  const [to, setTo] = useState(toLocalInput(p.window.end))
  const rangeValue = p.range.kind === 'relative' && !customOpen ? p.range.id : 'custom'
  // A range chosen elsewhere (a zoom on a chart, "Back") shows up in the From/To fields.
  useEffect(() => {
    if (p.range.kind === 'custom') {
      setFrom(toLocalInput(p.range.start))
      setTo(toLocalInput(p.range.end))
    } else setCustomOpen(false)
  }, [p.range])

  return (
    <header className="header">
      <div className="brand">
        <span className="logo" aria-hidden>◆</span>
        <h1>{t('app.title')}</h1>
      </div>
      <div className="controls">
        <label>
          <span>{t('header.timeRange')}</span>
          <select
            value={rangeValue}
            onChange={(e) => {
              if (e.target.value === 'custom') {
                setFrom(toLocalInput(p.window.start))
                setTo(toLocalInput(p.window.end))
                setCustomOpen(true)
              } else {
                setCustomOpen(false)
                p.onRange({ kind: 'relative', id: e.target.value as (typeof RANGES)[number]['id'] })
              }
            }}
          >
            {RANGES.map((r) => <option key={r.id} value={r.id}>{t(`ranges.${r.id}`)}</option>)}
            <option value="custom">{t('header.custom')}</option>
          </select>
        </label>
        {p.onBack && (
          <button type="button" className="back" onClick={p.onBack} aria-label={t('header.backLabel')}>
            {t('header.back')}
          </button>
        )}
        {(customOpen || p.range.kind === 'custom') && (
          <form
            className="custom-range"
            onSubmit={(e) => {
              e.preventDefault()
              const s = fromLocalInput(from)
              const t = fromLocalInput(to)
              if (s === null || t === null || t <= s) return setInvalid(true)
              setInvalid(false)
              p.onRange({ kind: 'custom', start: s, end: t })
            }}
          >
            <label><span>{t('header.from')}</span><input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
            <label><span>{t('header.to')}</span><input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} /></label>
            <button type="submit">{t('header.apply')}</button>
            {invalid && <span className="invalid" role="alert">{t('header.invalidRange')}</span>}
          </form>
        )}
        <label>
          <span>{t('header.model')}</span>
          {/* Option values carry a prefix so that "all" and "no model" ('') stay apart. */}
          <select value={p.model === null ? 'all' : `m:${p.model}`} onChange={(e) => p.onModel(e.target.value === 'all' ? null : e.target.value.slice(2))}>
            <option value="all">{t('header.allModels')}</option>
            {(p.model === null || p.models.includes(p.model) ? p.models : [...p.models, p.model]).map((m) => (
              <option key={m} value={`m:${m}`}>{modelLabel(m)}</option>
            ))}
          </select>
        </label>
        {(p.keys.length > 0 || p.keyId !== null) && (
          <label>
            <span>{t('header.key')}</span>
            <select value={p.keyId ?? ''} onChange={(e) => p.onKey(e.target.value || null)}>
              <option value="">{t('header.allKeys')}</option>
              {p.keys.map((k) => <option key={k.id} value={k.id}>{keyLabel(k.name, k.id)}</option>)}
              {/* A key from the address that the summary has not named (yet): by its id. */}
              {p.keyId !== null && !p.keys.some((k) => k.id === p.keyId) && <option value={p.keyId}>{p.keyId}</option>}
            </select>
          </label>
        )}
        <label>
          <span>{t('header.endpoint')}</span>
          <select value={p.endpoint} onChange={(e) => p.onEndpoint(e.target.value)}>
            <option value="">{t('header.allEndpoints')}</option>
            {ENDPOINTS.map((e) => <option key={e.path} value={e.path}>{t(`endpoints.${e.id}`)}</option>)}
          </select>
        </label>
        <label>
          <span>{t('header.streaming')}</span>
          <select value={p.stream} onChange={(e) => p.onStream(e.target.value as HeaderProps['stream'])}>
            <option value="">{t('header.streamAll')}</option>
            <option value="true">{t('header.streamed')}</option>
            <option value="false">{t('header.notStreamed')}</option>
          </select>
        </label>
        <label>
          <span>{t('header.refresh')}</span>
          <select value={String(p.refreshMs)} onChange={(e) => p.onRefreshMs(e.target.value === 'null' ? null : Number(e.target.value))}>
            {REFRESH_OPTIONS.map((o) => <option key={o.id} value={String(o.ms)}>{o.ms === null ? t('header.refreshOff') : formatInterval(o.ms)}</option>)}
          </select>
        </label>
        <label>
          <span>{t('header.theme')}</span>
          <select value={p.theme} onChange={(e) => p.onTheme(e.target.value as Theme)} data-testid="theme">
            {THEMES.map((th) => <option key={th} value={th}>{t(`themes.${th}`)}</option>)}
          </select>
        </label>
        <LanguageSelect />
        <div className="updated">
          <span aria-live="polite">{t('header.updated', { time: p.updatedAt ? formatTime(new Date(p.updatedAt).toISOString()) : '—' })}</span>
          <button type="button" onClick={p.onRefresh} aria-label={t('header.refreshNow')}>{t('header.refreshButton')}</button>
        </div>
        {p.nav}
      </div>
    </header>
  )
}
