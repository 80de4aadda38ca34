// Zod contracts of the metrics API: the API's tests validate every response against these, and the
// dashboard parses every response with them. One schema per shape; types come from z.infer.
// This entry point must stay free of Node-only imports: the browser bundles it.
export * from './common.js'
export * from './filters.js'
export * from './summary.js'
export * from './timeseries.js'
export { ROW_FIELDS, ROW_COLUMNS, BOOL_COLUMNS, type RequestRow, type RowColumn, type FieldKind } from './row.js'
export * from './requests.js'
export * from './models.js'
export * from './health.js'
export * from './keys.js'
export * from './saturation.js'
export * from './capture.js'
