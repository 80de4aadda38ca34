import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { PROXY_NODE_FLAGS } from '../src/node-flags.js'

// Started as users start it: with the Node flags of every launch point.
export const serverJs = fileURLToPath(new URL('../dist/server.js', import.meta.url))

export interface ProxyProcess {
  child: ChildProcess
  output(): string
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
}

/**
 * Starts the built proxy as a real process; resolves once it logs that it is ready (or rejects with
 * its output if it exits first). `uid`/`gid` run it as another user (root only).
 */
export async function startProxyProcess(env: Record<string, string>, o: { uid?: number; gid?: number } = {}): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [...PROXY_NODE_FLAGS, serverJs], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'], uid: o.uid, gid: o.gid })
  let out = ''
  child.stdout!.on('data', (c) => (out += c))
  child.stderr!.on('data', (c) => (out += c))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  await new Promise<void>((resolve, reject) => {
    const onData = () => out.includes('proxy ready') && (child.stdout!.off('data', onData), resolve())
    child.stdout!.on('data', onData)
    void exited.then((code) => reject(new Error(`proxy exited with ${code}: ${out}`)))
  })
  return { child, output: () => out, exited }
}

/** Runs the proxy expecting it to refuse to start; resolves with its exit code and output. */
export async function runProxyToExit(env: Record<string, string>, o: { uid?: number; gid?: number } = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...PROXY_NODE_FLAGS, serverJs], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], uid: o.uid, gid: o.gid })
  let out = ''
  child.stdout!.on('data', (c) => (out += c))
  child.stderr!.on('data', (c) => (out += c))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, output: out }
}
