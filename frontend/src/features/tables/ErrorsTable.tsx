import type { ErrorSummary } from '@llm-proxy/core/contracts'
import { formatCount, formatTime } from '../../lib/format'

export function ErrorsTable({ errors }: { errors: ErrorSummary[] }) {
  return (
    <section className="card table-card" aria-labelledby="errors-title">
      <h2 id="errors-title">Errors</h2>
      <div className="table-scroll">
        <table>
          <thead>
            <tr><th>Type</th><th>Status</th><th>Count</th><th>Last seen</th><th>Last message</th></tr>
          </thead>
          <tbody>
            {errors.map((e) => (
              <tr key={`${e.error_type}-${e.status_code}`}>
                <td><code>{e.error_type ?? '—'}</code></td>
                <td>{e.status_code ?? '—'}</td>
                <td>{formatCount(e.count)}</td>
                <td>{formatTime(e.last_seen)}</td>
                <td className="message">{e.last_message ?? '—'}</td>
              </tr>
            ))}
            {errors.length === 0 && <tr><td colSpan={5} className="muted">No errors in this range.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  )
}
