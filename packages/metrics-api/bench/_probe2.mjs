import { createPgReader } from '@llm-proxy/storage'
import { getSummary } from '../dist/queries/get-summary.js'
const r = createPgReader(process.env.URL)
const now = Date.now()
for (let i = 0; i < 4; i++) {
  const stats = []
  const c0 = process.cpuUsage(); const t0 = performance.now()
  await r.read(async (s) => {
    const snap = { async all(sql, p) { const t = performance.now(); const c = process.cpuUsage(); const rows = await s.all(sql, p); const cu = process.cpuUsage(c); stats.push([sql.slice(0, 60), rows.length, (performance.now() - t).toFixed(1), ((cu.user + cu.system) / 1000).toFixed(1)]); return rows } }
    return getSummary(snap, { start: now - 30 * 86400000 }, now)
  })
  const c = process.cpuUsage(c0)
  console.log('total', (performance.now() - t0).toFixed(0), 'ms wall', ((c.user + c.system) / 1000).toFixed(0), 'ms cpu; in all():', stats.reduce((a, s) => a + Number(s[3]), 0).toFixed(0), 'ms cpu')
  if (i === 3) for (const s of stats) if (s[1] > 50) console.log(s.join(' | '))
}
await r.close()
