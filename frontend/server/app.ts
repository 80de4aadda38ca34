import proxy from '@fastify/http-proxy'
import fastifyStatic from '@fastify/static'
import type { DashboardConfig } from '@llm-proxy/core'
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, Sessions, cookieValue, crossSiteRefusal, failure, sameSecret, sessionCookie, type LoginLimits } from './auth.js'

export interface DashboardServerOptions {
  config: Pick<DashboardConfig, 'metricsApiUrl' | 'metricsApiToken' | 'proxyPublicUrl'> & Partial<Pick<DashboardConfig, 'signIn' | 'admin'>>
  /** The built SPA (frontend/dist). */
  staticDir: string
  logger?: FastifyServerOptions['logger']
  /** Sign-in attempts allowed per window (tests lower them). */
  loginLimits?: LoginLimits
  /** The clock (tests move it). */
  now?: () => number
}

/** The admin API calls a signed-in user may make, forwarded as they are (the proxy's own routes). */
const ADMIN_ROUTES: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string }[] = [
  { method: 'GET', url: '/admin/keys' },
  { method: 'POST', url: '/admin/keys' },
  { method: 'GET', url: '/admin/keys/:id' },
  { method: 'PATCH', url: '/admin/keys/:id' },
  { method: 'DELETE', url: '/admin/keys/:id' },
  { method: 'POST', url: '/admin/keys/:id/rotate' },
  { method: 'POST', url: '/admin/keys/:id/revoke' },
  { method: 'GET', url: '/admin/keys/:id/usage' },
]

/** `/api/requests/:id/content` or `/api/metrics/requests/:id/content`, however it is spelled. */
function isContentPath(url: string): boolean {
  let path = url.split('?')[0]
  try {
    path = decodeURIComponent(path)
  } catch {}
  return /^\/api(\/metrics)?\/requests\/.+\/content$/i.test(path.replace(/\/{2,}/g, '/').replace(/\/+$/, ''))
}

/**
 * Serves the built dashboard and forwards /api/* to the metrics API, so a browser needs only this
 * port. The API address is read at run time, never baked into the bundle.
 */
export function buildDashboardServer(o: DashboardServerOptions) {
  // Browsers poll /api every few seconds; per-request lines would drown everything else.
  const app = Fastify({ logger: o.logger ?? false, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 })
  const now = o.now ?? Date.now
  const signIn = o.config.signIn ?? null
  const admin = o.config.admin ?? null
  const sessions = signIn ? new Sessions(signIn.sessionTtlMs, now) : null
  const limiter = new LoginLimiter(o.loginLimits ?? DEFAULT_LOGIN_LIMITS, now)
  const sessionOf = (request: FastifyRequest) => sessions?.get(cookieValue(request)) ?? null

  // CSRF: every state-changing call, whichever route, comes from a page of this dashboard.
  app.addHook('onRequest', async (request, reply) => {
    // No route (a 404 as before): nothing to protect.
    if (request.routeOptions.url === undefined) return
    const refusal = crossSiteRefusal(request)
    if (refusal) return failure(reply, 403, 'cross_site_request', refusal)
  })

  /** Only for a signed-in user: 403 when sign-in is off (nobody can be), 401 when not signed in. */
  const requireSession = (what: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (!signIn) return failure(reply, 403, 'sign_in_not_configured', `${what} is shown only to a signed-in user, and sign-in is off: set ADMIN_PASSWORD on the dashboard to turn it on.`)
    if (!sessionOf(request)) return failure(reply, 401, 'not_signed_in', 'Not signed in, or the session has ended: sign in again.')
  }

  app.get('/auth/session', async (request, reply) => {
    const s = sessionOf(request)
    reply.header('cache-control', 'no-store')
    return { enabled: signIn !== null, user: s?.user ?? null, expires_at: s ? new Date(s.expiresAt).toISOString() : null, keys: signIn !== null && admin !== null }
  })

  app.post<{ Body: { user?: unknown; password?: unknown } }>('/auth/login', async (request, reply) => {
    if (!signIn || !sessions) return failure(reply, 403, 'sign_in_not_configured', 'Sign-in is off: set ADMIN_PASSWORD on the dashboard to turn it on.')
    const wait = limiter.take(request.ip)
    if (wait !== null) {
      reply.header('retry-after', String(wait))
      return failure(reply, 429, 'too_many_sign_in_attempts', `Too many sign-in attempts; try again in ${wait} s.`, 'rate_limit_error')
    }
    const { user, password } = (request.body ?? {}) as { user?: unknown; password?: unknown }
    // Both compared, always, in constant time: the answer does not tell which one was wrong.
    const userOk = sameSecret(typeof user === 'string' ? user : '', signIn.user)
    const passwordOk = sameSecret(typeof password === 'string' ? password : '', signIn.password)
    if (!(userOk && passwordOk)) return failure(reply, 401, 'invalid_credentials', 'Wrong user name or password.')
    limiter.refund(request.ip)
    // A fresh id at every sign-in (no fixation); the old session, if any, ends.
    sessions.delete(cookieValue(request))
    const { id, session } = sessions.create(signIn.user)
    return reply
      .header('set-cookie', sessionCookie(request, id, Math.floor(signIn.sessionTtlMs / 1000)))
      .header('cache-control', 'no-store')
      .send({ user: session.user, expires_at: new Date(session.expiresAt).toISOString() })
  })

  app.post('/auth/logout', async (request, reply) => {
    sessions?.delete(cookieValue(request))
    return reply.header('set-cookie', sessionCookie(request, '', 0)).header('cache-control', 'no-store').code(204).send()
  })

  // Key management: the session is checked here, the proxy's ADMIN_TOKEN added here; the browser
  // never sees the token, and the admin API never sees the cookie.
  for (const route of ADMIN_ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      preHandler: requireSession('Key management'),
      handler: async (request, reply) => {
        if (!admin) return failure(reply, 503, 'key_management_not_configured', "Key management is off: set ADMIN_TOKEN (the proxy's) and ADMIN_API_URL on the dashboard.", 'server_error')
        const target = `${admin.url}${request.url}`
        const hasBody = request.method === 'POST' || request.method === 'PATCH'
        let res: Response
        try {
          res = await fetch(target, {
            method: request.method,
            headers: { authorization: `Bearer ${admin.token}`, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
            body: hasBody ? JSON.stringify(request.body ?? {}) : undefined,
            signal: AbortSignal.timeout(15_000),
          })
        } catch (err) {
          return failure(reply, 502, 'admin_api_unreachable', `The admin API at ${admin.url} could not be reached (${(err as Error).message}).`, 'upstream_error')
        }
        // The proxy refusing our token is the operator's to fix, not a reason to sign the user out.
        if (res.status === 401) return failure(reply, 502, 'admin_token_refused', "The admin API refused the dashboard's ADMIN_TOKEN: it must be the proxy's.", 'upstream_error')
        const text = await res.text()
        reply.code(res.status).header('cache-control', 'no-store')
        if (!text) return reply.send()
        return reply.header('content-type', res.headers.get('content-type') ?? 'application/json').send(text)
      },
    })
  }

  // Captured content (prompts and answers): only for a signed-in user. The generic /api forward
  // below would otherwise hand it to anyone, so its path is taken here too.
  const content = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const target = `${o.config.metricsApiUrl}/metrics/requests/${encodeURIComponent(request.params.id)}/content`
    let res: Response
    try {
      res = await fetch(target, { headers: o.config.metricsApiToken ? { authorization: `Bearer ${o.config.metricsApiToken}` } : {}, signal: AbortSignal.timeout(15_000) })
    } catch (err) {
      return failure(reply, 502, 'metrics_api_unreachable', `The metrics API at ${o.config.metricsApiUrl} could not be reached (${(err as Error).message}).`, 'upstream_error')
    }
    const text = await res.text()
    reply.code(res.status).header('cache-control', 'no-store')
    return reply.header('content-type', res.headers.get('content-type') ?? 'application/json').send(text)
  }
  for (const url of ['/api/requests/:id/content', '/api/metrics/requests/:id/content']) {
    app.get<{ Params: { id: string } }>(url, { preHandler: requireSession('Captured content') }, content)
  }
  // However else the path is spelled (a trailing or doubled slash, an encoded letter) on its way to
  // the generic forward, which the metrics API might read as the same route: the same gate.
  const contentGate = requireSession('Captured content')
  app.addHook('onRequest', async (request, reply) => {
    if ((request.method === 'GET' || request.method === 'HEAD') && isContentPath(request.url)) return contentGate(request, reply)
  })

  app.register(proxy, {
    upstream: o.config.metricsApiUrl,
    prefix: '/api',
    httpMethods: ['GET', 'HEAD'],
    replyOptions: {
      rewriteRequestHeaders: (_req, headers) => {
        const out = { ...headers }
        // The browser never sees the API token; the server adds it.
        if (o.config.metricsApiToken) out.authorization = `Bearer ${o.config.metricsApiToken}`
        else delete out.authorization
        delete out.cookie
        return out
      },
      onError: (reply, { error }) => {
        reply.code(502).send({
          error: { message: `The metrics API at ${o.config.metricsApiUrl} could not be reached (${(error as Error).message}).`, type: 'upstream_error', param: null, code: 'metrics_api_unreachable' },
        })
      },
    },
  })
  app.get('/config.json', async () => ({ proxyUrl: o.config.proxyPublicUrl, metricsApiUrl: o.config.metricsApiUrl }))
  app.get('/health', async () => ({ status: 'ok' }))
  // Files are looked up per request (wildcard), not listed once at start: a rebuild while the
  // server runs (`pnpm build`, the test command) swaps in new hashed assets, and they are served.
  app.register(fastifyStatic, { root: o.staticDir, wildcard: true, maxAge: '1h', immutable: false })
  const notFound = (reply: FastifyReply) => reply.code(404).send({ error: { message: 'Not found', type: 'invalid_request_error', param: null, code: 'unknown_url' } })
  // The SPA has one page; anything else that is not a file gets it.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    // A missing script or stylesheet is a 404, never the page in its place.
    if (request.method !== 'GET' || path.startsWith('/api/') || path.startsWith('/assets/') || path.startsWith('/auth/') || path.startsWith('/admin/')) return notFound(reply)
    if (!existsSync(join(o.staticDir, 'index.html'))) {
      return reply.code(503).header('retry-after', '5').send({
        error: { message: 'The dashboard is not built (or is being rebuilt): run pnpm build, then reload.', type: 'server_error', param: null, code: 'dashboard_not_built' },
      })
    }
    return reply.sendFile('index.html')
  })
  return app
}
