import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { freePort, root, startProcess, waitForOk } from './helpers.js'

// What the Dockerfiles do, without a Docker engine: a production-only deploy of one package into
// an empty folder (after the root build), then the service started from that folder alone.
const work = mkdtempSync(join(tmpdir(), 'deploy-check-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function deploy(pkg: string): string {
  const out = join(work, pkg.replace(/\W/g, '_'))
  execFileSync('pnpm', ['--filter', pkg, 'deploy', '--prod', '--legacy', '--prefer-offline', out], { cwd: root, stdio: 'pipe' })
  // Development tools must not be there.
  expect(existsSync(join(out, 'node_modules', 'vitest'))).toBe(false)
  expect(existsSync(join(out, 'node_modules', 'typescript'))).toBe(false)
  return out
}

test.each([
  ['@llm-proxy/proxy', 'dist/server.js', 'PROXY_PORT', { PROXY_HOST: '127.0.0.1', BACKEND_URL: 'http://127.0.0.1:9' }],
  ['@llm-proxy/metrics-api', 'dist/server.js', 'METRICS_PORT', {}],
  ['@llm-proxy/dashboard', 'dist-server/server.js', 'DASHBOARD_PORT', { METRICS_API_URL: 'http://127.0.0.1:9' }],
])('%s runs from a production deploy on its own', async (pkg, entry, portVar, env) => {
  const dir = deploy(pkg)
  if (pkg !== '@llm-proxy/dashboard') {
    // The PostgreSQL client ships with the fix from patches/ (a closed connection must not end the process).
    const store = join(dir, 'node_modules', '.pnpm')
    const copies = readdirSync(store).filter((name) => name.startsWith('postgres@'))
    expect(copies).toHaveLength(1)
    for (const file of ['src/connection.js', 'cjs/src/connection.js']) {
      expect(readFileSync(join(store, copies[0], 'node_modules', 'postgres', file), 'utf8')).toContain('if (socket === null) {')
    }
  }
  const port = await freePort()
  const service = startProcess([join(dir, entry)], { ...env, [portVar]: String(port), DB_PATH: join(work, `${port}.db`), LOG_LEVEL: 'warn' }, dir)
  try {
    const health = await waitForOk(`http://127.0.0.1:${port}/health`, service.child)
    expect((await health.json()).status).toBe('ok')
    if (pkg === '@llm-proxy/dashboard') {
      const page = await fetch(`http://127.0.0.1:${port}/`)
      expect(await page.text()).toContain('<div id="root">')
    }
  } finally {
    expect(await service.stop(), service.output()).toBe(0)
  }
})

test('llm-bench, the second command of the proxy image, runs from its own production deploy', () => {
  const dir = deploy('@llm-proxy/bench')
  const help = execFileSync(process.execPath, [join(dir, 'dist/cli.js'), '--help'], { encoding: 'utf8' })
  expect(help).toContain('--base-url')
  const dockerfile = readFileSync(join(root, 'Dockerfile.proxy'), 'utf8')
  expect(dockerfile).toMatch(/deploy --prod --legacy [^\n]*\/out\/bench$/m)
  expect(dockerfile).toContain('/usr/local/bin/llm-bench')
})
