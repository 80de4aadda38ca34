import { useCallback, useEffect, useState } from 'react'
import { i18n } from '../i18n'

/** `GET /auth/session`: whether sign-in is on, who is signed in, until when, and whether keys can be managed. */
export interface SessionInfo {
  enabled: boolean
  user: string | null
  expires_at: string | null
  keys: boolean
}
const OFF: SessionInfo = { enabled: false, user: null, expires_at: null, keys: false }

export async function fetchSession(): Promise<SessionInfo> {
  try {
    const res = await fetch('/auth/session', { credentials: 'same-origin', headers: { accept: 'application/json' } })
    if (!res.ok) return OFF
    return (await res.json()) as SessionInfo
  } catch {
    // A dashboard server without sign-in routes (an older one): as if sign-in were off.
    return OFF
  }
}

/**
 * Signs in; resolves with null or the message to show, in the page's language for the answers the
 * server is known to give (by their error code), else the server's own message.
 */
export async function signIn(user: string, password: string): Promise<string | null> {
  let res: Response
  try {
    res = await fetch('/auth/login', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ user, password }) })
  } catch {
    return i18n.t('auth.unreachable')
  }
  if (res.ok) return null
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null
  const code = body?.error?.code
  if (code === 'invalid_credentials') return i18n.t('auth.wrongCredentials')
  const wait = Number(res.headers.get('retry-after'))
  if (code === 'too_many_sign_in_attempts' && wait > 0) return i18n.t('auth.tooManyAttempts', { seconds: wait })
  return body?.error?.message ?? i18n.t('auth.failed', { status: res.status })
}

export async function signOut(): Promise<void> {
  await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {})
}

/**
 * The session as the server sees it; re-read when it should end (so an expired session sends the
 * user back to the sign-in form without waiting for a click) and on demand.
 */
export function useSession() {
  const [info, setInfo] = useState<SessionInfo | null>(null)
  const refresh = useCallback(() => fetchSession().then(setInfo), [])
  useEffect(() => {
    void refresh()
  }, [refresh])
  useEffect(() => {
    if (!info?.user || !info.expires_at) return
    const t = setTimeout(() => void refresh(), Math.max(0, Date.parse(info.expires_at) - Date.now()) + 250)
    return () => clearTimeout(t)
  }, [info, refresh])
  return { info, refresh }
}
