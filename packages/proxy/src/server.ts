import { loadConfigOrExit, loadProxyConfig } from '@llm-proxy/core'
import { openRowSink, type RowSink } from '@llm-proxy/storage/sink'
import pino from 'pino'
import { buildProxy } from './app.js'
import { buildAdminApi } from './keys/admin.js'
import { KeyGuard } from './keys/guard.js'
import { startEventOutputs } from './events/outputs.js'
import { describeStorage } from './log-redaction.js'
import { startRetention } from './recording/retention.js'

// The only place that reads the environment; everything below gets plain options.
const config = loadConfigOrExit('proxy', () => loadProxyConfig(process.env))
const storage = describeStorage(config)

// With EVENT_LOG=stdout, log lines and event lines share one asynchronous destination: whole lines
// in order, never cut into each other, and a slow reader of stdout never blocks the event loop.
// Without it the logger keeps pino's default destination, asynchronous too (SonicBoom, flushed at exit).
const stdout = config.events.log === 'stdout' ? pino.destination({ dest: 1, sync: false }) : undefined
const logOptions: pino.LoggerOptions = {
  level: config.logLevel,
  // Belt and braces: nothing logs headers today, and secrets must never reach a log.
  redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization'],
}
const logger = stdout ? pino(logOptions, stdout) : pino(logOptions)
/** Exits once what the asynchronous destination holds is written (pino flushes at exit too; this says so here). */
function exit(code: number): never {
  try {
    stdout?.flushSync()
  } catch {
    // stdout is gone: nothing left to tell.
  }
  process.exit(code)
}

let sink: RowSink
try {
  sink = await openRowSink(config, (level, message, data) => logger[level]({ ...data, storage }, message))
} catch (err) {
  const variable = config.databaseUrl ? 'DATABASE_URL' : 'DB_PATH'
  console.error(`proxy: cannot write to the database at ${variable}=${storage}: ${(err as Error).message}`)
  exit(1)
}
// Keys are loaded whenever the admin API or keys mode needs them; synced every second from then on.
const keyGuard = config.authMode === 'keys' || config.admin
  ? new KeyGuard(sink.keys, { secretKey: config.secretKey, onError: (err) => logger.warn({ err: { message: (err as Error).message } }, 'syncing keys failed; will retry') })
  : null
try {
  await keyGuard?.start()
} catch (err) {
  console.error(`proxy: cannot read the keys from the database: ${(err as Error).message}`)
  exit(1)
}
const admin = config.admin && keyGuard ? buildAdminApi({ store: sink.keys, guard: keyGuard, token: config.admin.token, secretKey: config.secretKey, logger: logger.child({ listener: 'admin' }) }) : null
let events
try {
  events = await startEventOutputs(config.events, { logger, backendUrl: config.backendUrl, stdout, keyName: (id) => keyGuard?.byKeyId(id)?.rec.name })
} catch (err) {
  console.error(`proxy: cannot start the event outputs: ${(err as Error).message}`)
  exit(1)
}
const app = buildProxy({ config, sink, logger, keyGuard: config.authMode === 'keys' ? keyGuard! : undefined, events, capture: { config: config.capture, store: sink.captures } })
const stopRowRetention = config.retentionDays ? startRetention(sink, config.retentionDays, app.log) : () => {}
// Captured content has its own retention (CAPTURE_RETENTION_DAYS), whatever the rows keep.
const stopCaptureRetention = config.capture.retentionDays ? startRetention(sink.captures, config.capture.retentionDays, app.log, 'captures') : () => {}
const stopRetention = () => {
  stopRowRetention()
  stopCaptureRetention()
}

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  app.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests')
  stopRetention()
  // Stop accepting first, then give in-flight requests time to finish, then cut the rest.
  const closed = app.close()
  const adminClosed = admin?.close()
  await app.drain(config.shutdownTimeoutMs)
  // Keep-alive connections that went idle after close() began would otherwise hold it open.
  app.server.closeAllConnections()
  await closed
  await adminClosed
  // This proxy's last counts, so other replicas' limits see them.
  await keyGuard?.stop()
  const { lost } = await app.rows.close()
  await sink.close().catch((err) => app.log.error({ err }, 'closing the database failed'))
  if (lost > 0) {
    app.log.error({ lost }, `stopped; ${lost} rows could not be stored`)
    exit(1)
  }
  app.log.info('stopped; all rows stored')
  exit(0)
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))

try {
  await app.listen({ host: config.host, port: config.port })
  if (admin) {
    await admin.listen({ host: config.admin!.host, port: config.admin!.port })
    app.log.info({ admin: `http://${config.admin!.host}:${config.admin!.port}` }, 'admin API ready')
  }
  const outputs = { eventLog: config.events.log === undefined ? undefined : config.events.log === 'stdout' ? 'stdout' : config.events.log.file, eventWebhook: config.events.webhook ? new URL(config.events.webhook.url).origin : undefined, otlp: config.events.otel ? new URL(config.events.otel.endpoint).origin : undefined }
  app.log.info({ backend: config.backendUrl, storage, streamUsage: config.streamUsage, auth: config.authMode, capture: config.capture.mode, ...outputs }, 'proxy ready')
} catch (err) {
  app.log.error({ err }, 'proxy failed to start')
  exit(1)
}
