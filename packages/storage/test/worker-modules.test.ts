import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

// A hook that prints every module the script loads; the script itself then fails (it is a thread's
// script started as a process, with no parent port), after its whole module graph has loaded.
const hook = 'data:text/javascript,' + encodeURIComponent(`
import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(\`
import { writeSync } from 'node:fs'
export async function load(url, context, next) { writeSync(1, 'LOADED ' + url + '\\\\n'); return next(url, context) }
\`))
`)

function modulesOf(script: string): string[] {
  const path = fileURLToPath(new URL(`../dist/${script}`, import.meta.url))
  const run = spawnSync(process.execPath, ['--import', hook, path], { encoding: 'utf8', timeout: 20_000 })
  return run.stdout.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7))
}

// Each thread pays for what it loads (zod alone is ~10 MB of resident memory per thread); the
// writer threads need the row and rollup shapes, not the config, the contracts or the price table.
test.each(['sqlite/worker.js', 'pg/worker.js'])('the writer thread %s loads neither zod, yaml nor the price table', (script) => {
  const loaded = modulesOf(script)
  expect(loaded.some((u) => u.includes('/core/dist/rollup.js'))).toBe(true)
  expect(loaded.filter((u) => /\/node_modules\/(\.pnpm\/)?(zod|yaml|@pydantic)/.test(u) || u.includes('/core/dist/config.js'))).toEqual([])
})

// The proxy imports this entry on its event loop; the drivers belong to the writer threads.
test('the proxy entry (sink.js) loads no database driver', () => {
  const loaded = modulesOf('sink.js')
  expect(loaded.some((u) => u.includes('/storage/dist/sink-worker.js'))).toBe(true)
  expect(loaded.filter((u) => /\/node_modules\/(\.pnpm\/)?(postgres|better-sqlite3)[@/]/.test(u))).toEqual([])
})
