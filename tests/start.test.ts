import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { freePort, startProcess } from './helpers.js'

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => (s.destroy(), resolve(false)))
    s.once('error', () => resolve(true))
  })

test('the quick start runs the suite on the simulated backend with demo traffic, and Ctrl-C stops it all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quickstart-'))
  const [proxy, metrics, dashboard, mock, nothing] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
  const dbFile = join(dir, 'metrics.db')
  const run = startProcess(['scripts/start.mjs'], {
    PROXY_PORT: String(proxy), METRICS_PORT: String(metrics), DASHBOARD_PORT: String(dashboard), MOCK_PORT: String(mock),
    BACKEND_PORT: String(nothing), DB_PATH: dbFile, NO_COLOR: '1',
  })
  try {
    // Start-up ends with the three URLs.
    await new Promise<void>((resolve, reject) => {
      run.child.stdout!.on('data', () => run.output().includes('Ctrl-C stops everything') && resolve())
      run.child.once('exit', (code) => reject(new Error(`start exited ${code}: ${run.output()}`)))
    })
    const out = run.output()
    expect(out).toContain('SIMULATED backend')
    expect(out).toContain(`http://localhost:${dashboard}`)
    expect(out).toContain(`http://localhost:${proxy}/v1`)
    expect(out).toContain(`http://127.0.0.1:${metrics}/metrics`)
    expect(out).toMatch(/^\[proxy\] +/m)
    // It names the models, the one the README's examples use among them.
    expect(out).toMatch(/^\[start\] +models +llama3\.2:1b, mock-llama-3\.2-1b, mock-qwen2\.5-7b +\(simulated\)$/m)

    // Demo traffic reaches the dashboard through the whole chain.
    let total = 0
    for (let i = 0; i < 200 && total === 0; i++) {
      const body = await (await fetch(`http://127.0.0.1:${dashboard}/api/metrics`)).json()
      total = body.requests.total
      if (!total) await new Promise((r) => setTimeout(r, 100))
    }
    expect(total).toBeGreaterThan(0)
    expect(await (await fetch(`http://127.0.0.1:${dashboard}/config.json`)).json()).toMatchObject({ proxyUrl: `http://localhost:${proxy}` })
  } finally {
    expect(await run.stop('SIGINT'), run.output()).toBe(0)
  }
  // Nothing left listening, every row stored and consistent with what the API saw.
  for (const port of [proxy, metrics, dashboard, mock]) expect(await refused(port)).toBe(true)
  expect(run.output()).toContain('stopped; all rows stored')
  const db = new Database(dbFile, { readonly: true })
  expect((db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n).toBeGreaterThan(0)
  db.close()
  rmSync(dir, { recursive: true, force: true })
})
