import type { BenchmarkResult } from './run.js'

const ROWS: [string, keyof BenchmarkResult, string][] = [
  ['requests', 'requests', ''],
  ['total duration', 'total_duration_ms', 'ms'],
  ['throughput', 'throughput_rps', 'req/s'],
  ['latency avg', 'average_latency_ms', 'ms'],
  ['latency p50', 'p50_latency_ms', 'ms'],
  ['latency p90', 'p90_latency_ms', 'ms'],
  ['latency p99', 'p99_latency_ms', 'ms'],
  ['TTFT p50', 'ttft_p50_ms', 'ms'],
  ['TTFT p90', 'ttft_p90_ms', 'ms'],
  ['TTFT p99', 'ttft_p99_ms', 'ms'],
  ['time per output token', 'tpot_avg_ms', 'ms'],
  ['output tokens/s per request', 'output_tps_per_request_avg', 'tok/s'],
  ['output tokens/s overall', 'output_tps_overall', 'tok/s'],
  ['error rate', 'error_rate', ''],
]

const show = (v: unknown, unit: string) => (v === null || v === undefined ? '—' : `${typeof v === 'number' ? v.toLocaleString('en', { maximumFractionDigits: 2 }) : v}${unit ? ' ' + unit : ''}`)

export function formatTable(r: BenchmarkResult): string {
  const title = `${r.label ? r.label + ': ' : ''}${r.base_url}${r.endpoint} · ${r.model} · ${r.stream ? 'stream' : 'no stream'} · ${r.rate ? `${r.rate} req/s open loop, ` : ''}concurrency ${r.concurrency}`
  const lines = ROWS.filter(([, k]) => r.stream || !String(k).startsWith('ttft') && k !== 'tpot_avg_ms').map(([name, k, unit]) => `  ${name.padEnd(30)}${show(r[k], unit)}`)
  const errors = Object.entries(r.errors)
  if (errors.length) lines.push(`  ${'errors by status'.padEnd(30)}${errors.map(([s, n]) => `${s}: ${n}`).join(', ')}`)
  return [title, ...lines].join('\n')
}

/** Two runs side by side; the ratio is b / a. */
export function compareResults(a: BenchmarkResult, b: BenchmarkResult): string {
  const name = (r: BenchmarkResult, fallback: string) => (r.label ?? fallback).slice(0, 22)
  const head = `  ${'metric'.padEnd(30)}${name(a, 'A').padStart(22)}${name(b, 'B').padStart(22)}${'B / A'.padStart(10)}`
  const lines = ROWS.map(([label, k, unit]) => {
    const va = a[k]
    const vb = b[k]
    const ratio = typeof va === 'number' && typeof vb === 'number' && va !== 0 ? (vb / va).toFixed(2) + '×' : '—'
    return `  ${label.padEnd(30)}${show(va, unit).padStart(22)}${show(vb, unit).padStart(22)}${ratio.padStart(10)}`
  })
  return [head, ...lines].join('\n')
}
