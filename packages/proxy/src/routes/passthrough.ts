import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { KeyGuard } from '../keys/guard.js'
import { presentedSecret } from '../keys/secrets.js'
import { forward, queryOf, type ForwardDeps } from '../upstream/forward.js'

/** Forwarded without a row: the model list is not a request anyone pays for. */
export const passthroughRoute: FastifyPluginAsync<{ forwardDeps: ForwardDeps; guard: KeyGuard | null }> = async (app, o) => {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    let keyAuth: { upstreamKey: string | undefined } | undefined
    if (o.guard) {
      // Keys mode: a valid key is needed to list models too, but listing counts toward no limit.
      const auth = o.guard.authenticate(presentedSecret(request.headers), request.raw.socket)
      if ('error' in auth) throw auth.error
      keyAuth = { upstreamKey: auth.key.upstreamKey ?? o.forwardDeps.backendApiKey }
    }
    await forward(request, reply, o.forwardDeps, { path: upstreamPath(request), body: null, exchange: null, stripUsageChunk: false, keyAuth })
  }
  app.get('/v1/models', handler)
  // Model ids may contain slashes (vLLM: org/name) or colons (Ollama: name:tag).
  app.get('/v1/models/*', handler)
}

/**
 * The path forwarded: the client's own when its routed prefix was written plainly (a model id keeps
 * the escaping the client gave it), otherwise the normalized form of what was routed.
 */
function upstreamPath(request: FastifyRequest): string {
  const raw = request.raw.url ?? '/'
  const query = queryOf(raw)
  const path = raw.slice(0, raw.length - query.length)
  if (path === '/v1/models' || path.startsWith('/v1/models/')) return raw
  const id = (request.params as Record<string, string | undefined>)['*']
  if (id === undefined) return '/v1/models' + query
  return '/v1/models/' + id.split('/').map(encodeURIComponent).join('/') + query
}
