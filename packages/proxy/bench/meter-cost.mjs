// node packages/proxy/bench/meter-cost.mjs [--streams 20000] — what the SSE meter costs per stream:
// one 64-token chat completion stream from the simulated backend (with the usage chunk), fed to the
// meter as the backend sent it (one event per chunk), in one chunk, and in 8 arbitrary pieces, with
// and without stripping the usage chunk. CPU-bound, in-process: µs per stream.
import { startMockBackend } from '@llm-proxy/mock-backend'
import { parseArgs } from 'node:util'
import { SseMeter } from '../dist/metering/sse-meter.js'

const { values: a } = parseArgs({ options: { streams: { type: 'string', default: '20000' } } })
const N = Number(a.streams)
const backend = await startMockBackend({ ttftMs: 0, tokensPerSecond: 0, answerTokens: 64 })
const res = await fetch(`${backend.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'mock-llama-3.2-1b', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true }, max_tokens: 64 }),
})
const text = Buffer.from(await res.arrayBuffer())
await backend.close()

const events = text.toString().split('\n\n').filter(Boolean).map((e) => Buffer.from(e + '\n\n'))
const pieces = Array.from({ length: 8 }, (_, i) => text.subarray(Math.floor((i * text.length) / 8), Math.floor(((i + 1) * text.length) / 8)))
console.log(`SSE meter, one ${events.length}-event stream (${text.length} bytes), ${N} streams per figure`)
for (const [name, chunks] of [['one event per chunk', events], ['one chunk', [text]], ['8 pieces', pieces]]) {
  for (const strip of [false, true]) {
    let us = 0
    for (let round = 0; round < 2; round++) {
      const t = performance.now()
      for (let i = 0; i < N; i++) {
        const m = new SseMeter(strip, 'openai')
        for (const c of chunks) m.push(c, 1)
        m.end(2)
        if (m.outputEvents !== 64 || m.usage?.completionTokens !== 64 || !m.done) throw new Error('the meter misread the stream')
      }
      us = ((performance.now() - t) * 1000) / N // the second round, after warm-up
    }
    console.log(`  ${name.padEnd(20)} ${strip ? 'strip usage chunk' : 'pass through     '}  ${us.toFixed(1)} µs/stream`)
  }
}
