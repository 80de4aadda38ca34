import { CreateKeyBody, NO_LIMITS, UpdateKeyBody, parseDuration, type CreatedKey } from '@llm-proxy/core/contracts'
import type { KeyRecord, KeyStore } from '@llm-proxy/storage/sink'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { z } from 'zod'
import { ProxyError } from '../errors.js'
import type { KeyGuard } from './guard.js'
import { bearerMatches, displayOf, encrypt, hashSecret, newKeyId, newSecret } from './secrets.js'
import { toView } from './view.js'

export interface AdminOptions {
  store: KeyStore
  guard: KeyGuard
  token: string
  secretKey?: string
  logger?: FastifyBaseLogger
  /** The clock (tests pin it, with the guard's). */
  now?: () => number
}

const bad = (param: string, message: string) => new ProxyError(400, 'invalid_request_error', 'invalid_parameter', `${param}: ${message}`, param)
const notFound = (id: string) => new ProxyError(404, 'invalid_request_error', 'not_found', `No key with id '${id}'.`, 'id')

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body ?? {})
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const param = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.') || 'body'
  throw bad(param, issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message)
}

/**
 * The admin API: its own listener (ADMIN_HOST/ADMIN_PORT, loopback by default), never the public
 * port; every call but /health needs ADMIN_TOKEN as a bearer token. Secrets are returned once, at
 * creation and rotation; nothing else ever shows them or an upstream key.
 */
export function buildAdminApi(o: AdminOptions): FastifyInstance {
  const app = Fastify({
    ...(o.logger ? { loggerInstance: o.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
  })
  // `curl -X POST -H 'content-type: application/json' …/revoke` sends no body: that is an empty object.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (!body || !String(body).trim()) return done(null, {})
    try {
      done(null, JSON.parse(String(body)))
    } catch (err) {
      done(new ProxyError(400, 'invalid_request_error', 'invalid_json', `The body is not JSON: ${(err as Error).message}`))
    }
  })
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const e = err instanceof ProxyError ? err
      : (err.statusCode ?? 500) < 500 ? new ProxyError(err.statusCode!, 'invalid_request_error', 'bad_request', err.message)
      : new ProxyError(500, 'server_error', 'internal_error', 'The admin API failed to handle the request.')
    if (e.statusCode >= 500) request.log.error({ err }, 'admin request failed')
    return reply.code(e.statusCode).send(e.toBody())
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new ProxyError(404, 'invalid_request_error', 'unknown_url', `Invalid URL (${request.method} ${request.url.split('?')[0]})`).toBody()),
  )
  app.addHook('onRequest', async (request) => {
    if (request.url === '/health') return
    if (!bearerMatches(request.headers.authorization, o.token)) {
      throw new ProxyError(401, 'invalid_request_error', 'invalid_admin_token', 'Missing or wrong bearer token (ADMIN_TOKEN).')
    }
  })

  const now = o.now ?? Date.now
  const find = async (id: string): Promise<KeyRecord> => {
    const live = o.guard.byKeyId(id)
    if (live) return live.rec
    // Made on another replica within the last sync interval: look in the database.
    const rec = (await o.store.listKeys()).find((k) => k.id === id)
    if (!rec) throw notFound(id)
    return rec
  }
  const expiry = (b: { expires_at?: string | null; expires_in?: string }): number | null | undefined => {
    if (b.expires_in !== undefined && b.expires_at !== undefined) throw bad('expires_in', 'give expires_at or expires_in, not both')
    if (b.expires_in !== undefined) return now() + parseDuration(b.expires_in)
    if (b.expires_at === undefined) return undefined
    return b.expires_at === null ? null : Date.parse(b.expires_at)
  }
  const sealed = (upstream: string | null | undefined): string | null | undefined => {
    if (upstream === undefined || upstream === null) return upstream
    if (!o.secretKey) throw bad('upstream_key', 'set SECRET_KEY (32+ characters) on the proxy to store upstream keys encrypted')
    return encrypt(upstream, o.secretKey)
  }
  const fields = (b: z.infer<typeof UpdateKeyBody>): Partial<KeyRecord> => {
    const p: Partial<KeyRecord> = {}
    if (b.name !== undefined) p.name = b.name
    if (b.owner !== undefined) p.owner = b.owner || null
    const exp = expiry(b)
    if (exp !== undefined) p.expires_at = exp
    if (b.limits) {
      for (const k of ['rpm', 'tpm', 'budget_tokens', 'budget_usd'] as const) if (b.limits[k] !== undefined) p[k] = b.limits[k]
      if (b.limits.budget_period !== undefined) p.budget_period = b.limits.budget_period
    }
    if (b.models !== undefined) p.models = b.models === null ? null : JSON.stringify(b.models)
    const up = sealed(b.upstream_key)
    if (up !== undefined) p.upstream_key_enc = up
    if (b.capture !== undefined) p.capture = b.capture
    return p
  }
  /** Changes take effect here at once, elsewhere within one sync interval. */
  const changed = () => o.guard.sync()

  app.get('/health', async () => ({ status: 'ok' }))

  app.get('/admin/keys', async () => ({ data: (await o.store.listKeys()).map((k) => toView(k, now())) }))

  app.post('/admin/keys', async (request, reply) => {
    const body = parse(CreateKeyBody, request.body)
    const secret = newSecret()
    const t = now()
    const rec: KeyRecord = {
      id: newKeyId(), name: body.name, owner: null, hash: hashSecret(secret), display: displayOf(secret),
      created_at: t, updated_at: t, expires_at: null, revoked_at: null,
      rpm: NO_LIMITS.rpm, tpm: NO_LIMITS.tpm, budget_tokens: NO_LIMITS.budget_tokens, budget_usd: NO_LIMITS.budget_usd,
      budget_period: NO_LIMITS.budget_period, models: null, upstream_key_enc: null, capture: 'inherit',
      ...fields(body),
    }
    await o.store.insertKey(rec)
    await changed()
    const created: CreatedKey = { ...toView(rec, now()), secret }
    return reply.code(201).header('cache-control', 'no-store').send(created)
  })

  app.get<{ Params: { id: string } }>('/admin/keys/:id', async (request) => toView(await find(request.params.id), now()))

  app.patch<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    await find(request.params.id)
    const rec = await o.store.updateKey(request.params.id, { ...fields(parse(UpdateKeyBody, request.body)), updated_at: now() })
    if (!rec) throw notFound(request.params.id)
    await changed()
    return toView(rec, now())
  })

  app.post<{ Params: { id: string } }>('/admin/keys/:id/rotate', async (request, reply) => {
    const old = await find(request.params.id)
    if (old.revoked_at !== null) throw new ProxyError(409, 'invalid_request_error', 'key_revoked', 'A revoked key cannot be rotated; create a new one.')
    // Same id, so its history, limits and budget window carry on; the old secret stops working.
    const secret = newSecret()
    const rec = await o.store.updateKey(old.id, { hash: hashSecret(secret), display: displayOf(secret), updated_at: now() })
    await changed()
    return reply.header('cache-control', 'no-store').send({ ...toView(rec!, now()), secret } satisfies CreatedKey)
  })

  app.post<{ Params: { id: string } }>('/admin/keys/:id/revoke', async (request) => {
    const old = await find(request.params.id)
    const t = now()
    const rec = await o.store.updateKey(old.id, { revoked_at: old.revoked_at ?? t, updated_at: t })
    await changed()
    return toView(rec!, now())
  })

  app.delete<{ Params: { id: string } }>('/admin/keys/:id', async (request, reply) => {
    if (!(await o.store.deleteKey(request.params.id))) throw notFound(request.params.id)
    await changed()
    return reply.code(204).send()
  })

  app.get<{ Params: { id: string } }>('/admin/keys/:id/usage', async (request) => {
    await find(request.params.id)
    await o.guard.sync()
    const live = o.guard.byKeyId(request.params.id)
    if (!live) throw notFound(request.params.id)
    return o.guard.usage(live)
  })

  return app
}
