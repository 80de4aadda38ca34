import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { PROXY_NODE_FLAGS } from '../src/node-flags.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const read = (path: string) => readFileSync(root + path, 'utf8')
const flags = PROXY_NODE_FLAGS.join(' ')

test('every way of starting the proxy passes the same Node flags', () => {
  // The Docker image (exec form, so SIGTERM reaches node itself).
  const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile.proxy'))
  expect(cmd, 'Dockerfile.proxy has an exec-form CMD').not.toBeNull()
  expect(JSON.parse(cmd![1])).toEqual(['node', ...PROXY_NODE_FLAGS, 'dist/server.js'])
  // npm start in the package.
  expect(JSON.parse(read('packages/proxy/package.json')).scripts.start).toContain(`node ${flags} dist/server.js`)
  // The systemd unit in EXAMPLES.md.
  expect(read('EXAMPLES.md')).toContain(`ExecStart=/usr/bin/node ${flags} dist/server.js`)
  // The repository's launcher (pnpm start / npm start at the root) and the benchmarks take the list itself.
  for (const file of ['scripts/start.mjs', 'bench/processes.mjs']) expect(read(file), file).toContain('PROXY_NODE_FLAGS')
})

test('Node accepts the flags, and the young generation stays at 8 MB per semi-space under allocation', () => {
  // Short-lived objects with some surviving a while, as requests are: V8 grows new space when they survive.
  const script = `const keep = []
for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep.splice(0, 10000) }
const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')
process.stdout.write(String(s.space_size / 1048576))`
  const run = (args: readonly string[]) => spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8' })
  const flagged = run(PROXY_NODE_FLAGS)
  expect(flagged.stderr).toBe('')
  expect(flagged.status).toBe(0)
  // Both semi-spaces together.
  expect(Number(flagged.stdout)).toBeLessThanOrEqual(16)
  // Without the flags the same allocation grows it further (so the check above can fail).
  expect(Number(run([]).stdout)).toBeGreaterThan(16)
})
