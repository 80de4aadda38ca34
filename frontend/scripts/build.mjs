#!/usr/bin/env node
// Builds the app (vite) and the server (tsc) into .build/, then swaps each output folder into place
// with two renames. A dashboard that is running meanwhile (`npm start` while the tests rebuild)
// keeps serving the old build until the instant the new one is there: no folder is ever deleted
// under it.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

const here = join(dirname(fileURLToPath(import.meta.url)), '..')
const staging = join(here, '.build')
rmSync(staging, { recursive: true, force: true })
mkdirSync(staging)

await build({ root: here, logLevel: 'warn', build: { outDir: join(staging, 'dist'), emptyOutDir: true } })
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc')
const server = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.server.json'), '--outDir', join(staging, 'dist-server')], { stdio: 'inherit' })
if (server.status !== 0) process.exit(server.status ?? 1)

for (const name of ['dist', 'dist-server']) {
  const live = join(here, name)
  const old = join(staging, `${name}.old`)
  if (existsSync(live)) renameSync(live, old)
  renameSync(join(staging, name), live)
}
rmSync(staging, { recursive: true, force: true })
console.log('built dist/ and dist-server/')
