import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { KeyGuard } from '../keys/guard.js'
import { presentedSecret } from '../keys/secrets.js'
import { forward, type ForwardDeps } from '../upstream/forward.js'

/** Forwarded without a row: the model list is not a request anyone pays for. */
export const passthroughRoute: FastifyPluginAsync<{ forwardDeps: ForwardDeps; guard: KeyGuard | null }> = async (app, o) => {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    let keyAuth: { upstreamKey: string | undefined } | undefined
    if (o.guard) {
      // Keys mode: a valid key is needed to list models too, but listing counts toward no limit.
      const auth = o.guard.authenticate(presentedSecret(request.headers))
      if ('error' in auth) throw auth.error
      keyAuth = { upstreamKey: auth.key.upstreamKey ?? o.forwardDeps.backendApiKey }
    }
    await forward(request, reply, { ...o.forwardDeps, body: null, exchange: null, stripUsageChunk: false, keyAuth })
  }
  app.get('/v1/models', handler)
  // Model ids may contain slashes (vLLM: org/name) or colons (Ollama: name:tag).
  app.get('/v1/models/*', handler)
}
