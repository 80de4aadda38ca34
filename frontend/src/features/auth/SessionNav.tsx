import type { MouseEvent } from 'react'
import type { SessionInfo } from '../../api/session'
import { useTranslation } from 'react-i18next'

/** Same-page navigation for plain links (a modified click still opens a new tab). */
export const linkTo = (go: (path: string) => void, path: string) => (e: MouseEvent) => {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  go(path)
}

/** Header links: nothing when sign-in is off; "Sign in" when signed out; Keys and "Sign out" when signed in. */
export function SessionNav({ session, page, go, onSignOut }: { session: SessionInfo | null; page: 'dashboard' | 'keys'; go: (path: string) => void; onSignOut: () => void }) {
  const { t } = useTranslation()
  if (!session?.enabled) return null
  if (!session.user) {
    return (
      <nav className="session-nav" aria-label={t('auth.account')}>
        <a className="button" href="/sign-in" onClick={linkTo(go, '/sign-in')}>{t('auth.signIn')}</a>
      </nav>
    )
  }
  return (
    <nav className="session-nav" aria-label={t('auth.account')}>
      {page === 'keys' ? (
        <a className="button" href="/" onClick={linkTo(go, '/')}>{t('auth.dashboard')}</a>
      ) : (
        session.keys && <a className="button" href="/keys" onClick={linkTo(go, '/keys')}>{t('auth.keys')}</a>
      )}
      <span className="muted user" title={t('auth.signedIn')}>{session.user}</span>
      <button type="button" onClick={onSignOut}>{t('auth.signOut')}</button>
    </nav>
  )
}
