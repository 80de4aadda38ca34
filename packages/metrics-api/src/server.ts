import { loadConfigOrExit, loadMetricsApiConfig } from '@llm-proxy/core'
import { buildMetricsApi } from './app.js'

const redactPassword = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')

// The only place that reads the environment.
const config = loadConfigOrExit('metrics-api', () => loadMetricsApiConfig(process.env))

const app = buildMetricsApi({ config, logger: { level: config.logLevel, redact: ['req.headers.authorization'] } })
const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info({ storage: config.databaseUrl ? redactPassword(config.databaseUrl) : config.dbPath, cors: config.corsOrigins, auth: Boolean(config.apiToken) }, 'metrics API ready')
} catch (err) {
  app.log.error({ err }, 'metrics API failed to start')
  process.exit(1)
}
