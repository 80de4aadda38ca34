import { useTranslation } from 'react-i18next'
import type { ApiFailure } from '../../api/client'

/** No request recorded yet: how to send the first one. */
export function EmptyState({ proxyUrl }: { proxyUrl: string }) {
  const { t } = useTranslation()
  return (
    <section className="card empty" data-testid="empty-state">
      <h2>{t('states.emptyTitle')}</h2>
      <p>{t('states.emptyText')}</p>
      <pre><code>{`from openai import OpenAI
client = OpenAI(base_url="${proxyUrl}/v1", api_key="your-key")
client.chat.completions.create(model="llama3.2:1b",
    messages=[{"role": "user", "content": "Hello!"}])`}</code></pre>
      <pre><code>{`curl ${proxyUrl}/v1/chat/completions -H 'content-type: application/json' \\
  -d '{"model":"llama3.2:1b","messages":[{"role":"user","content":"Hello!"}]}'`}</code></pre>
    </section>
  )
}

/** A failed refresh: what failed, while the last data stays on screen. */
export function ErrorBanner({ error, hasData }: { error: ApiFailure; hasData: boolean }) {
  const { t } = useTranslation()
  const title = t(error.kind === 'unreachable' ? 'states.unreachable' : error.kind === 'invalid' ? 'states.invalid' : 'states.httpError')
  return (
    <div className="banner error" role="alert" data-testid="error-banner">
      <strong>{title}.</strong> {error.message}
      {hasData && <span className="muted"> {t('states.showingLast')}</span>}
    </div>
  )
}

export function Loading() {
  const { t } = useTranslation()
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden /> {t('states.loading')}
    </div>
  )
}
