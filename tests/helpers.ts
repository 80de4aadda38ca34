import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))

export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** Polls until `url` answers 2xx (a server starting up says nothing we could await). */
export async function waitForOk(url: string, child?: ChildProcess, timeoutMs = 30_000): Promise<Response> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} answered`)
    try {
      const res = await fetch(url)
      if (res.ok) return res
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Starts a process, collecting its output; `stop()` sends SIGTERM and resolves with the exit code. */
export function startProcess(args: string[], env: Record<string, string>, cwd = root) {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  return {
    child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
      if (child.exitCode !== null) return child.exitCode
      const exited = once(child, 'exit')
      child.kill(signal)
      return (await exited)[0] as number | null
    },
  }
}

const proxyServerJs = fileURLToPath(new URL('../packages/proxy/dist/server.js', import.meta.url))

/**
 * The built proxy as a real process on a free loopback port; resolves once /health answers.
 * `kill()` on the returned child is the caller's (or `onCleanup`'s) job.
 */
export async function startProxyServer(env: Record<string, string>, onCleanup: (f: () => unknown) => void) {
  const port = await freePort()
  const child = spawn(process.execPath, [proxyServerJs], {
    env: { ...process.env, LOG_LEVEL: 'warn', PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (c) => (out += c))
  child.stderr!.on('data', (c) => (out += c))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  onCleanup(() => child.kill('SIGKILL'))
  await waitForOk(`http://127.0.0.1:${port}/health`, child)
  return { port, url: `http://127.0.0.1:${port}`, child, exited, output: () => out }
}
