import type { RowSink } from '@llm-proxy/storage/sink'
import type { FastifyBaseLogger } from 'fastify'

const DAY_MS = 86_400_000
const EVERY_MS = 3_600_000

/** Deletes raw rows older than `days` now and every hour; rollups are kept. */
export function startRetention(sink: Pick<RowSink, 'deleteBefore'>, days: number, log: FastifyBaseLogger, what = 'rows'): () => void {
  const run = async () => {
    try {
      const deleted = await sink.deleteBefore(Date.now() - days * DAY_MS)
      if (deleted > 0) log.info({ deleted, days }, `retention: deleted old ${what}`)
    } catch (err) {
      log.warn({ err }, 'retention: delete failed; will retry')
    }
  }
  void run()
  const timer = setInterval(() => void run(), EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
