import { once } from 'node:events'
import { connect } from 'node:net'
import { EventEmitter } from 'node:events'
import { expect, test } from 'vitest'
import { startScriptedUpstream, startStack } from './helpers.js'

const TOTAL = 256 * 1024 * 1024
const PIECE = Buffer.alloc(1024 * 1024, 'a')

test('a client that stops reading makes the backend wait instead of the proxy buffering', async () => {
  const progress = new EventEmitter()
  let written = 0
  const up = await startScriptedUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) })
    const pump = () => {
      while (written < TOTAL) {
        written += PIECE.length
        if (!res.write(PIECE)) {
          progress.emit('blocked', written)
          res.once('drain', pump)
          return
        }
      }
      res.end()
      progress.emit('finished', written)
    }
    pump()
  })
  const stack = await startStack({ backendUrl: up.url })
  try {
    // A raw client that sends the request and does not read the answer.
    const socket = connect(Number(new URL(stack.url).port), '127.0.0.1')
    await once(socket, 'connect')
    socket.pause()
    const body = JSON.stringify({ model: 'm', messages: [] })
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)

    // The backend must block long before it has pushed everything: the proxy holds only buffers' worth.
    const [event, at] = await Promise.race([
      once(progress, 'blocked').then(([n]) => ['blocked', n] as const),
      once(progress, 'finished').then(([n]) => ['finished', n] as const),
    ])
    expect(event).toBe('blocked')
    // Blocked repeatedly while the client is paused: what is in flight stays a small fraction of the total.
    const heapBefore = process.memoryUsage().arrayBuffers
    expect(at).toBeLessThan(TOTAL / 4)

    // Now read everything: every byte arrives and one row is recorded.
    let received = 0
    const all = new Promise<void>((resolve) =>
      socket.on('data', (c: Buffer) => {
        received += c.length
        if (received > TOTAL) resolve() // body plus the status line and headers
      }),
    )
    socket.resume()
    await all
    const row = await stack.rows.next()
    expect(row.outcome).toBe('success')
    expect(row.response_bytes).toBe(TOTAL)
    expect(received).toBeGreaterThan(TOTAL)
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(TOTAL / 4)
    socket.destroy()
  } finally {
    await stack.close()
    await up.close()
  }
})
