// The capture thread: images, redaction and cutting run here, so a large or digit-heavy body (the
// phone number search alone can take a few hundred milliseconds on 64 KB of figures) never holds
// the proxy's event loop.
import { lowerThreadPriority } from '@llm-proxy/storage/thread-priority'
import { parentPort, workerData } from 'node:worker_threads'
import { buildCapture } from './build.js'
import type { CaptureJob } from './job.js'

export type BuildRequest = { id: number; job: CaptureJob }
export type BuildReply = { id: number; ok: true; record: ReturnType<typeof buildCapture> } | { id: number; ok: false; message: string }

lowerThreadPriority((workerData as { nice: number }).nice)
const port = parentPort!
port.on('message', ({ id, job }: BuildRequest) => {
  let reply: BuildReply
  try {
    reply = { id, ok: true, record: buildCapture(job) }
  } catch (err) {
    reply = { id, ok: false, message: (err as Error).message }
  }
  port.postMessage(reply)
})
