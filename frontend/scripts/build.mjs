#!/usr/bin/env node
// Builds the app (vite) and the server (tsc) into .build/, then publishes each into dist/ and
// dist-server/ file by file: every file is written beside its place and renamed over it (an atomic
// step), index.html last, and the files the new build no longer has are removed after. A dashboard
// that is running meanwhile (`npm start` while the tests rebuild) never finds its folder missing
// or a file half-written, and the assets the previous index.html named stay for pages loaded
// before the switch.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
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

const files = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))) : [])

function publish(from, to, last) {
  const previousIndex = join(to, 'index.html')
  // Assets the live index.html names: kept, for pages that loaded it before the switch.
  const keep = new Set(existsSync(previousIndex) ? [...readFileSync(previousIndex, 'utf8').matchAll(/["']\/(assets\/[^"'?#]+)["']/g)].map((m) => m[1]) : [])
  const next = files(from)
  for (const f of [...next.filter((f) => f !== last), ...next.filter((f) => f === last)]) {
    mkdirSync(dirname(join(to, f)), { recursive: true })
    const tmp = `${join(to, f)}.${process.pid}.tmp`
    copyFileSync(join(from, f), tmp)
    renameSync(tmp, join(to, f))
  }
  const wanted = new Set(next)
  for (const f of files(to)) if (!wanted.has(f) && !keep.has(f)) rmSync(join(to, f))
}
publish(join(staging, 'dist'), join(here, 'dist'), 'index.html')
publish(join(staging, 'dist-server'), join(here, 'dist-server'))
rmSync(staging, { recursive: true, force: true })
console.log('built dist/ and dist-server/')
