import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import type { FastifyReply, FastifyRequest } from 'fastify'

export const COOKIE = 'lmp_session'

/** An error in OpenAI's shape, as the rest of the dashboard server answers. */
export const failure = (reply: FastifyReply, status: number, code: string, message: string, type = 'invalid_request_error') =>
  reply.code(status).header('cache-control', 'no-store').send({ error: { message, type, param: null, code } })

const digest = (s: string) => createHash('sha256').update(s).digest()
/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected))

export interface Session {
  user: string
  expiresAt: number
}

/**
 * Sessions in memory, by the SHA-256 of their id (a leaked heap dump or log shows no usable id).
 * Expiry is absolute: SESSION_TTL after sign-in, whatever the activity. A restart signs everyone out.
 */
export class Sessions {
  private byHash = new Map<string, Session>()
  constructor(private ttlMs: number, private now: () => number) {}

  create(user: string): { id: string; session: Session } {
    const t = this.now()
    for (const [h, s] of this.byHash) if (s.expiresAt <= t) this.byHash.delete(h)
    const id = randomBytes(32).toString('base64url')
    const session = { user, expiresAt: t + this.ttlMs }
    this.byHash.set(digest(id).toString('hex'), session)
    return { id, session }
  }

  get(id: string | undefined): Session | null {
    if (!id) return null
    const h = digest(id).toString('hex')
    const s = this.byHash.get(h)
    if (!s) return null
    if (s.expiresAt <= this.now()) {
      this.byHash.delete(h)
      return null
    }
    return s
  }

  delete(id: string | undefined) {
    if (id) this.byHash.delete(digest(id).toString('hex'))
  }
}

export interface LoginLimits {
  /** Attempts per client address per window. */
  perIp: number
  /** Attempts from everyone together per window (a spread-out guessing run). */
  overall: number
  windowMs: number
}
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perIp: 5, overall: 50, windowMs: 5 * 60_000 }

/**
 * Fixed windows, per address and overall. An attempt is taken before the password is checked (so
 * parallel guesses cannot slip past the count) and given back when it succeeds.
 */
export class LoginLimiter {
  private windows = new Map<string, { count: number; resetAt: number }>()
  constructor(private limits: LoginLimits, private now: () => number) {}

  private window(key: string, t: number) {
    let w = this.windows.get(key)
    if (!w || w.resetAt <= t) {
      if (this.windows.size > 10_000) for (const [k, v] of this.windows) if (v.resetAt <= t) this.windows.delete(k)
      w = { count: 0, resetAt: t + this.limits.windowMs }
      this.windows.set(key, w)
    }
    return w
  }

  /** null: go ahead; otherwise the seconds to wait. */
  take(ip: string): number | null {
    const t = this.now()
    const mine = this.window(`ip:${ip}`, t)
    const all = this.window('all', t)
    const full = [mine.count >= this.limits.perIp && mine, all.count >= this.limits.overall && all].filter((w) => w !== false)
    if (full.length) return Math.max(1, Math.ceil((Math.max(...full.map((w) => w.resetAt)) - t) / 1000))
    mine.count++
    all.count++
    return null
  }

  refund(ip: string) {
    for (const key of [`ip:${ip}`, 'all']) {
      const w = this.windows.get(key)
      if (w && w.count > 0) w.count--
    }
  }
}

export function cookieValue(request: FastifyRequest, name = COOKIE): string | undefined {
  const header = request.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return undefined
}

/**
 * Served over TLS, or behind a reverse proxy that terminates it and says so with
 * `X-Forwarded-Proto: https`: the cookie is then marked Secure. (A forged header can only make the
 * cookie stricter, never looser.)
 */
export function isHttps(request: FastifyRequest): boolean {
  const forwarded = String(request.headers['x-forwarded-proto'] ?? '').split(',')[0].trim().toLowerCase()
  return forwarded === 'https' || (request.raw.socket as TLSSocket).encrypted === true
}

export function sessionCookie(request: FastifyRequest, id: string, maxAgeS: number): string {
  return `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${isHttps(request) ? '; Secure' : ''}`
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * CSRF: a state-changing call must come from a page of this dashboard. The browser says so with
 * Sec-Fetch-Site (`same-origin`) and Origin (whose host must be the Host the request came to); a
 * call that carries neither (no browser page sent it) or either pointing elsewhere is refused.
 * The SameSite=Strict cookie is the second lock.
 */
export function crossSiteRefusal(request: FastifyRequest): string | null {
  if (SAFE_METHODS.has(request.method)) return null
  const site = request.headers['sec-fetch-site']
  const origin = request.headers.origin
  if (site === undefined && origin === undefined) return 'The request carries neither Origin nor Sec-Fetch-Site; state-changing calls must come from the dashboard page.'
  if (site !== undefined && site !== 'same-origin') return `Cross-site request refused (Sec-Fetch-Site: ${site}).`
  if (origin !== undefined) {
    let host: string | null = null
    try {
      host = new URL(origin).host
    } catch {}
    if (host === null || host !== request.headers.host) return 'Cross-origin request refused (Origin does not match this dashboard).'
  }
  return null
}
