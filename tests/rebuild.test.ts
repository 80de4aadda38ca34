import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { freePort, root, startProcess, waitForOk } from './helpers.js'

// The test command builds first. Run while `npm start` is up, that build must not pull the
// dashboard's files from under the running server.
test('rebuilding the dashboard while it serves: every page request during the build is answered', async () => {
  const port = await freePort()
  const server = startProcess([join(root, 'frontend/dist-server/server.js')], { DASHBOARD_PORT: String(port), METRICS_API_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'warn' })
  try {
    await waitForOk(`http://127.0.0.1:${port}/health`, server.child)
    const build = spawn('pnpm', ['--filter', '@llm-proxy/dashboard', 'run', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let buildOutput = ''
    build.stdout.on('data', (c) => (buildOutput += c))
    build.stderr.on('data', (c) => (buildOutput += c))
    const built = once(build, 'exit')
    let done = false
    void built.then(() => (done = true))

    const failures: string[] = []
    let requests = 0
    while (!done) {
      // As a browser does: the page, then the script it names.
      const page = await fetch(`http://127.0.0.1:${port}/`)
      const html = await page.text()
      requests++
      if (page.status !== 200 || !html.includes('<div id="root">')) {
        failures.push(`/ → ${page.status}`)
        continue
      }
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
      const asset = await fetch(`http://127.0.0.1:${port}${script}`)
      await asset.arrayBuffer()
      if (asset.status !== 200) failures.push(`${script} → ${asset.status}`)
    }
    expect((await built)[0], buildOutput).toBe(0)
    // A clean build log: zod's comment annotations no longer print Rollup's multi-line warnings.
    expect(buildOutput).not.toMatch(/Rollup cannot interpret|contains an annotation/)
    expect(requests).toBeGreaterThan(10)
    expect(failures).toEqual([])
    // Nothing alarming in the server's log either.
    expect(server.output()).not.toContain('404 handler')
  } finally {
    expect(await server.stop()).toBe(0)
  }
}, 180_000)
