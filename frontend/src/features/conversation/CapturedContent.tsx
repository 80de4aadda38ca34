import { CapturedContent as Content } from '@llm-proxy/core/contracts'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Conversation } from './Conversation'

type State = { kind: 'loading' } | { kind: 'none' } | { kind: 'error'; message: string } | { kind: 'ready'; content: Content }

/**
 * What was captured of one request, for a signed-in user: fetched when the request is opened. A
 * request with nothing captured (capture was off for it) shows nothing at all, not even a heading.
 */
export function CapturedContent({ requestId }: { requestId: string }) {
  const { t } = useTranslation()
  const [state, setState] = useState<State>({ kind: 'loading' })
  useEffect(() => {
    const ctl = new AbortController()
    setState({ kind: 'loading' })
    fetch(`/api/requests/${encodeURIComponent(requestId)}/content`, { signal: ctl.signal, credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(async (res) => {
        if (res.status === 404) return setState({ kind: 'none' })
        const body: unknown = await res.json().catch(() => null)
        if (!res.ok) {
          const message = (body as { error?: { message?: string } } | null)?.error?.message
          return setState({ kind: 'error', message: message ?? t('capture.failed', { status: res.status }) })
        }
        const parsed = Content.safeParse(body)
        setState(parsed.success ? { kind: 'ready', content: parsed.data } : { kind: 'error', message: t('capture.invalid') })
      })
      .catch((err: Error) => {
        if (err.name !== 'AbortError') setState({ kind: 'error', message: t('capture.unreachable') })
      })
    return () => ctl.abort()
  }, [requestId, t])

  if (state.kind === 'none') return null
  return (
    <section className="captured" aria-labelledby="captured-title" data-testid="captured-content">
      <h4 id="captured-title">{t('capture.title')}</h4>
      {state.kind === 'loading' && (
        <p className="muted" role="status">
          <span className="spinner" aria-hidden /> {t('capture.loading')}
        </p>
      )}
      {state.kind === 'error' && <p className="invalid" role="alert">{state.message}</p>}
      {state.kind === 'ready' && <Conversation content={state.content} />}
    </section>
  )
}
