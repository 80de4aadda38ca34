/**
 * The Node flags the proxy runs with, wherever it is started: `npm start` in this package, the
 * Docker image, the repository's `pnpm start`, the systemd example in EXAMPLES.md and the
 * benchmarks (a test keeps them in step with this list).
 *
 * `--max-semi-space-size=4`: V8 grows the young generation to 16 MB per semi-space under load and
 * keeps it. A proxy's requests allocate a lot and keep little past their end, so 4 MB does the same
 * work in more, shorter scavenges: with 1,000 slow streams after the other load the process peaks
 * at 140–145 MB against 164–174 (`bench/ab.mjs --slow`), for 5–8% more CPU per request at full load
 * (the scavenges' helper threads; docs/technical/performance.md, 2026-12-07, afternoon). Drop the
 * flag where CPU at saturation matters more than memory.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4']
