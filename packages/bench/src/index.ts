export { runBenchmark, targetUrl, defaultPayload, type BenchmarkOptions, type BenchmarkResult } from './run.js'
export { formatTable, compareResults } from './format.js'
export { percentile, mean } from './stats.js'
