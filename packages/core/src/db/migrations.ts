import type Database from 'better-sqlite3'
import { LEVELS, backfillRollups, rollupSchemaSql } from './rollups.js'

/**
 * Versioned schema changes, applied in order by the proxy (the only writer).
 * Append new entries; never edit one that has shipped. `PRAGMA user_version` records the last applied.
 */
export interface Migration {
  version: number
  description: string
  up: (db: Database.Database) => void
}

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
    description: 'minute/hour/half-day/day rollups (requests, users, errors) maintained with every batch',
    up: (db) => {
      db.exec(rollupSchemaSql())
      backfillRollups(db)
    },
  },
  {
    version: 3,
    description: 'requests.cost_usd: estimated price in US dollars (NULL when no price is known)',
    up: (db) => {
      db.exec('ALTER TABLE requests ADD COLUMN cost_usd REAL')
    },
  },
  {
    version: 4,
    description: 'rollups: cost_usd (sum of the rows\' costs) and with_cost (rows that had one) at every level',
    up: (db) => {
      // Rows stored before version 3 have no cost, so 0 is their exact sum: nothing to backfill.
      for (const { name } of LEVELS) {
        db.exec(`ALTER TABLE rollup_${name} ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0`)
        db.exec(`ALTER TABLE rollup_${name} ADD COLUMN with_cost INTEGER NOT NULL DEFAULT 0`)
      }
    },
  },
]

export function migrate(db: Database.Database, list: readonly Migration[] = migrations): number {
  const current = db.pragma('user_version', { simple: true }) as number
  for (const m of list) {
    if (m.version <= current) continue
    db.transaction(() => {
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return db.pragma('user_version', { simple: true }) as number
}

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1].version
