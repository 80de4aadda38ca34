import { randomUUID } from 'node:crypto'

/**
 * A UUID version 7 (RFC 9562): the millisecond time first, then random bits. Ids that grow with
 * time go to the end of the id index instead of a random page of it: a row costs the writer ~8 µs
 * less with a random v4 (packages/storage/bench/write-cost.mjs), and more as the table outgrows
 * the page cache. The random part comes from randomUUID's pooled entropy.
 */
export function requestId(now = Date.now()): string {
  const random = randomUUID()
  const time = now.toString(16).padStart(12, '0')
  // random is xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keep its variant and random bits, set version 7.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`
}
