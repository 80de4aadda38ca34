import type { ApiFailure } from '../../api/client'

/** No request recorded yet: how to send the first one. */
export function EmptyState({ proxyUrl }: { proxyUrl: string }) {
  return (
    <section className="card empty" data-testid="empty-state">
      <h2>No requests yet</h2>
      <p>Point any OpenAI SDK at the proxy and change nothing else. Requests show up here within seconds.</p>
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
  const title = error.kind === 'unreachable' ? 'Metrics API unreachable' : error.kind === 'invalid' ? 'Unexpected answer' : 'The metrics API returned an error'
  return (
    <div className="banner error" role="alert" data-testid="error-banner">
      <strong>{title}.</strong> {error.message}
      {hasData && <span className="muted"> Showing the last data received.</span>}
    </div>
  )
}

export function Loading() {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden /> Loading metrics…
    </div>
  )
}
