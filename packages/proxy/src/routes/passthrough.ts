import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { forward, type ForwardDeps } from '../upstream/forward.js'

/** Forwarded without a row: the model list is not a request anyone pays for. */
export const passthroughRoute: FastifyPluginAsync<{ forwardDeps: ForwardDeps }> = async (app, o) => {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    await forward(request, reply, { ...o.forwardDeps, body: null, exchange: null, stripUsageChunk: false })
  }
  app.get('/v1/models', handler)
  // Model ids may contain slashes (vLLM: org/name) or colons (Ollama: name:tag).
  app.get('/v1/models/*', handler)
}
