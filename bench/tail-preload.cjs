// Preloaded into bench/tail.mjs's target (--require): records the event loop's garbage collections
// and every message of more than 20 µs posted to a worker thread, as [start ms since the epoch,
// duration ms], and writes them to $TAIL_OUT on SIGUSR2.
const { PerformanceObserver, performance } = require('node:perf_hooks')
const { isMainThread, Worker } = require('node:worker_threads')
const { writeFileSync } = require('node:fs')

if (isMainThread) {
  const gcs = []
  const posts = []
  const origin = performance.timeOrigin
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([origin + e.startTime, e.duration])
  }).observe({ entryTypes: ['gc'] })
  const post = Worker.prototype.postMessage
  Worker.prototype.postMessage = function (...args) {
    const start = performance.now()
    const result = post.apply(this, args)
    const took = performance.now() - start
    if (took > 0.02) posts.push([origin + start, took])
    return result
  }
  process.on('SIGUSR2', () => writeFileSync(process.env.TAIL_OUT, JSON.stringify({ gcs, posts })))
}
