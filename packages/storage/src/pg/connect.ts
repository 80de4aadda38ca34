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

/**
 * `{1,2,-3}` straight into int32s: no intermediate array of numbers (a JSON.parse of the list made
 * one per histogram, five per rollup row). An empty array is null, as readers expect.
 */
export function histFromText(text: string): Buffer | null {
  if (text.length <= 2) return null
  let n = 1
  for (let i = 1; i < text.length - 1; i++) if (text.charCodeAt(i) === 0x2c /* , */) n++
  const out = new Int32Array(n)
  let k = 0
  let v = 0
  let negative = false
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x30 && c <= 0x39) v = v * 10 + (c - 0x30)
    else if (c === 0x2d /* - */) negative = true
    else {
      // ',' or the closing '}'
      out[k++] = negative ? -v : v
      v = 0
      negative = false
    }
  }
  return Buffer.from(out.buffer, 0, k * 4)
}
