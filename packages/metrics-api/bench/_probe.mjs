import { buildMetricsApi } from '../dist/app.js'
const DAY = 86_400_000
const api = buildMetricsApi({ config: { databaseUrl: process.env.URL, dbPath: '/nonexistent.db', corsOrigins: [] } })
await api.ready()
const now = Date.now()
const only = process.env.ONLY; const qs0 = [
  ['metrics 30d', `/metrics?start=${now - 30 * DAY}`],
  ['metrics 1h', `/metrics?start=${now - 3_600_000}`],
  ['ts 30d', `/metrics/timeseries?start=${now - 30 * DAY}`],
  ['ts 1h', `/metrics/timeseries?start=${now - 3_600_000}`],
  ['requests', '/metrics/requests?limit=50'],
  ['model 30d', `/metrics?start=${now - 30 * DAY}&model=llama3.1:8b`],
  ['prom', '/metrics/prometheus'],
]; const qs = only ? qs0.filter(q => q[0] === only) : qs0
for (const [name, url] of qs) {
  const times = []
  const c0 = process.cpuUsage()
  for (let i = 0; i < Number(process.env.N ?? 7); i++) {
    const t = performance.now()
    const r = await api.inject({ url })
    if (r.statusCode !== 200) throw new Error(name + ' ' + r.statusCode + r.body.slice(0, 200))
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  const c = process.cpuUsage(c0)
  console.log(name.padEnd(12), 'cpu/req', ((c.user + c.system) / 1000 / times.length).toFixed(1), 'ms |', times.map((t) => t.toFixed(0)).join(' '))
}
await api.close()
