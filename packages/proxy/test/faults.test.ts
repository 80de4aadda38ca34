// Fault injection with real processes and real files: what happens to rows when the proxy is
// killed, stopped mid-stream, its database locked, full, read-only or deleted, or a client misbehaves.
import { startMockBackend, type MockBackend } from '@llm-proxy/mock-backend'
import Database from 'better-sqlite3'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, chownSync, mkdirSync, openSync, rmSync, writeSync, closeSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import OpenAI from 'openai'
import { afterEach, expect, test } from 'vitest'
import { chatBody, freePort, streamBody, tmpDir } from './helpers.js'
import { runProxyToExit, startProxyProcess, type ProxyProcess } from './process.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

async function setup(env: Record<string, string> = {}, mock: Parameters<typeof startMockBackend>[0] = {}, dbDir?: string) {
  const backend: MockBackend = await startMockBackend(mock)
  cleanups.push(() => backend.close())
  let dir = dbDir
  if (!dir) {
    const tmp = tmpDir('proxy-faults-')
    cleanups.push(tmp.remove)
    dir = tmp.dir
  }
  const dbFile = join(dir, 'metrics.db')
  const port = await freePort()
  const proxy = await startProxyProcess({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), BACKEND_URL: backend.url, DB_PATH: dbFile, ...env })
  cleanups.push(() => proxy.child.kill('SIGKILL'))
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'k', maxRetries: 0 })
  return { backend, dbFile, port, proxy, client, url: `http://127.0.0.1:${port}` }
}

const rowsIn = (file: string, where = '1 = 1') => {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(`SELECT * FROM requests WHERE ${where} ORDER BY seq`).all() as Record<string, any>[]
  } finally {
    db.close()
  }
}

/** Waits for a condition that no event announces (rows landing in another process's file). */
async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function stop(p: ProxyProcess, signal: NodeJS.Signals = 'SIGTERM') {
  p.child.kill(signal)
  return p.exited
}

test('SIGTERM with streams still running at SHUTDOWN_TIMEOUT_MS: each is cut, each has its row (proxy_shutdown), exit 0', async () => {
  const s = await setup({ SHUTDOWN_TIMEOUT_MS: '1500' }, { ttftMs: 20, tokensPerSecond: 20, answerTokens: 100 })
  const started: Promise<void>[] = []
  const streams = Array.from({ length: 50 }, (_, i) => {
    let first!: () => void
    started.push(new Promise((r) => (first = r)))
    return (async () => {
      const stream = await s.client.chat.completions.create(streamBody({ user: `u${i}` }))
      try {
        for await (const c of stream) if (c.choices[0]?.delta.content) first()
      } catch {}
    })()
  })
  await Promise.all(started)
  const t = performance.now()
  const code = await stop(s.proxy)
  const took = performance.now() - t
  await Promise.all(streams)
  expect(code, s.proxy.output()).toBe(0)
  expect(took).toBeGreaterThanOrEqual(1400)
  const rows = rowsIn(s.dbFile)
  expect(rows).toHaveLength(50)
  expect(rows.every((r) => r.outcome === 'network_error' && r.error_type === 'proxy_shutdown' && r.status_code === 200 && r.ttft_ms !== null)).toBe(true)
  expect(s.proxy.output()).toMatch(/stopped; all rows stored/)
})

/** A client that sends headers, then the body one byte every `everyMs`. */
function slowSender(port: number, everyMs: number) {
  const socket = connect(port, '127.0.0.1')
  const body = JSON.stringify(chatBody())
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`)
  let i = 0
  const timer = setInterval(() => (i < body.length && !socket.destroyed ? socket.write(body[i++]) : clearInterval(timer)), everyMs)
  let response = ''
  socket.on('data', (c) => (response += c))
  socket.on('error', () => {})
  // Not events.once(): it rejects on 'error', and a reset at shutdown would be an unhandled rejection
  // where no test awaits `closed`.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve())).then(() => (clearInterval(timer), response))
  return { socket, closed }
}

test('a body that trickles in gets 408 in OpenAI shape at BODY_TIMEOUT_MS, and a row', async () => {
  const s = await setup({ BODY_TIMEOUT_MS: '400' })
  const sender = slowSender(s.port, 100)
  const response = await sender.closed
  expect(response).toMatch(/^HTTP\/1.1 408/)
  expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)).error).toMatchObject({ code: 'request_timeout', type: 'invalid_request_error' })
  expect(await stop(s.proxy)).toBe(0)
  expect(rowsIn(s.dbFile)).toMatchObject([{ status_code: 408, outcome: 'client_error', error_type: 'request_timeout' }])
})

test('shutdown ends within its timeout whatever a slow sender does; its request gets a row', async () => {
  const s = await setup({ BODY_TIMEOUT_MS: '60000', SHUTDOWN_TIMEOUT_MS: '500' })
  const sender = slowSender(s.port, 200)
  cleanups.push(() => sender.socket.destroy())
  await new Promise((r) => sender.socket.once('connect', r))
  await new Promise((r) => setTimeout(r, 300)) // a few bytes are in
  const t = performance.now()
  expect(await stop(s.proxy)).toBe(0)
  expect(performance.now() - t).toBeLessThan(4_000)
  expect(rowsIn(s.dbFile)).toMatchObject([{ outcome: 'network_error', error_type: 'proxy_shutdown' }])
})

test('SIGKILL under load loses at most the rows of the last flush interval', async () => {
  const s = await setup({}, { ttftMs: 1, tokensPerSecond: 5000, answerTokens: 5 })
  const done = new Map<string, number>()
  let running = true
  let n = 0
  const workers = Array.from({ length: 8 }, async () => {
    while (running) {
      const user = `r${n++}`
      try {
        await s.client.chat.completions.create(chatBody({ user }))
        done.set(user, performance.now())
      } catch {
        return
      }
    }
  })
  await new Promise((r) => setTimeout(r, 1500))
  const killedAt = performance.now()
  s.proxy.child.kill('SIGKILL')
  running = false
  await Promise.all(workers)
  await s.proxy.exited
  const stored = new Set(rowsIn(s.dbFile).map((r) => r.user))
  const lost = [...done].filter(([user]) => !stored.has(user))
  // The flush interval is 100 ms; a batch being written may add its own time. Nothing older is lost.
  const BOUND_MS = 300
  const oldestLost = lost.length ? Math.min(...lost.map(([, t]) => t)) : killedAt
  expect(done.size).toBeGreaterThan(100)
  expect(killedAt - oldestLost, `${lost.length} of ${done.size} rows lost`).toBeLessThanOrEqual(BOUND_MS)
})

test('a lock held by another process delays no request; every row lands once it is released', async () => {
  const s = await setup()
  const timeOne = async () => {
    const t = performance.now()
    await s.client.chat.completions.create(chatBody())
    return performance.now() - t
  }
  const baseline: number[] = []
  for (let i = 0; i < 20; i++) baseline.push(await timeOne())
  await until(() => rowsIn(s.dbFile).length === 20, 'the baseline rows')

  const locker = spawn(process.execPath, ['-e', `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))})
    const db = new Database(${JSON.stringify(s.dbFile)})
    db.exec('BEGIN EXCLUSIVE'); console.log('locked')
    setTimeout(() => { db.exec('COMMIT'); db.close(); console.log('released') }, 2500)`], { stdio: ['ignore', 'pipe', 'inherit'] })
  cleanups.push(() => locker.kill('SIGKILL'))
  await new Promise<void>((r) => locker.stdout!.on('data', (c) => String(c).includes('locked') && r()))
  const during: number[] = []
  for (let i = 0; i < 20; i++) during.push(await timeOne())
  const health = performance.now()
  await fetch(`${s.url}/health`)
  const healthMs = performance.now() - health
  await once(locker, 'exit')
  // Without the writer thread a request waited up to the 5 s busy timeout.
  expect(Math.max(...during)).toBeLessThan(Math.max(...baseline) + 250)
  expect(healthMs).toBeLessThan(250)
  expect(await stop(s.proxy)).toBe(0)
  expect(rowsIn(s.dbFile)).toHaveLength(40)
})

const canMount = (() => {
  if (process.getuid?.() !== 0) return false
  const probe = tmpDir('mount-probe-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe.dir], { stdio: 'ignore' })
    execFileSync('umount', [probe.dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    probe.remove()
  }
})()

/** Fills a file system until it is full; returns a function that frees the space again. */
function fillDisk(dir: string): () => void {
  const file = join(dir, 'filler')
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) writeSync(fd, block)
  } catch {}
  try {
    for (;;) writeSync(fd, block.subarray(0, 512))
  } catch {}
  closeSync(fd)
  return () => rmSync(file, { force: true })
}

test.skipIf(!canMount)('a full disk: no client sees an error, rows land once space returns (needs root to mount a small tmpfs)', async () => {
  const tmp = tmpDir('proxy-fulldisk-')
  cleanups.push(tmp.remove)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tmp.dir])
  cleanups.push(() => execFileSync('umount', ['-l', tmp.dir]))
  const s = await setup({}, {}, tmp.dir)
  await s.client.chat.completions.create(chatBody())
  await until(() => rowsIn(s.dbFile).length === 1, 'the first row')

  const free = fillDisk(tmp.dir)
  for (let i = 0; i < 30; i++) await s.client.chat.completions.create(chatBody({ user: `full-${i}` }))
  await until(() => s.proxy.output().includes('storing rows failed; will retry'), 'a failed write')
  free()
  await until(() => rowsIn(s.dbFile).length === 31, 'rows after space returned')
  expect(await stop(s.proxy)).toBe(0)
  expect(rowsIn(s.dbFile)).toHaveLength(31)
})

test('a stop while storage still fails says how many rows were lost and exits 1', async () => {
  const s = await setup()
  await s.client.chat.completions.create(chatBody())
  await until(() => rowsIn(s.dbFile).length === 1, 'the first row')
  const locker = spawn(process.execPath, ['-e', `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))})
    const db = new Database(${JSON.stringify(s.dbFile)})
    db.exec('BEGIN EXCLUSIVE'); console.log('locked'); setInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'inherit'] })
  cleanups.push(() => locker.kill('SIGKILL'))
  await new Promise<void>((r) => locker.stdout!.on('data', (c) => String(c).includes('locked') && r()))
  for (let i = 0; i < 5; i++) await s.client.chat.completions.create(chatBody({ user: `lost-${i}` }))
  expect(await stop(s.proxy), s.proxy.output()).toBe(1)
  expect(s.proxy.output()).toMatch(/stopped; 5 rows could not be stored/)
  expect(s.proxy.output()).not.toMatch(/all rows stored/)
  locker.kill('SIGKILL')
  await once(locker, 'exit')
  expect(rowsIn(s.dbFile)).toHaveLength(1)
})

test('a database the proxy may read but not write stops it at start, naming DB_PATH', async () => {
  const tmp = tmpDir('proxy-readonly-')
  cleanups.push(tmp.remove)
  const dir = join(tmp.dir, 'data')
  mkdirSync(dir)
  const file = join(dir, 'metrics.db')
  new Database(file).close()
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
  if (asUser.uid) {
    chmodSync(tmp.dir, 0o755)
    chownSync(dir, asUser.uid, asUser.gid!)
    chownSync(file, asUser.uid, asUser.gid!)
  }
  chmodSync(file, 0o444)
  chmodSync(dir, 0o555)
  const { code, output } = await runProxyToExit({ DB_PATH: file, PROXY_PORT: String(await freePort()), BACKEND_URL: 'http://127.0.0.1:9' }, asUser)
  chmodSync(dir, 0o755)
  expect(code).toBe(1)
  expect(output).toContain(`DB_PATH=${file}`)
})

test('the database file deleted while running: logged loudly, created again, later rows land in it', async () => {
  const s = await setup()
  for (let i = 0; i < 10; i++) await s.client.chat.completions.create(chatBody())
  await until(() => rowsIn(s.dbFile).length === 10, 'the first rows')
  for (const f of [s.dbFile, `${s.dbFile}-wal`, `${s.dbFile}-shm`]) rmSync(f, { force: true })
  for (let i = 0; i < 7; i++) await s.client.chat.completions.create(chatBody({ user: 'after' }))
  expect(await stop(s.proxy)).toBe(0)
  expect(s.proxy.output()).toMatch(/"level":50.*the database file was deleted or replaced/)
  expect(rowsIn(s.dbFile).map((r) => r.user)).toEqual(Array(7).fill('after'))
})

test('query-string secrets never reach the log', async () => {
  const s = await setup()
  await fetch(`${s.url}/v1/models?api-key=sk-live-secret-1&limit=2`)
  await fetch(`${s.url}/v1/nowhere?token=tok-secret-2&api_key=sk-secret-3&KEY=k-secret-4`)
  expect(await stop(s.proxy)).toBe(0)
  const log = s.proxy.output()
  for (const secret of ['sk-live-secret-1', 'tok-secret-2', 'sk-secret-3', 'k-secret-4']) expect(log).not.toContain(secret)
  expect(log).toContain('api-key=[REDACTED]&limit=2')
})

test('BACKEND_API_KEY on a public address is refused unless ALLOW_OPEN_RELAY=true', async () => {
  const refused = await runProxyToExit({ BACKEND_API_KEY: 'sk-owner', PROXY_HOST: '0.0.0.0', PROXY_PORT: String(await freePort()) })
  expect(refused.code).toBe(1)
  expect(refused.output).toMatch(/BACKEND_API_KEY/)
  expect(refused.output).toMatch(/ALLOW_OPEN_RELAY=true/)
  expect(refused.output).not.toContain('sk-owner')
  const tmp = tmpDir()
  cleanups.push(tmp.remove)
  const allowed = await startProxyProcess({ BACKEND_API_KEY: 'sk-owner', PROXY_HOST: '0.0.0.0', ALLOW_OPEN_RELAY: 'true', PROXY_PORT: String(await freePort()), DB_PATH: join(tmp.dir, 'm.db') })
  expect(await stop(allowed)).toBe(0)
})
