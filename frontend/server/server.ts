import { loadConfigOrExit, loadDashboardConfig } from '@llm-proxy/core'
import { fileURLToPath } from 'node:url'
import { buildDashboardServer } from './app.js'

const config = loadConfigOrExit('dashboard', () => loadDashboardConfig(process.env))

const app = buildDashboardServer({
  config,
  staticDir: fileURLToPath(new URL('../dist', import.meta.url)),
  logger: { level: config.logLevel },
})
const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info({ metricsApi: config.metricsApiUrl, signIn: config.signIn !== null, keyManagement: config.admin?.url ?? null }, 'dashboard ready')
} catch (err) {
  app.log.error({ err }, 'dashboard failed to start')
  process.exit(1)
}
