/**
 * A mergeable log-bucketed histogram: every value lands in bucket ceil(log(v) / log(γ)), and a
 * bucket reports 2γ^i / (γ + 1), so any quantile read from it is within 1% of the exact
 * nearest-rank value (γ = 1.02 gives a relative error of (γ − 1) / (γ + 1) < 0.01).
 * Stored as a BLOB of int32 pairs (index, count) in ascending index order.
 */
export const GAMMA = 1.02
const LOG_GAMMA = Math.log(GAMMA)
/** Values ≤ 0 (a 0 ms TTFT from a cache hit, say) share one bucket that reports 0. */
const ZERO_BUCKET = -2_000_000

export function bucketOf(value: number): number {
  return value > 0 ? Math.ceil(Math.log(value) / LOG_GAMMA) : ZERO_BUCKET
}

export function bucketValue(index: number): number {
  return index === ZERO_BUCKET ? 0 : (2 * GAMMA ** index) / (GAMMA + 1)
}

export class LogHistogram {
  readonly counts = new Map<number, number>()
  total = 0

  add(value: number, count = 1): void {
    const i = bucketOf(value)
    this.counts.set(i, (this.counts.get(i) ?? 0) + count)
    this.total += count
  }

  mergeBlob(blob: Uint8Array | null | undefined): void {
    if (!blob || blob.byteLength === 0) return
    const pairs = new Int32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)
    for (let k = 0; k < pairs.length; k += 2) {
      this.counts.set(pairs[k], (this.counts.get(pairs[k]) ?? 0) + pairs[k + 1])
      this.total += pairs[k + 1]
    }
  }

  merge(other: LogHistogram): void {
    for (const [i, c] of other.counts) this.counts.set(i, (this.counts.get(i) ?? 0) + c)
    this.total += other.total
  }

  toBlob(): Buffer {
    const keys = [...this.counts.keys()].sort((a, b) => a - b)
    const pairs = new Int32Array(keys.length * 2)
    keys.forEach((k, n) => {
      pairs[2 * n] = k
      pairs[2 * n + 1] = this.counts.get(k)!
    })
    return Buffer.from(pairs.buffer)
  }

  /** Nearest-rank quantile (p in 0..100), within 1% relative error; null when empty. */
  quantile(p: number): number | null {
    if (this.total === 0) return null
    const rank = Math.max(1, Math.ceil((p / 100) * this.total))
    let seen = 0
    for (const k of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(k)!
      if (seen >= rank) return bucketValue(k)
    }
    return null
  }

  /** How many values are ≤ `bound` (for Prometheus buckets; exact up to the 1% bucket width). */
  countAtMost(bound: number): number {
    const limit = bucketOf(bound)
    let n = 0
    for (const [k, c] of this.counts) if (k <= limit) n += c
    return n
  }
}
