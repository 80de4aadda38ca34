import type Database from 'better-sqlite3'
import { LEVELS, USER_LEVELS } from '@llm-proxy/core/shapes'
import { createSqliteStore } from './store.js'
import { capturesDdl } from '../capture-sql.js'

/**
 * Versioned schema changes for SQLite, applied in order by the proxy (the only writer). Append new
 * entries; never edit one that has shipped. `PRAGMA user_version` records the last applied.
 */
export interface Migration {
  version: number
  description: string
  up: (db: Database.Database) => void
}

const TOKENS_V2 = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens']
/** The measures as versions 2 to 4 knew them (migrations never follow later changes). */
const MEASURES_V2 = ['latency', 'ttft', 'tpot', 'tps']

// A version that adds or changes what the metrics API reads raises READ_SCHEMA_VERSION (read-schema.ts) too.
export const migrations: Migration[] = [
  {
    version: 1,
    description: 'requests table with time and model indexes',
    up: (db) => {
      db.exec(`
        CREATE TABLE requests (
          seq               INTEGER PRIMARY KEY,
          id                TEXT    NOT NULL UNIQUE,
          ts                INTEGER NOT NULL,
          endpoint          TEXT    NOT NULL,
          stream            INTEGER NOT NULL,
          model_requested   TEXT,
          model             TEXT,
          status_code       INTEGER,
          outcome           TEXT    NOT NULL,
          error_type        TEXT,
          error_message     TEXT,
          finish_reason     TEXT,
          ttft_ms           REAL,
          ttlt_ms           REAL,
          total_ms          REAL    NOT NULL,
          tpot_ms           REAL,
          output_tps        REAL,
          prompt_tokens     INTEGER,
          completion_tokens INTEGER,
          total_tokens      INTEGER,
          cached_tokens     INTEGER,
          reasoning_tokens  INTEGER,
          tokens_estimated  INTEGER NOT NULL DEFAULT 0,
          client_ip         TEXT,
          user              TEXT,
          user_agent        TEXT,
          chunk_count       INTEGER,
          request_bytes     INTEGER NOT NULL DEFAULT 0,
          response_bytes    INTEGER NOT NULL DEFAULT 0,
          key_id            TEXT
        );
        CREATE INDEX requests_ts ON requests (ts, seq);
        CREATE INDEX requests_model_ts ON requests (model, ts);
        CREATE INDEX requests_user_ts ON requests (user, ts) WHERE user IS NOT NULL;
      `)
    },
  },
  {
    version: 2,
    description: 'minute/hour/half-day/day rollups (requests, users, errors)',
    // As shipped, minus the backfill, which version 3 does once the columns are complete.
    up: (db) =>
      db.exec(LEVELS.map(({ name }) => `
        CREATE TABLE rollup_${name} (
          bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
          status_code INTEGER NOT NULL, requests INTEGER NOT NULL,
          ${MEASURES_V2.map((m) => `${m}_n INTEGER NOT NULL, ${m}_sum REAL NOT NULL, ${m}_max REAL, ${m}_hist BLOB`).join(',\n')},
          ${TOKENS_V2.map((t) => `${t} INTEGER NOT NULL`).join(', ')},
          with_usage INTEGER NOT NULL, estimated INTEGER NOT NULL, last_ts INTEGER NOT NULL,
          PRIMARY KEY (bucket, model, stream, outcome, status_code)
        ) WITHOUT ROWID;
        ${USER_LEVELS.includes(name) ? `CREATE TABLE users_${name} (
          bucket INTEGER NOT NULL, user TEXT NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, requests INTEGER NOT NULL,
          PRIMARY KEY (bucket, user, model, stream)
        ) WITHOUT ROWID;` : ''}
        CREATE TABLE errors_${name} (
          bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
          error_type TEXT NOT NULL, status_code INTEGER NOT NULL, count INTEGER NOT NULL,
          last_ts INTEGER NOT NULL, last_message TEXT,
          PRIMARY KEY (bucket, model, stream, outcome, error_type, status_code)
        ) WITHOUT ROWID;`).join('\n')),
  },
  {
    version: 3,
    description: 'cost, overhead and in-flight count per row; measure minimums and cost in rollups',
    up: (db) => {
      db.exec(`
        ALTER TABLE requests ADD COLUMN cost_usd REAL;
        ALTER TABLE requests ADD COLUMN overhead_ms REAL;
        ALTER TABLE requests ADD COLUMN inflight INTEGER;
        ${LEVELS.map(({ name }) => `
          ${MEASURES_V2.map((m) => `ALTER TABLE rollup_${name} ADD COLUMN ${m}_min REAL;`).join('\n')}
          ALTER TABLE rollup_${name} ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;`).join('\n')}
      `)
    },
  },
  {
    version: 4,
    description: 'proxy keys and their shared counters; rollups, users and errors keyed by key too',
    up: (db) => {
      // SQLite cannot change a primary key: each rollup table is rebuilt with key_id in its key.
      const measures = ['latency', 'ttft', 'tpot', 'tps']
      const tokens = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens']
      for (const { name } of LEVELS) {
        const rollupCols = ['bucket', 'model', 'stream', 'outcome', 'status_code', 'requests',
          ...measures.flatMap((m) => [`${m}_n`, `${m}_sum`, `${m}_max`, `${m}_hist`, `${m}_min`]), ...tokens, 'with_usage', 'estimated', 'last_ts', 'cost_usd']
        const rebuild = (table: string, ddl: string, cols: string[]) => db.exec(`
          CREATE TABLE ${table}_v4 (${ddl}) WITHOUT ROWID;
          INSERT INTO ${table}_v4 (${cols.join(', ')}, key_id) SELECT ${cols.join(', ')}, '' FROM ${table};
          DROP TABLE ${table};
          ALTER TABLE ${table}_v4 RENAME TO ${table};`)
        rebuild(`rollup_${name}`, `
          bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
          status_code INTEGER NOT NULL, key_id TEXT NOT NULL DEFAULT '', requests INTEGER NOT NULL,
          ${measures.map((m) => `${m}_n INTEGER NOT NULL, ${m}_sum REAL NOT NULL, ${m}_min REAL, ${m}_max REAL, ${m}_hist BLOB`).join(', ')},
          ${tokens.map((t) => `${t} INTEGER NOT NULL`).join(', ')},
          with_usage INTEGER NOT NULL, estimated INTEGER NOT NULL, cost_usd REAL NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL,
          PRIMARY KEY (bucket, model, stream, outcome, status_code, key_id)`, rollupCols)
        if (USER_LEVELS.includes(name)) {
          rebuild(`users_${name}`, `
            bucket INTEGER NOT NULL, user TEXT NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, key_id TEXT NOT NULL DEFAULT '',
            requests INTEGER NOT NULL, PRIMARY KEY (bucket, user, model, stream, key_id)`, ['bucket', 'user', 'model', 'stream', 'requests'])
        }
        rebuild(`errors_${name}`, `
          bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
          error_type TEXT NOT NULL, status_code INTEGER NOT NULL, key_id TEXT NOT NULL DEFAULT '', count INTEGER NOT NULL,
          last_ts INTEGER NOT NULL, last_message TEXT,
          PRIMARY KEY (bucket, model, stream, outcome, error_type, status_code, key_id)`,
          ['bucket', 'model', 'stream', 'outcome', 'error_type', 'status_code', 'count', 'last_ts', 'last_message'])
      }
      db.exec(KEYS_DDL_SQLITE)
    },
  },
  {
    version: 5,
    description: "the proxy's own overhead per request, with percentiles, in the rollups",
    up: (db) => {
      db.exec(LEVELS.map(({ name }) => `
        ALTER TABLE rollup_${name} ADD COLUMN overhead_n INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE rollup_${name} ADD COLUMN overhead_sum REAL NOT NULL DEFAULT 0;
        ALTER TABLE rollup_${name} ADD COLUMN overhead_min REAL;
        ALTER TABLE rollup_${name} ADD COLUMN overhead_max REAL;
        ALTER TABLE rollup_${name} ADD COLUMN overhead_hist BLOB;`).join('\n'))
    },
  },
  {
    version: 6,
    description: 'rollups keyed by endpoint too (chat, completions, embeddings, responses, messages)',
    up: (db) => {
      const measures = ['latency', 'ttft', 'tpot', 'tps', 'overhead']
      const tokens = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens']
      const cols = ['bucket', 'model', 'stream', 'outcome', 'status_code', 'key_id', 'requests',
        ...measures.flatMap((m) => [`${m}_n`, `${m}_sum`, `${m}_min`, `${m}_max`, `${m}_hist`]), ...tokens, 'with_usage', 'estimated', 'cost_usd', 'last_ts']
      for (const { name } of LEVELS) {
        // Rollups from before this version did not say which endpoint: '' (unknown).
        db.exec(`
          CREATE TABLE rollup_${name}_v6 (
            bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, outcome TEXT NOT NULL,
            status_code INTEGER NOT NULL, key_id TEXT NOT NULL DEFAULT '', endpoint TEXT NOT NULL DEFAULT '', requests INTEGER NOT NULL,
            ${measures.map((m) => `${m}_n INTEGER NOT NULL DEFAULT 0, ${m}_sum REAL NOT NULL DEFAULT 0, ${m}_min REAL, ${m}_max REAL, ${m}_hist BLOB`).join(', ')},
            ${tokens.map((t) => `${t} INTEGER NOT NULL`).join(', ')},
            with_usage INTEGER NOT NULL, estimated INTEGER NOT NULL, cost_usd REAL NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL,
            PRIMARY KEY (bucket, model, stream, outcome, status_code, key_id, endpoint)
          ) WITHOUT ROWID;
          INSERT INTO rollup_${name}_v6 (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM rollup_${name};
          DROP TABLE rollup_${name};
          ALTER TABLE rollup_${name}_v6 RENAME TO rollup_${name};`)
      }
    },
  },
  {
    version: 7,
    description: 'rollups count the requests that had a price (a cost of 0 is then told apart from an unknown one)',
    up: (db) => {
      // Earlier rollups only kept the sum: where it is above 0, their requests count as priced.
      db.exec(LEVELS.map(({ name }) => `
        ALTER TABLE rollup_${name} ADD COLUMN priced INTEGER NOT NULL DEFAULT 0;
        UPDATE rollup_${name} SET priced = requests WHERE cost_usd > 0;`).join('\n'))
    },
  },
  {
    version: 8,
    description: 'captured content (CAPTURE), keyed by request id, apart from the rows',
    up: (db) => db.exec(capturesDdl('INTEGER')),
  },
  {
    version: 9,
    description: 'saturation rollups (hour, day): successful requests by model, stream, key, endpoint and in-flight level group',
    // Filled from the rows already stored by backfillSaturation, once the versions are applied.
    up: (db) => db.exec(['hour', 'day'].map((name) => `
      CREATE TABLE saturation_${name} (
        bucket INTEGER NOT NULL, model TEXT NOT NULL, stream INTEGER NOT NULL, key_id TEXT NOT NULL, endpoint TEXT NOT NULL, level INTEGER NOT NULL,
        requests INTEGER NOT NULL, inflight_sum INTEGER NOT NULL, tokens INTEGER NOT NULL, token_ms REAL NOT NULL,
        ${['latency', 'ttft', 'tps'].map((m) => `${m}_n INTEGER NOT NULL, ${m}_sum REAL NOT NULL, ${m}_min REAL, ${m}_max REAL, ${m}_hist BLOB`).join(', ')},
        PRIMARY KEY (bucket, model, stream, key_id, endpoint, level)
      ) WITHOUT ROWID;`).join('\n')),
  },
  {
    version: 10,
    description: 'nothing on SQLite (PostgreSQL got a faster hist_merge): one version number, one schema on both engines',
    up: () => {},
  },
  {
    version: 11,
    description: 'nothing on SQLite (PostgreSQL got a faster hist_merge again)',
    up: () => {},
  },
]

/** Keys: the secret's SHA-256 and a display form only; an upstream key encrypted with SECRET_KEY. */
const KEYS_DDL_SQLITE = `
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT, hash TEXT NOT NULL UNIQUE, display TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER,
    rpm INTEGER, tpm INTEGER, budget_tokens INTEGER, budget_usd REAL, budget_period TEXT NOT NULL DEFAULT 'month',
    models TEXT, upstream_key_enc TEXT, capture TEXT NOT NULL DEFAULT 'inherit'
  );
  -- Each proxy's own counts per key and window, written as absolute values: summing over replicas
  -- gives the shared total without any replica adding to another's.
  CREATE TABLE key_counters (
    key_id TEXT NOT NULL, kind TEXT NOT NULL, window_start INTEGER NOT NULL, replica TEXT NOT NULL,
    requests INTEGER NOT NULL, tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, kind, window_start, replica)
  );
  CREATE INDEX requests_key_ts ON requests (key_id, ts) WHERE key_id IS NOT NULL;`

/** Fills empty rollups from rows already stored (a database from before the rollups). */
function backfillRollups(db: Database.Database): void {
  const hasRollups = db.prepare('SELECT 1 FROM rollup_day LIMIT 1').get()
  if (hasRollups) return
  const store = createSqliteStore(db, { inTransaction: true })
  const select = db.prepare('SELECT * FROM requests WHERE seq > ? ORDER BY seq LIMIT 5000')
  for (let last = 0; ; ) {
    const raw = select.all(last) as ({ seq: number } & Record<string, unknown>)[]
    if (raw.length === 0) break
    store.addRollups(raw.map((r) => ({ ...r, stream: Boolean(r.stream), tokens_estimated: Boolean(r.tokens_estimated) }) as never))
    last = raw[raw.length - 1].seq
  }
}

/**
 * Fills empty saturation rollups from the rows already stored (a database from before version 9).
 * Rows that retention already removed are not in them: their history starts with the oldest row kept.
 */
function backfillSaturation(db: Database.Database): void {
  if (db.prepare('SELECT 1 FROM saturation_day LIMIT 1').get()) return
  const store = createSqliteStore(db, { inTransaction: true })
  const select = db.prepare("SELECT * FROM requests WHERE seq > ? AND outcome = 'success' AND inflight >= 1 ORDER BY seq LIMIT 5000")
  for (let last = 0; ; ) {
    const raw = select.all(last) as ({ seq: number } & Record<string, unknown>)[]
    if (raw.length === 0) break
    store.addSaturation(raw.map((r) => ({ ...r, stream: Boolean(r.stream), tokens_estimated: Boolean(r.tokens_estimated) }) as never))
    last = raw[raw.length - 1].seq
  }
}

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1].version

export function migrate(db: Database.Database, list: readonly Migration[] = migrations): number {
  const current = db.pragma('user_version', { simple: true }) as number
  for (const m of list) {
    if (m.version <= current) continue
    db.transaction(() => {
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  const version = db.pragma('user_version', { simple: true }) as number
  // A database from before the rollups (version 1) gets them once their shape is complete; done
  // after the versions, so it always writes the current shape.
  if (version > current && version === LATEST_SCHEMA_VERSION) {
    db.transaction(() => {
      backfillRollups(db)
      // A database from before version 9 (a fresh backfill above wrote these too, then this skips).
      if (current > 0 && current < 9) backfillSaturation(db)
    }).immediate()
  }
  return version
}
