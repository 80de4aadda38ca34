// The floor for the overhead benchmark: the same Fastify + undici, forwarding only, no metering,
// no storage, no logging. Configured like the real proxy: BACKEND_URL, PROXY_PORT.
import Fastify from 'fastify'
import { Pool } from 'undici'

const backend = new URL(process.env.BACKEND_URL ?? 'http://127.0.0.1:11434')
const pool = new Pool(backend.origin, { connections: null, pipelining: 1, keepAliveTimeout: 30_000 })
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'trailer', 'proxy-authorization', 'proxy-authenticate'])

const app = Fastify({ logger: false, bodyLimit: 50 * 1024 * 1024 })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

async function pass(request, reply) {
  const headers = {}
  for (const [k, v] of Object.entries(request.headers)) if (!HOP.has(k) && k !== 'host' && k !== 'content-length') headers[k] = v
  const { statusCode, headers: upHeaders, body } = await pool.request({
    path: request.raw.url,
    method: request.method,
    headers,
    body: request.body ?? null,
  })
  const out = {}
  for (const [k, v] of Object.entries(upHeaders)) if (!HOP.has(k)) out[k] = v
  reply.hijack()
  reply.raw.writeHead(statusCode, out)
  reply.raw.flushHeaders()
  body.pipe(reply.raw)
  reply.raw.once('close', () => body.destroy())
}
for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) app.post(path, pass)
app.get('/v1/models', pass)

await app.listen({ host: '127.0.0.1', port: Number(process.env.PROXY_PORT ?? 8101) })
console.log(`bare proxy ready on ${process.env.PROXY_PORT}`)
process.once('SIGTERM', () => app.close().then(() => process.exit(0)))
