import { createRequestStore, loadConfigOrExit, loadProxyConfig, openWriterDb } from '@llm-proxy/core'
import { buildProxy } from './app.js'
import { startRetention } from './recording/retention.js'

// The only place that reads the environment; everything below gets plain options.
const config = loadConfigOrExit('proxy', () => loadProxyConfig(process.env))

let db: ReturnType<typeof openWriterDb>
try {
  db = openWriterDb(config.dbPath)
} catch (err) {
  console.error(`proxy: cannot open the database at DB_PATH=${config.dbPath}: ${(err as Error).message}`)
  process.exit(1)
}
const store = createRequestStore(db)
const app = buildProxy({
  config,
  store,
  logger: {
    level: config.logLevel,
    // Belt and braces: nothing logs headers today, and secrets must never reach a log.
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization'],
  },
})
const stopRetention = config.retentionDays ? startRetention(store, config.retentionDays, app.log) : () => {}

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  app.log.info({ signal }, 'shutting down: finishing in-flight requests')
  stopRetention()
  // Stop accepting first, then give in-flight requests time to finish before aborting them.
  const closed = app.close()
  await app.drain(config.shutdownTimeoutMs)
  // Keep-alive connections that went idle after close() began would otherwise hold it open.
  app.server.closeAllConnections()
  await closed
  db.close()
  app.log.info('stopped; all rows stored')
  process.exit(0)
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))

try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info({ backend: config.backendUrl, db: config.dbPath, streamUsage: config.streamUsage }, 'proxy ready')
} catch (err) {
  app.log.error({ err }, 'proxy failed to start')
  process.exit(1)
}
