import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, expect, test } from 'vitest'
import { niceByThread } from '../../../tests/support/threads.js'
import { freePort, tmpDir } from './helpers.js'
import { runProxyToExit, startProxyProcess, type ProxyProcess } from './process.js'

const running: ProxyProcess[] = []
const dirs: (() => void)[] = []
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.child.kill('SIGKILL')
    await p.exited
  }
  for (const remove of dirs.splice(0)) remove()
})

/** Starts a proxy with capture on, whose backend is down, and makes one request (captured: it fails). */
async function proxyWithBothThreads(env: Record<string, string>): Promise<number> {
  const { dir, remove } = tmpDir('proxy-nice-')
  dirs.push(remove)
  const port = await freePort()
  const p = await startProxyProcess({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), DB_PATH: `${dir}/metrics.db`, BACKEND_URL: `http://127.0.0.1:${await freePort()}`, CAPTURE: 'all', ...env })
  running.push(p)
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' })
  expect(res.status).toBe(502)
  await res.text()
  return p.child.pid!
}

/**
 * The nice values of the threads of `pid` that differ from its main thread's, once there are `n`
 * of them (the capture thread starts with the first capture), or as they are after 5 s.
 */
async function threadsApart(pid: number, n: number): Promise<number[]> {
  let apart: number[] = []
  for (let i = 0; i < 200 && apart.length < n; i++) {
    if (i > 0) await delay(25)
    const nice = niceByThread(pid)
    apart = [...nice].filter(([, v]) => v !== nice.get(pid)).map(([, v]) => v)
  }
  return apart
}

test.runIf(process.platform === 'linux')('the row writer and the capture builder run at nice 10, the event loop where it was started', async () => {
  const pid = await proxyWithBothThreads({})
  expect(await threadsApart(pid, 2)).toEqual([10, 10])
  expect(niceByThread(pid).get(pid)).toBe(niceByThread(process.pid).get(process.pid))
})

test.runIf(process.platform === 'linux')('STORAGE_THREAD_NICE sets their nice value', async () => {
  const pid = await proxyWithBothThreads({ STORAGE_THREAD_NICE: '17' })
  expect(await threadsApart(pid, 2)).toEqual([17, 17])
})

test('a STORAGE_THREAD_NICE out of range stops the proxy with a message that names it', async () => {
  const { code, output } = await runProxyToExit({ STORAGE_THREAD_NICE: '20', DB_PATH: ':memory:' })
  expect(code).not.toBe(0)
  expect(output).toMatch(/STORAGE_THREAD_NICE: expected 0 to 19/)
})
