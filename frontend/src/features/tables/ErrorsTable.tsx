import type { ErrorSummary } from '@llm-proxy/core/contracts'
import { useTranslation } from 'react-i18next'
import { formatCount, formatTime } from '../../lib/format'

export function ErrorsTable({ errors }: { errors: ErrorSummary[] }) {
  const { t } = useTranslation()
  return (
    <section className="card table-card" aria-labelledby="errors-title">
      <h2 id="errors-title">{t('tables.errors')}</h2>
      <div className="table-scroll">
        <table>
          <thead>
            <tr><th>{t('tables.type')}</th><th>{t('tables.status')}</th><th>{t('tables.count')}</th><th>{t('tables.lastSeen')}</th><th>{t('tables.lastMessage')}</th></tr>
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
            {errors.length === 0 && <tr><td colSpan={5} className="muted">{t('tables.noErrors')}</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  )
}
