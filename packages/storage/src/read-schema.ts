/**
 * The schema version the readers (the metrics API) need on either engine: the last version that
 * added or changed a table or column they read (9, the saturation rollups). Versions that only change
 * how writers write (PostgreSQL's `hist_merge`: 10 and 11) leave it, so a metrics API upgraded before
 * the proxies that migrate the database keeps answering instead of reading as empty until then.
 * A migration that changes what the readers read raises it to its own version.
 */
export const READ_SCHEMA_VERSION = 9
