import { useCallback, useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { signOut, useSession } from './api/session'
import { App, savedTheme, systemTheme } from './App'
import { SessionNav, linkTo } from './features/auth/SessionNav'
import { SignIn } from './features/auth/SignIn'
import { KeysPage } from './features/keys/KeysPage'

/** Where "next" may send the user after sign-in: a path of this dashboard only. */
const safeNext = (v: string | null) => (v && v.startsWith('/') && !v.startsWith('//') ? v : '/')

function Redirect({ to, go }: { to: string; go: (path: string) => void }) {
  useEffect(() => go(to), [to, go])
  return null
}

/**
 * Three pages: the dashboard (/), the sign-in form (/sign-in) and, for a signed-in user, the Keys
 * page (/keys). Without sign-in on the server, only the dashboard, exactly as before.
 */
export function Root() {
  const { t } = useTranslation()
  const [path, setPath] = useState(window.location.pathname)
  const [notice, setNotice] = useState<string | null>(null)
  const { info: session, refresh } = useSession()
  const go = useCallback((to: string) => {
    window.history.pushState(null, '', to)
    setPath(window.location.pathname)
  }, [])
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname)
    window.addEventListener('popstate', onPop)
    return () => window.removeEventListener('popstate', onPop)
  }, [])
  // The dashboard sets the theme itself; the other pages take the saved one.
  useEffect(() => {
    if (path !== '/') document.documentElement.dataset.theme = savedTheme() ?? systemTheme()
  }, [path])

  // Signed in a moment ago and not any more, without signing out: the session ran out.
  const signedIn = useRef(false)
  useEffect(() => {
    if (session === null) return
    if (signedIn.current && !session.user) setNotice((n) => n ?? t('auth.sessionEnded'))
    signedIn.current = session.user !== null
  }, [session])

  const onSignOut = async () => {
    signedIn.current = false
    await signOut()
    await refresh()
    setNotice(t('auth.signedOut'))
    go('/sign-in')
  }
  const onSessionEnded = () => {
    setNotice(t('auth.sessionEnded'))
    void refresh()
  }
  const page = path === '/keys' ? 'keys' : 'dashboard'
  const nav = <SessionNav session={session} page={page} go={go} onSignOut={() => void onSignOut()} />

  if (path === '/sign-in' || path === '/keys') {
    if (session === null) return <div className="loading" role="status"><span className="spinner" aria-hidden /> {t('auth.loading')}</div>
    if (!session.enabled) {
      return (
        <main className="sign-in">
          <div className="card sign-in-card">
            <h1>{t('auth.offTitle')}</h1>
            <p>{t('auth.offBody', { variable: 'ADMIN_PASSWORD' })}</p>
            <a href="/" onClick={linkTo(go, '/')}>{t('auth.back')}</a>
          </div>
        </main>
      )
    }
    if (!session.user || path === '/sign-in') {
      const next = path === '/keys' ? '/keys' : safeNext(new URLSearchParams(window.location.search).get('next'))
      // Already signed in: on to where the form would have led.
      if (session.user) return <Redirect to={next} go={go} />
      return (
        <SignIn
          notice={notice}
          onSignedIn={() => {
            setNotice(null)
            void refresh().then(() => go(next))
          }}
        />
      )
    }
    if (!session.keys) {
      return (
        <main className="sign-in">
          <div className="card sign-in-card">
            <h1>{t('auth.keysOffTitle')}</h1>
            <p>{t('auth.keysOffBody', { token: 'ADMIN_TOKEN', url: 'ADMIN_API_URL' })}</p>
            <a href="/" onClick={linkTo(go, '/')}>{t('auth.back')}</a>
          </div>
        </main>
      )
    }
    return (
      <KeysPage
        onSessionEnded={onSessionEnded}
        header={
          <header className="header">
            <a className="brand" href="/" onClick={linkTo(go, '/')}>
              <span className="logo" aria-hidden>◆</span>
              <h1>{t('app.title')}</h1>
            </a>
            <div className="controls">{nav}</div>
          </header>
        }
      />
    )
  }
  return <App nav={nav} signedIn={Boolean(session?.enabled && session.user)} />
}
