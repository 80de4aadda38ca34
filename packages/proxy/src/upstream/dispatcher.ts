import { Pool, type Dispatcher } from 'undici'

export interface UpstreamTimeouts {
  connectTimeoutMs: number
  headersTimeoutMs: number
  idleTimeoutMs: number
}

/** One pooled keep-alive dispatcher for the backend, created once per proxy [reply-from: index.js]. */
export function createBackendDispatcher(origin: string, t: UpstreamTimeouts): Dispatcher {
  return new Pool(origin, {
    connect: { timeout: t.connectTimeoutMs },
    headersTimeout: t.headersTimeoutMs,
    bodyTimeout: t.idleTimeoutMs,
    keepAliveTimeout: 30_000,
    connections: null,
    pipelining: 1,
  })
}
