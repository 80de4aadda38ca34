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

/**
 * Bucket indexes for 1 µs … ~10^8 ms fit a dense array (merging thousands of rollup rows is then a
 * tight loop); anything outside that goes to a small sparse map.
 */
const DENSE_MIN = bucketOf(0.001)
const DENSE_SIZE = bucketOf(1e8) - DENSE_MIN + 1

export class LogHistogram {
  private dense: Float64Array | null = null
  /** The range of dense slots ever touched, so reading does not walk all of them. */
  private lo = DENSE_SIZE
  private hi = -1
  private sparse: Map<number, number> | null = null
  total = 0

  /** Non-empty buckets, ascending. */
  get counts(): Map<number, number> {
    const out = new Map<number, number>()
    const keys = [...(this.sparse?.keys() ?? [])].filter((k) => k < DENSE_MIN)
    for (const k of keys.sort((a, b) => a - b)) out.set(k, this.sparse!.get(k)!)
    if (this.dense) for (let i = this.lo; i <= this.hi; i++) if (this.dense[i]) out.set(i + DENSE_MIN, this.dense[i])
    for (const k of [...(this.sparse?.keys() ?? [])].filter((k) => k >= DENSE_MIN).sort((a, b) => a - b)) out.set(k, this.sparse!.get(k)!)
    return out
  }

  private addAt(i: number, count: number): void {
    const d = i - DENSE_MIN
    if (d >= 0 && d < DENSE_SIZE) {
      this.dense ??= new Float64Array(DENSE_SIZE)
      this.dense[d] += count
      if (d < this.lo) this.lo = d
      if (d > this.hi) this.hi = d
    } else {
      this.sparse ??= new Map()
      this.sparse.set(i, (this.sparse.get(i) ?? 0) + count)
    }
    this.total += count
  }

  add(value: number, count = 1): void {
    this.addAt(bucketOf(value), count)
  }

  mergeBlob(blob: Uint8Array | null | undefined): void {
    if (!blob || blob.byteLength === 0) return
    const pairs = new Int32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)
    for (let k = 0; k < pairs.length; k += 2) this.addAt(pairs[k], pairs[k + 1])
  }

  merge(other: LogHistogram): void {
    for (const [i, c] of other.counts) this.addAt(i, c)
  }

  toBlob(): Buffer {
    const counts = this.counts
    const pairs = new Int32Array(counts.size * 2)
    let n = 0
    for (const [k, c] of counts) {
      pairs[n++] = k
      pairs[n++] = c
    }
    return Buffer.from(pairs.buffer)
  }

  /** Nearest-rank quantile (p in 0..100), within 1% relative error; null when empty. */
  quantile(p: number): number | null {
    if (this.total === 0) return null
    const rank = Math.max(1, Math.ceil((p / 100) * this.total))
    let seen = 0
    for (const [k, c] of this.counts) {
      seen += c
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
