import { LEVELS, USER_LEVELS } from '@llm-proxy/core/shapes'

/** The shapes as version 3 knew them (migrations never follow later changes). */
const MEASURES = ['latency', 'ttft', 'tpot', 'tps']
const TOKENS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens']
import type { Sql } from './connect.js'
import { capturesDdl } from '../capture-sql.js'

/**
 * Versioned schema changes for PostgreSQL, run by whichever process starts first under an advisory
 * lock (several proxies may start at once). Append new entries; never edit one that has shipped.
 * One that adds or changes what the metrics API reads raises READ_SCHEMA_VERSION (read-schema.ts) too.
 */
export const PG_MIGRATIONS: { version: number; description: string; sql: string }[] = [
  {
    version: 3,
    description: 'requests, rollups (minute/hour/half-day/day), users and errors; hist_merge()',
    // Numbered after SQLite's history, so one version number means one schema on both engines.
    sql: `
      CREATE TABLE requests (
        seq               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id                text    NOT NULL UNIQUE,
        ts                bigint  NOT NULL,
        endpoint          text    NOT NULL,
        stream            smallint NOT NULL,
        model_requested   text,
        model             text,
        status_code       integer,
        outcome           text    NOT NULL,
        error_type        text,
        error_message     text,
        finish_reason     text,
        ttft_ms           double precision,
        ttlt_ms           double precision,
        total_ms          double precision NOT NULL,
        tpot_ms           double precision,
        output_tps        double precision,
        prompt_tokens     integer,
        completion_tokens integer,
        total_tokens      integer,
        cached_tokens     integer,
        reasoning_tokens  integer,
        tokens_estimated  smallint NOT NULL DEFAULT 0,
        client_ip         text,
        "user"            text,
        user_agent        text,
        chunk_count       integer,
        request_bytes     bigint  NOT NULL DEFAULT 0,
        response_bytes    bigint  NOT NULL DEFAULT 0,
        key_id            text,
        cost_usd          double precision,
        overhead_ms       double precision,
        inflight          integer
      );
      CREATE INDEX requests_ts ON requests (ts, seq);
      CREATE INDEX requests_model_ts ON requests (model, ts);
      CREATE INDEX requests_user_ts ON requests ("user", ts) WHERE "user" IS NOT NULL;

      -- Adds two histograms stored as sorted (index, count) pairs; rollups merge with it atomically.
      CREATE OR REPLACE FUNCTION hist_merge(a int4[], b int4[]) RETURNS int4[] LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        o int4[] := '{}';
        i int := 1;
        j int := 1;
        na int := coalesce(array_length(a, 1), 0);
        nb int := coalesce(array_length(b, 1), 0);
      BEGIN
        IF na = 0 THEN RETURN b; END IF;
        IF nb = 0 THEN RETURN a; END IF;
        WHILE i <= na OR j <= nb LOOP
          IF j > nb OR (i <= na AND a[i] < b[j]) THEN
            o := o || a[i] || a[i + 1]; i := i + 2;
          ELSIF i > na OR b[j] < a[i] THEN
            o := o || b[j] || b[j + 1]; j := j + 2;
          ELSE
            o := o || a[i] || (a[i + 1] + b[j + 1]); i := i + 2; j := j + 2;
          END IF;
        END LOOP;
        RETURN o;
      END $$;
      ${LEVELS.map(({ name }) => `
      CREATE TABLE rollup_${name} (
        bucket bigint NOT NULL, model text NOT NULL, stream smallint NOT NULL, outcome text NOT NULL,
        status_code integer NOT NULL, requests bigint NOT NULL,
        ${MEASURES.map((m) => `${m}_n bigint NOT NULL, ${m}_sum double precision NOT NULL, ${m}_min double precision, ${m}_max double precision, ${m}_hist int4[]`).join(',\n')},
        ${TOKENS.map((t) => `${t} bigint NOT NULL`).join(', ')},
        with_usage bigint NOT NULL, estimated bigint NOT NULL, cost_usd double precision NOT NULL DEFAULT 0, last_ts bigint NOT NULL,
        PRIMARY KEY (bucket, model, stream, outcome, status_code)
      );
      ${USER_LEVELS.includes(name) ? `CREATE TABLE users_${name} (
        bucket bigint NOT NULL, "user" text NOT NULL, model text NOT NULL, stream smallint NOT NULL, requests bigint NOT NULL,
        PRIMARY KEY (bucket, "user", model, stream)
      );` : ''}
      CREATE TABLE errors_${name} (
        bucket bigint NOT NULL, model text NOT NULL, stream smallint NOT NULL, outcome text NOT NULL,
        error_type text NOT NULL, status_code integer NOT NULL, count bigint NOT NULL,
        last_ts bigint NOT NULL, last_message text,
        PRIMARY KEY (bucket, model, stream, outcome, error_type, status_code)
      );`).join('\n')}
    `,
  },
  {
    version: 4,
    description: 'proxy keys and their shared counters; rollups, users and errors keyed by key too',
    sql: `
      ${LEVELS.map(({ name }) => `
      ALTER TABLE rollup_${name} ADD COLUMN key_id text NOT NULL DEFAULT '';
      ALTER TABLE rollup_${name} DROP CONSTRAINT rollup_${name}_pkey;
      ALTER TABLE rollup_${name} ADD PRIMARY KEY (bucket, model, stream, outcome, status_code, key_id);
      ${USER_LEVELS.includes(name) ? `
      ALTER TABLE users_${name} ADD COLUMN key_id text NOT NULL DEFAULT '';
      ALTER TABLE users_${name} DROP CONSTRAINT users_${name}_pkey;
      ALTER TABLE users_${name} ADD PRIMARY KEY (bucket, "user", model, stream, key_id);` : ''}
      ALTER TABLE errors_${name} ADD COLUMN key_id text NOT NULL DEFAULT '';
      ALTER TABLE errors_${name} DROP CONSTRAINT errors_${name}_pkey;
      ALTER TABLE errors_${name} ADD PRIMARY KEY (bucket, model, stream, outcome, error_type, status_code, key_id);`).join('\n')}
      CREATE TABLE api_keys (
        id text PRIMARY KEY, name text NOT NULL, owner text, hash text NOT NULL UNIQUE, display text NOT NULL,
        created_at bigint NOT NULL, updated_at bigint NOT NULL, expires_at bigint, revoked_at bigint,
        rpm integer, tpm integer, budget_tokens bigint, budget_usd double precision, budget_period text NOT NULL DEFAULT 'month',
        models text, upstream_key_enc text, capture text NOT NULL DEFAULT 'inherit'
      );
      CREATE TABLE key_counters (
        key_id text NOT NULL, kind text NOT NULL, window_start bigint NOT NULL, replica text NOT NULL,
        requests bigint NOT NULL, tokens bigint NOT NULL, cost_usd double precision NOT NULL, updated_at bigint NOT NULL,
        PRIMARY KEY (key_id, kind, window_start, replica)
      );
      CREATE INDEX requests_key_ts ON requests (key_id, ts) WHERE key_id IS NOT NULL;
    `,
  },
  {
    version: 5,
    description: "the proxy's own overhead per request, with percentiles, in the rollups",
    sql: LEVELS.map(({ name }) => `
      ALTER TABLE rollup_${name} ADD COLUMN overhead_n bigint NOT NULL DEFAULT 0, ADD COLUMN overhead_sum double precision NOT NULL DEFAULT 0,
        ADD COLUMN overhead_min double precision, ADD COLUMN overhead_max double precision, ADD COLUMN overhead_hist int4[];`).join('\n'),
  },
  {
    version: 6,
    description: 'rollups keyed by endpoint too (chat, completions, embeddings, responses, messages)',
    sql: LEVELS.map(({ name }) => `
      ALTER TABLE rollup_${name} ADD COLUMN endpoint text NOT NULL DEFAULT '';
      ALTER TABLE rollup_${name} DROP CONSTRAINT rollup_${name}_pkey;
      ALTER TABLE rollup_${name} ADD PRIMARY KEY (bucket, model, stream, outcome, status_code, key_id, endpoint);`).join('\n'),
  },
  {
    version: 7,
    description: 'rollups count the requests that had a price (a cost of 0 is then told apart from an unknown one)',
    sql: LEVELS.map(({ name }) => `
      ALTER TABLE rollup_${name} ADD COLUMN priced bigint NOT NULL DEFAULT 0;
      UPDATE rollup_${name} SET priced = requests WHERE cost_usd > 0;`).join('\n'),
  },
  {
    version: 8,
    description: 'captured content (CAPTURE), keyed by request id, apart from the rows',
    sql: capturesDdl('bigint'),
  },
  {
    version: 9,
    description: 'saturation rollups (hour, day): successful requests by model, stream, key, endpoint and in-flight level group',
    // Filled from the rows already stored, in the same transaction (the migration lock holds writers off).
    sql: `
      -- The stored histogram of a list of values (LogHistogram's buckets: ceil(ln v / ln 1.02), ≤ 0 in one bucket).
      CREATE FUNCTION hist_of_values(v double precision[]) RETURNS int4[] LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(array_agg(x ORDER BY i, k), NULL) FROM (
          SELECT i, 0 AS k, i AS x FROM (SELECT i, count(*) AS c FROM (SELECT CASE WHEN e > 0 THEN ceil(ln(e) / ln(1.02))::int4 ELSE -2000000 END AS i FROM unnest(v) e) a GROUP BY i) b
          UNION ALL
          SELECT i, 1, c::int4 FROM (SELECT i, count(*) AS c FROM (SELECT CASE WHEN e > 0 THEN ceil(ln(e) / ln(1.02))::int4 ELSE -2000000 END AS i FROM unnest(v) e) a GROUP BY i) b
        ) pairs
      $$;` + ['hour', 'day'].map((name) => {
      const ms = name === 'hour' ? 3_600_000 : 86_400_000
      // saturationLevelGroup(): 1–4 alone, then the halves of the smallest power of two (≥ 8) that holds the level.
      const level = `CASE WHEN inflight <= 4 THEN inflight ELSE (SELECT CASE WHEN inflight <= p / 4 * 3 THEN p / 2 + 1 ELSE p / 4 * 3 + 1 END
        FROM (SELECT min(p) AS p FROM unnest(ARRAY[${Array.from({ length: 28 }, (_, i) => 2 ** (i + 3)).join(', ')}]::bigint[]) p WHERE p >= inflight) g) END`
      return `
      CREATE TABLE saturation_${name} (
        bucket bigint NOT NULL, model text NOT NULL, stream smallint NOT NULL, key_id text NOT NULL, endpoint text NOT NULL, level integer NOT NULL,
        requests bigint NOT NULL, inflight_sum bigint NOT NULL, tokens bigint NOT NULL, token_ms double precision NOT NULL,
        ${['latency', 'ttft', 'tps'].map((m) => `${m}_n bigint NOT NULL, ${m}_sum double precision NOT NULL, ${m}_min double precision, ${m}_max double precision, ${m}_hist int4[]`).join(', ')},
        PRIMARY KEY (bucket, model, stream, key_id, endpoint, level)
      );
      INSERT INTO saturation_${name}
      SELECT bucket, model, stream, key_id, endpoint, level, count(*), sum(inflight),
        coalesce(sum(completion_tokens) FILTER (WHERE completion_tokens IS NOT NULL), 0), coalesce(sum(total_ms) FILTER (WHERE completion_tokens IS NOT NULL), 0),
        ${['total_ms', 'ttft_ms', 'output_tps'].map((c) => `count(${c}), coalesce(sum(${c}), 0), min(${c}), max(${c}), hist_of_values(array_agg(${c}) FILTER (WHERE ${c} IS NOT NULL))`).join(', ')}
      FROM (SELECT ts - ts % ${ms} AS bucket, coalesce(model, model_requested, '') AS model, stream, coalesce(key_id, '') AS key_id, endpoint,
              (${level})::integer AS level, inflight, completion_tokens, total_ms, ttft_ms, output_tps
            FROM requests WHERE outcome = 'success' AND inflight >= 1) r
      GROUP BY bucket, model, stream, key_id, endpoint, level;`
    }).join('\n'),
  },
  {
    version: 10,
    description: 'hist_merge writes into an array sized once instead of appending to a copy per bucket',
    // `o := o || a[i] || …` copied the array for every bucket; assigning into a preallocated array
    // does not. The same result; 6-7 µs less of PostgreSQL's CPU per row written (10%).
    sql: `
      CREATE OR REPLACE FUNCTION hist_merge(a int4[], b int4[]) RETURNS int4[] LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        na int := coalesce(array_length(a, 1), 0);
        nb int := coalesce(array_length(b, 1), 0);
        o int4[];
        i int := 1;
        j int := 1;
        k int := 0;
      BEGIN
        IF na = 0 THEN RETURN b; END IF;
        IF nb = 0 THEN RETURN a; END IF;
        o := array_fill(0, ARRAY[na + nb]);
        WHILE i <= na OR j <= nb LOOP
          IF j > nb OR (i <= na AND a[i] < b[j]) THEN
            o[k + 1] := a[i]; o[k + 2] := a[i + 1]; i := i + 2;
          ELSIF i > na OR b[j] < a[i] THEN
            o[k + 1] := b[j]; o[k + 2] := b[j + 1]; j := j + 2;
          ELSE
            o[k + 1] := a[i]; o[k + 2] := a[i + 1] + b[j + 1]; i := i + 2; j := j + 2;
          END IF;
          k := k + 2;
        END LOOP;
        RETURN o[1:k];
      END $$;`,
  },
  {
    version: 11,
    description: "hist_merge adds into the longer histogram in place and walks only the shorter one's buckets",
    // A batch's histogram is short and the stored one long (an hour's, a day's), and their buckets are
    // mostly the same: counts are added into the long one where it has the bucket (in place, no new
    // array); the few buckets it lacks are slotted in between its runs, copied as slices. The loop
    // per bucket of the long histogram that version 10 ran is down to one comparison.
    sql: `
      CREATE OR REPLACE FUNCTION hist_merge(a int4[], b int4[]) RETURNS int4[] LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        na int := coalesce(array_length(a, 1), 0);
        nb int := coalesce(array_length(b, 1), 0);
        t int4[];
        extra int4[] := '{}';
        o int4[] := '{}';
        i int := 1;
        s int;
        bk int;
      BEGIN
        IF na = 0 THEN RETURN b; END IF;
        IF nb = 0 THEN RETURN a; END IF;
        IF nb > na THEN t := a; a := b; b := t; s := na; na := nb; nb := s; END IF;
        FOR j IN 1 .. nb BY 2 LOOP
          bk := b[j];
          WHILE i <= na AND a[i] < bk LOOP i := i + 2; END LOOP;
          IF i <= na AND a[i] = bk THEN
            a[i + 1] := a[i + 1] + b[j + 1]; i := i + 2;
          ELSE
            extra := extra || b[j:j + 1];
          END IF;
        END LOOP;
        IF cardinality(extra) = 0 THEN RETURN a; END IF;
        i := 1;
        FOR j IN 1 .. cardinality(extra) BY 2 LOOP
          s := i;
          WHILE i <= na AND a[i] < extra[j] LOOP i := i + 2; END LOOP;
          IF i > s THEN o := o || a[s:i - 1]; END IF;
          o := o || extra[j:j + 1];
        END LOOP;
        IF i <= na THEN o := o || a[i:na]; END IF;
        RETURN o;
      END $$;`,
  },
]

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version
/** Any constant both sides agree on: the key of the advisory lock migrations take. */
const MIGRATION_LOCK = 734_211_905

export async function migratePg(sql: Sql): Promise<number> {
  return sql.begin(async (tx) => {
    await tx.unsafe('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await tx.unsafe('CREATE TABLE IF NOT EXISTS llm_proxy_schema (version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
    const [row] = await tx.unsafe<{ v: number | null }[]>('SELECT max(version) AS v FROM llm_proxy_schema')
    let current = row?.v ?? 0
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue
      await tx.unsafe(m.sql)
      await tx.unsafe('INSERT INTO llm_proxy_schema (version) VALUES ($1)', [m.version])
      current = m.version
    }
    return current
  }) as Promise<number>
}

/** The schema version, or null where no proxy has created the schema yet. */
export async function pgSchemaVersion(sql: Sql): Promise<number | null> {
  try {
    const [row] = await sql.unsafe<{ v: number | null }[]>('SELECT max(version) AS v FROM llm_proxy_schema')
    return row?.v ?? null
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return null
    throw err
  }
}
