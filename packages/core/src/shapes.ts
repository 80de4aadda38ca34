// The row and rollup shapes alone, for the storage writer threads: this entry loads neither zod,
// the config nor yaml (together about 13 MB of resident memory per thread that loads them).
export * from './row.js'
export * from './rollup.js'
export * from './histogram.js'
