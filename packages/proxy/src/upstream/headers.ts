import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

// RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies still see.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
])

/** Header names listed in `Connection` (hop-by-hop too), or null when it lists none beyond the usual. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> | null {
  const value = headers.connection
  if (!value) return null
  // Nearly every request and response says only this, already hop-by-hop: no Set for it, twice per request.
  if (value === 'keep-alive' || value === 'close') return null
  return new Set(String(value).toLowerCase().split(',').map((t) => t.trim()))
}

export interface ForwardHeaderOptions {
  /** Replaces the client's Authorization when set, so the backend's key never leaves the server. */
  backendApiKey?: string
  /** How the backend key is sent: `Authorization: Bearer` (OpenAI) or `x-api-key` (Anthropic). */
  apiKeyHeader?: 'authorization' | 'x-api-key'
  /** The client's key was a proxy key (AUTH_MODE=keys): it never goes upstream. */
  stripClientKey?: boolean
  remoteAddress: string | undefined
  protocol: string
  bodyLength: number | null
}

/** Headers sent to the backend: the client's, minus hop-by-hop, `host` and encodings we could not read. */
export function backendRequestHeaders(client: IncomingHttpHeaders, o: ForwardHeaderOptions): Record<string, string | string[]> {
  const listed = connectionTokens(client)
  // The client's credentials, in either header, never reach the backend when it was a proxy key or
  // when the server sends its own (left out here rather than deleted after: a `delete` would turn
  // the object into a slow dictionary for everything that reads it next).
  const anthropicKey = o.backendApiKey !== undefined && o.backendApiKey !== '' && o.apiKeyHeader === 'x-api-key'
  const dropClientKey = o.stripClientKey === true || anthropicKey
  const out: Record<string, string | string[]> = {}
  for (const name in client) {
    if (HOP_BY_HOP.has(name) || name === 'host' || name === 'content-length' || name === 'expect') continue
    if (listed !== null && listed.has(name)) continue
    if (dropClientKey && (name === 'authorization' || name === 'x-api-key')) continue
    const value = client[name]
    if (value !== undefined) out[name] = value
  }
  // The proxy reads a copy of the response, so it must be uncompressed; the client still gets it byte for byte.
  out['accept-encoding'] = 'identity'
  if (o.backendApiKey) {
    if (anthropicKey) out['x-api-key'] = o.backendApiKey
    else out.authorization = `Bearer ${o.backendApiKey}`
  }
  const forwardedFor = client['x-forwarded-for']
  if (o.remoteAddress) out['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${o.remoteAddress}` : o.remoteAddress
  out['x-forwarded-proto'] = o.protocol
  if (o.bodyLength !== null) out['content-length'] = String(o.bodyLength)
  return out
}

/** Headers sent to the client: the backend's, minus hop-by-hop (and the length when the body changes). */
export function clientResponseHeaders(backend: IncomingHttpHeaders, dropContentLength: boolean): OutgoingHttpHeaders {
  const listed = connectionTokens(backend)
  const out: OutgoingHttpHeaders = {}
  for (const name in backend) {
    if (HOP_BY_HOP.has(name) || (listed !== null && listed.has(name))) continue
    if (dropContentLength && name === 'content-length') continue
    out[name] = backend[name]
  }
  return out
}
