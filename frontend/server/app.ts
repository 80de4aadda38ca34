import proxy from '@fastify/http-proxy'
import fastifyStatic from '@fastify/static'
import type { DashboardConfig } from '@llm-proxy/core'
import Fastify, { LogController, type FastifyReply, type FastifyServerOptions } from 'fastify'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export interface DashboardServerOptions {
  config: Pick<DashboardConfig, 'metricsApiUrl' | 'metricsApiToken' | 'proxyPublicUrl'>
  /** The built SPA (frontend/dist). */
  staticDir: string
  logger?: FastifyServerOptions['logger']
}

/**
 * Serves the built dashboard and forwards /api/* to the metrics API, so a browser needs only this
 * port. The API address is read at run time, never baked into the bundle.
 */
export function buildDashboardServer(o: DashboardServerOptions) {
  // Browsers poll /api every few seconds; per-request lines would drown everything else.
  const app = Fastify({ logger: o.logger ?? false, logController: new LogController({ disableRequestLogging: true }) })
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
    if (request.method !== 'GET' || path.startsWith('/api/') || path.startsWith('/assets/')) return notFound(reply)
    if (!existsSync(join(o.staticDir, 'index.html'))) {
      return reply.code(503).header('retry-after', '5').send({
        error: { message: 'The dashboard is not built (or is being rebuilt): run pnpm build, then reload.', type: 'server_error', param: null, code: 'dashboard_not_built' },
      })
    }
    return reply.sendFile('index.html')
  })
  return app
}
