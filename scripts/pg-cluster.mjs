#!/usr/bin/env node
// A throwaway PostgreSQL cluster for the tests: its own data directory and port on 127.0.0.1, run
// as the `postgres` user when started by root (PostgreSQL refuses to run as root).
//   node scripts/pg-cluster.mjs start   → prints the URL (postgres://postgres@127.0.0.1:PORT/postgres)
//   node scripts/pg-cluster.mjs stop DIR
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function pgBinDir() {
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return null
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a))
  return versions.length ? join(base, versions[0], 'bin') : null
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

function run(bin, args) {
  const asRoot = process.getuid?.() === 0
  const cmd = asRoot ? 'runuser' : bin
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args
  const r = spawnSync(cmd, argv, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${r.stderr || r.stdout || r.error?.message}`)
  return r.stdout
}

/** Starts a cluster; resolves with its URL, data directory, port and the postmaster's pid (a resumed cluster has another). */
export async function startCluster() {
  const bin = pgBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql; .ci/run does)')
  const dir = mkdtempSync(join(tmpdir(), 'llm-proxy-pg-'))
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  chmodSync(dir, 0o700)
  const data = join(dir, 'data')
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  // Durability is not what these tests measure; fsync off keeps them fast.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`
  run(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start'])
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, port, pid }
}

export function stopCluster(dir, mode = 'fast') {
  const bin = pgBinDir()
  try {
    run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', mode, '-w', 'stop'])
  } catch {}
  rmSync(dir, { recursive: true, force: true })
}

/** Stops the server but keeps its files, to start it again (outage tests). */
export function pauseCluster(dir) {
  run(join(pgBinDir(), 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop'])
}

export function resumeCluster(dir, port) {
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`
  run(join(pgBinDir(), 'pg_ctl'), ['-D', join(dir, 'data'), '-o', opts, '-l', join(dir, 'log'), '-w', 'start'])
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, dir] = process.argv.slice(2)
  if (cmd === 'start') {
    const c = await startCluster()
    console.log(`${c.url} ${c.dir}`)
  } else if (cmd === 'stop' && dir) stopCluster(dir)
  else {
    console.error('usage: pg-cluster.mjs start | stop DIR')
    process.exit(2)
  }
}
