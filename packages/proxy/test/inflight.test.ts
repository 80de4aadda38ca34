import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { afterEach, expect, test } from 'vitest'
import { chatBody, startScriptedUpstream, startStack, type Stack } from './helpers.js'

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

const answer = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }))
}

test('inflight: requests at the backend when this one left for it, itself included; the count falls back as they end, fail or are refused', async () => {
  const N = 5
  const held: ServerResponse[] = []
  let arrived!: () => void
  const allArrived = new Promise<void>((r) => (arrived = r))
  const up = await startScriptedUpstream((req, res) => {
    if (req.body.includes('"fail"')) {
      res.writeHead(500, { 'content-type': 'application/json' })
      return res.end('{"error":{"message":"boom"}}')
    }
    if (req.body.includes('"hang"')) return // never answers
    if (held.length >= N) return answer(res)
    // The first N are held until all N are at the backend at once.
    held.push(res)
    if (held.length === N) arrived()
  })
  try {
    stack = await startStack({ backendUrl: up.url })
    const first = Array.from({ length: N }, () => stack!.client.chat.completions.create(chatBody()))
    await allArrived
    for (const res of held) answer(res)
    await Promise.all(first)
    const rows = await stack.rows.until(N)
    expect(rows.map((r) => r.inflight).sort()).toEqual([1, 2, 3, 4, 5])

    // A backend error still ends the request's time at the backend.
    await expect(stack.client.chat.completions.create(chatBody({ model: 'fail' }))).rejects.toThrow()
    expect((await stack.rows.until(N + 1))[N]).toMatchObject({ outcome: 'backend_error', inflight: 1 })
    // Malformed JSON never leaves the proxy: no inflight.
    const bad = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' })
    expect(bad.status).toBe(400)
    expect((await stack.rows.until(N + 2))[N + 1]).toMatchObject({ outcome: 'client_error', inflight: null })
    // Alone again: level 1.
    await stack.client.chat.completions.create(chatBody())
    expect((await stack.rows.until(N + 3))[N + 2]).toMatchObject({ outcome: 'success', inflight: 1 })
    // A client that gives up on a request the backend never answers: it leaves the count too.
    const gone = new AbortController()
    const left = stack.client.chat.completions.create(chatBody({ model: 'hang' }), { signal: gone.signal })
    await once(up.server, 'request')
    gone.abort()
    await expect(left).rejects.toThrow()
    expect((await stack.rows.until(N + 4))[N + 3]).toMatchObject({ outcome: 'cancelled', inflight: 1 })
    await stack.client.chat.completions.create(chatBody())
    expect((await stack.rows.until(N + 5))[N + 4]).toMatchObject({ outcome: 'success', inflight: 1 })
  } finally {
    await up.close()
  }
})
