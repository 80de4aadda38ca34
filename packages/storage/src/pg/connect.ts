import postgres from 'postgres'

export type Sql = postgres.Sql<Record<string, never>>

/**
 * A connection pool with numbers as numbers: bigint counters and sums (int8, numeric) are parsed
 * into JavaScript numbers (exact below 2^53, far beyond any counter here).
 */
export function connect(url: string, o: { max?: number; application?: string } = {}): Sql {
  return postgres(url, {
    max: o.max ?? 4,
    idle_timeout: 60,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: o.application ?? 'llm-proxy' },
    types: {
      bigint: { to: 20, from: [20, 1700], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
      // Histograms (int4[]) straight into the int32-pair buffers the readers merge: '{1,2}' is a
      // JSON array once its braces are swapped, which V8 parses far faster than a generic array parser.
      hist: { to: 1007, from: [1007], serialize: (v: string | number[]) => (typeof v === 'string' ? v : `{${v.join(',')}}`), parse: (v: string) => histFromText(v) },
    },
  }) as unknown as Sql
}

/** SQLSTATE classes and client codes that mean "the database is not reachable or busy right now". */
export function isTransientPgError(err: unknown): boolean {
  const e = err as { code?: string; errno?: string } | null
  const code = e?.code ?? e?.errno ?? ''
  if (/^(08|53|57|40|55P03|58)/.test(code)) return true
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|CONNECTION_|CONNECT_TIMEOUT)/.test(code)
}

/** `@name` parameters (as the metrics API writes its SQL) to PostgreSQL's `$1`. */
export function toPositional(sql: string, params: Record<string, unknown>): { text: string; values: unknown[] } {
  const names: string[] = []
  const text = sql.replace(/@(\w+)/g, (_m, name: string) => {
    let i = names.indexOf(name)
    if (i < 0) i = names.push(name) - 1
    return `$${i + 1}`
  })
  const values = names.map((n) => {
    const v = params[n]
    return typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v
  })
  return { text, values }
}

/** Histograms travel as int4[]; the readers get the same int32-pair buffers SQLite gives them. */
export function histToPg(blob: Uint8Array | null): string | null {
  if (!blob || blob.byteLength === 0) return null
  return `{${Array.from(new Int32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)).join(',')}}`
}

export function histFromPg(v: unknown): Buffer | null {
  if (Buffer.isBuffer(v)) return v.byteLength ? v : null
  if (!Array.isArray(v) || v.length === 0) return null
  return Buffer.from(Int32Array.from(v as number[]).buffer)
}

function histFromText(text: string): Buffer {
  const values = JSON.parse(`[${text.slice(1, -1)}]`) as number[]
  return Buffer.from(Int32Array.from(values).buffer)
}
