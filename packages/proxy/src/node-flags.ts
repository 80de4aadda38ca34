/**
 * The Node flags the proxy runs with, wherever it is started: `npm start` in this package, the
 * Docker image, the repository's `pnpm start`, the systemd example in EXAMPLES.md and the
 * benchmarks (a test keeps them in step with this list).
 *
 * `--max-semi-space-size=8`: V8 grows the young generation up to 16 MB per semi-space under load
 * and keeps it. A new space that large can meet V8's soft limit for starting a full collection (the
 * old generation's room down to the new space's capacity) again right after each one: a proxy
 * that had a burst of load then ran mark-compacts back to back for as long as streams came, its
 * helper threads at 100–190 µs per stream where the bare pass-through's take 1–10. Capped at 8 MB,
 * none of the processes did in the runs where default ones did (`bench/ab.mjs`, 15 paired repeats:
 * 0.75× and 0.73× the default's CPU at s c1 and s c32, no difference at ns c1 and ns c32), and
 * 1,000 slow streams after the other load peak at 145 MB against 171–173. 4 MB costs 3–8% CPU at
 * full load; 8 did not show a cost. docs/technical/performance.md, 2026-12-07, evening.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']
