import type { RequestStore } from '@llm-proxy/core'
import type { FastifyBaseLogger } from 'fastify'

const DAY_MS = 86_400_000
const EVERY_MS = 3_600_000

/** Deletes raw rows older than `days` now and every hour; aggregates are kept by the store. */
export function startRetention(store: Pick<RequestStore, 'deleteBefore'>, days: number, log: FastifyBaseLogger): () => void {
  const run = () => {
    try {
      const deleted = store.deleteBefore(Date.now() - days * DAY_MS)
      if (deleted > 0) log.info({ deleted, days }, 'retention: deleted old rows')
    } catch (err) {
      log.warn({ err }, 'retention: delete failed; will retry')
    }
  }
  run()
  const timer = setInterval(run, EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
