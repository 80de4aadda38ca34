import { startMockBackend } from '@llm-proxy/mock-backend'
import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import OpenAI from 'openai'
import { expect, test } from 'vitest'
import { chatBody, freePort, streamBody, tmpDir } from './helpers.js'
import { serverJs, startProxyProcess } from './process.js'

test('SIGTERM: in-flight streams finish, every row is stored, exit 0', async () => {
  const backend = await startMockBackend({ ttftMs: 50, tokensPerSecond: 40, answerTokens: 30 })
  const tmp = tmpDir()
  const dbFile = join(tmp.dir, 'metrics.db')
  const port = await freePort()
  const { child, output } = await startProxyProcess({ PROXY_HOST: '127.0.0.1', PROXY_PORT: String(port), BACKEND_URL: backend.url, DB_PATH: dbFile })
  try {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'k', maxRetries: 0 })
    await client.chat.completions.create(chatBody()) // one finished before the signal

    const inFlight = 5
    const firstTokens: Promise<void>[] = []
    const results = Array.from({ length: inFlight }, async (_, i) => {
      const stream = await client.chat.completions.create(streamBody({ user: `u${i}` }))
      let tokens = 0
      let gotFirst!: () => void
      firstTokens.push(new Promise((r) => (gotFirst = r)))
      for await (const c of stream) if (c.choices[0]?.delta.content && ++tokens === 1) gotFirst()
      return tokens
    })
    // Signal once every stream is under way.
    while (firstTokens.length < inFlight) await new Promise((r) => setImmediate(r))
    await Promise.all(firstTokens)
    const exited = once(child, 'exit')
    child.kill('SIGTERM')

    expect(await Promise.all(results)).toEqual(Array(inFlight).fill(30))
    const [code] = await exited
    expect(code, output()).toBe(0)

    const db = new Database(dbFile, { readonly: true })
    const rows = db.prepare('SELECT outcome, stream, completion_tokens FROM requests').all() as any[]
    db.close()
    expect(rows).toHaveLength(inFlight + 1)
    expect(rows.every((r) => r.outcome === 'success')).toBe(true)
  } finally {
    child.kill('SIGKILL')
    await backend.close()
    tmp.remove()
  }
})

test('a bad variable stops the process with a message naming it', async () => {
  const child = spawn(process.execPath, [serverJs], { env: { ...process.env, PROXY_PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (c) => (err += c))
  const [code] = await once(child, 'exit')
  expect(code).toBe(1)
  expect(err).toContain('PROXY_PORT')
  expect(err).toContain('"eighty"')
})

test('an unusable DB_PATH stops the process with a message naming it', async () => {
  const child = spawn(process.execPath, [serverJs], { env: { ...process.env, DB_PATH: '/dev/null/metrics.db' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (c) => (err += c))
  const [code] = await once(child, 'exit')
  expect(code).toBe(1)
  expect(err).toContain('DB_PATH=/dev/null/metrics.db')
})
