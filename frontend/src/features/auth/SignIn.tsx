import { useEffect, useRef, useState, type FormEvent } from 'react'
import { signIn } from '../../api/session'
import { useTranslation } from 'react-i18next'

/** The sign-in form (ADMIN_USER / ADMIN_PASSWORD on the dashboard server). */
export function SignIn({ onSignedIn, notice }: { onSignedIn: () => void; notice?: string | null }) {
  const { t } = useTranslation()
  const [user, setUser] = useState('admin')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const passwordRef = useRef<HTMLInputElement>(null)
  useEffect(() => passwordRef.current?.focus(), [])

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    const failed = await signIn(user, password)
    setBusy(false)
    if (failed === null) return onSignedIn()
    setError(failed)
    setPassword('')
    passwordRef.current?.focus()
  }

  return (
    <main className="sign-in">
      <form className="card sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title" data-testid="sign-in-form">
        <div className="brand">
          <span className="logo" aria-hidden>◆</span>
          <h1 id="sign-in-title">{t('auth.title')}</h1>
        </div>
        {notice && <p className="notice" role="status">{notice}</p>}
        <label className="field">
          <span>{t('auth.user')}</span>
          <input name="user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} required />
        </label>
        <label className="field">
          <span>{t('auth.password')}</span>
          <input ref={passwordRef} name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required aria-invalid={error ? true : undefined} aria-describedby={error ? 'sign-in-error' : undefined} />
        </label>
        {error && <p id="sign-in-error" className="form-error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? t('auth.signingIn') : t('auth.signIn')}</button>
        <a href="/" className="muted back-link">{t('auth.back')}</a>
      </form>
    </main>
  )
}
