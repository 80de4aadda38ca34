import type { KeyUsage } from '@llm-proxy/core/contracts'
import type { KeyCounter, KeyRecord, KeyStore } from '@llm-proxy/storage/sink'
import { randomUUID } from 'node:crypto'
import { ProxyError } from '../errors.js'
import { decrypt, hashSecret, sameSecret } from './secrets.js'
import { toView } from './view.js'

const MINUTE = 60_000
/** How often keys and counters are exchanged with the database: revocation reaches every replica within ~2 intervals. */
export const SYNC_MS = 500
const DAY = 86_400_000

export type WindowKind = KeyCounter['kind']
const WINDOW_KINDS = ['minute', 'day', 'month'] as const satisfies readonly WindowKind[]
export const windowStart = (kind: WindowKind, now: number): number => {
  if (kind === 'minute') return now - (now % MINUTE)
  if (kind === 'day') return now - (now % DAY)
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
}
export const windowEnd = (kind: WindowKind, now: number): number => {
  if (kind === 'minute') return windowStart('minute', now) + MINUTE
  if (kind === 'day') return windowStart('day', now) + DAY
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

/** A key as the hot path needs it: its record, its model globs compiled, its upstream key decrypted. */
export interface LiveKey {
  rec: KeyRecord
  models: RegExp[] | null
  upstreamKey: string | null
}

interface Count {
  requests: number
  tokens: number
  cost: number
}

const ONE_REQUEST: Readonly<Count> = { requests: 1, tokens: 0, cost: 0 }

export type Refusal = { error: ProxyError; rowType: string; keyId: string | null; headers: Record<string, string> }

const glob = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
/** OpenAI's duration format for the reset headers: `12s`, `1m3s`. */
const duration = (ms: number) => {
  const s = Math.max(1, Math.ceil(ms / 1000))
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`
}

/**
 * Keys in memory, looked up by the SHA-256 of the secret (no database round trip per request), with
 * their limits. Each proxy counts its own requests and tokens per window and, every `syncMs` (500 ms), writes
 * its counts to the database and reads every other proxy's: a limit holds across replicas, overshot
 * at most by what the others admitted within one sync interval. Key changes (revocation, expiry,
 * limits) reach every replica at the same pace.
 */
export class KeyGuard {
  readonly replica = randomUUID()
  private byHash = new Map<string, LiveKey>()
  private byId = new Map<string, LiveKey>()
  /** This replica's counts: `${key}\0${kind}\0${start}`. Windows that ended stay until synced. */
  private local = new Map<string, Count>()
  /** Every other replica's counts for the current windows, as of the last sync. */
  private others = new Map<string, Count>()
  private timer: NodeJS.Timeout | null = null
  private syncing: Promise<void> | null = null
  private rerun: Promise<void> | null = null

  constructor(
    private readonly store: KeyStore,
    private readonly o: { syncMs?: number; secretKey?: string; now?: () => number; onError?: (err: unknown) => void } = {},
  ) {}

  private now() {
    return this.o.now?.() ?? Date.now()
  }

  async start(): Promise<void> {
    await this.sync()
    this.timer = setInterval(() => void this.sync().catch((err) => this.o.onError?.(err)), this.o.syncMs ?? SYNC_MS)
    this.timer.unref()
  }

  /** Writes the last counts (at shutdown) and stops syncing. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.sync().catch((err) => this.o.onError?.(err))
  }

  /**
   * Loads every key and exchanges counters with the other replicas. A call made while a sync is
   * running gets a fresh one after it (that one may have read the keys before a change just made).
   */
  sync(): Promise<void> {
    if (this.syncing) {
      this.rerun ??= this.syncing.catch(() => {}).then(() => {
        this.rerun = null
        return this.sync()
      })
      return this.rerun
    }
    this.syncing = (async () => {
      const keys = this.store.listKeys()
      const now = this.now()
      const mine: KeyCounter[] = []
      for (const [k, c] of this.local) {
        const [key_id, kind, start] = k.split('\u0000')
        mine.push({ key_id, kind: kind as WindowKind, window_start: Number(start), requests: c.requests, tokens: c.tokens, cost_usd: c.cost })
      }
      const windows = (['minute', 'day', 'month'] as const).map((kind) => ({ kind, start: windowStart(kind, now) }))
      const [records, sums] = await Promise.all([keys, this.store.syncCounters(this.replica, mine, windows, 'others')])
      this.load(records)
      const others = new Map<string, Count>()
      for (const c of sums) others.set(`${c.key_id}\u0000${c.kind}\u0000${c.window_start}`, { requests: c.requests, tokens: c.tokens, cost: c.cost_usd })
      this.others = others
      // Ended windows have been written with their final counts: forget them.
      for (const m of mine) if (windowEnd(m.kind, m.window_start) <= now) this.local.delete(`${m.key_id}\u0000${m.kind}\u0000${m.window_start}`)
    })().finally(() => (this.syncing = null))
    return this.syncing
  }

  /** Replaces the keys in memory (after a sync, or at once after an admin change on this replica). */
  load(records: readonly KeyRecord[]): void {
    const byHash = new Map<string, LiveKey>()
    const byId = new Map<string, LiveKey>()
    for (const rec of records) {
      const old = this.byId.get(rec.id)
      let upstreamKey: string | null = null
      if (rec.upstream_key_enc && this.o.secretKey) {
        try {
          upstreamKey = old?.rec.upstream_key_enc === rec.upstream_key_enc ? old.upstreamKey : decrypt(rec.upstream_key_enc, this.o.secretKey)
        } catch (err) {
          this.o.onError?.(new Error(`the upstream key of ${rec.id} cannot be decrypted with this SECRET_KEY`, { cause: err }))
        }
      }
      const live: LiveKey = { rec, models: rec.models ? (JSON.parse(rec.models) as string[]).map(glob) : null, upstreamKey }
      byHash.set(rec.hash, live)
      byId.set(rec.id, live)
    }
    this.byHash = byHash
    this.byId = byId
    for (const id of this.names.keys()) if (!byId.has(id)) this.names.delete(id)
  }

  byKeyId(id: string): LiveKey | undefined {
    return this.byId.get(id)
  }

  /**
   * The hash of the secret last presented on each open connection. A client on a keep-alive
   * connection sends the same key with every request, and its SHA-256 was the largest part of what
   * keys cost per request. Kept only while the connection lives (weakly, on its socket), as the
   * request headers that carry the secret are; never stored or logged.
   */
  private hashOnConnection = new WeakMap<object, { secret: string; hash: string }>()
  private hashOf(secret: string, connection: object | undefined): string {
    if (connection === undefined) return hashSecret(secret)
    const last = this.hashOnConnection.get(connection)
    if (last !== undefined && sameSecret(last.secret, secret)) return last.hash
    const hash = hashSecret(secret)
    this.hashOnConnection.set(connection, { secret, hash })
    return hash
  }

  /**
   * The key behind a presented secret, or the 401 to answer (and the row's error_type). With the
   * request's connection (its socket), a secret presented again on it is not hashed again.
   */
  authenticate(secret: string | null, connection?: object): { key: LiveKey } | Refusal {
    const refuse = (message: string, rowType: string, keyId: string | null = null): Refusal => ({
      error: new ProxyError(401, 'invalid_request_error', 'invalid_api_key', message),
      rowType,
      keyId,
      headers: {},
    })
    if (!secret) return refuse('You did not provide an API key. Send your proxy key as "Authorization: Bearer lmp-...".', 'missing_api_key')
    const key = this.byHash.get(this.hashOf(secret, connection))
    if (!key) return refuse('Incorrect API key provided. Ask the operator of this proxy for a key.', 'invalid_api_key')
    const now = this.now()
    if (key.rec.revoked_at !== null) return refuse('This API key has been revoked.', 'revoked_api_key', key.rec.id)
    if (key.rec.expires_at !== null && key.rec.expires_at <= now) return refuse('This API key has expired.', 'expired_api_key', key.rec.id)
    return { key }
  }

  allowsModel(key: LiveKey, model: string | null): boolean {
    return key.models === null || (model !== null && key.models.some((g) => g.test(model)))
  }

  /**
   * Each key's counter names for the current windows, made once a minute: the same string objects
   * every time, so the maps hash them once (a name built per lookup would be hashed per lookup).
   */
  private names = new Map<string, { from: number; until: number } & Record<WindowKind, string>>()
  private counterName(keyId: string, kind: WindowKind, now: number): string {
    let n = this.names.get(keyId)
    if (n === undefined || now >= n.until || now < n.from) {
      const from = windowStart('minute', now)
      const name = (k: WindowKind) => `${keyId}\u0000${k}\u0000${windowStart(k, now)}`
      n = { from, until: from + MINUTE, minute: name('minute'), day: name('day'), month: name('month') }
      this.names.set(keyId, n)
    }
    return n[kind]
  }

  private count(keyId: string, kind: WindowKind, now: number): Count {
    const k = this.counterName(keyId, kind, now)
    const mine = this.local.get(k) ?? { requests: 0, tokens: 0, cost: 0 }
    const theirs = this.others.get(k) ?? { requests: 0, tokens: 0, cost: 0 }
    return { requests: mine.requests + theirs.requests, tokens: mine.tokens + theirs.tokens, cost: mine.cost + theirs.cost }
  }

  private bump(keyId: string, now: number, by: Count): void {
    for (const kind of WINDOW_KINDS) {
      const k = this.counterName(keyId, kind, now)
      const c = this.local.get(k)
      if (c) {
        c.requests += by.requests
        c.tokens += by.tokens
        c.cost += by.cost
      } else this.local.set(k, { ...by })
    }
  }

  /** The x-ratelimit-* headers for the key's limits, as OpenAI sends them. */
  rateHeaders(key: LiveKey, now = this.now(), used = this.count(key.rec.id, 'minute', now)): Record<string, string> {
    const { rpm, tpm } = key.rec
    const reset = duration(windowEnd('minute', now) - now)
    const h: Record<string, string> = {}
    if (rpm !== null) {
      h['x-ratelimit-limit-requests'] = String(rpm)
      h['x-ratelimit-remaining-requests'] = String(Math.max(0, rpm - used.requests))
      h['x-ratelimit-reset-requests'] = reset
    }
    if (tpm !== null) {
      h['x-ratelimit-limit-tokens'] = String(tpm)
      h['x-ratelimit-remaining-tokens'] = String(Math.max(0, tpm - used.tokens))
      h['x-ratelimit-reset-tokens'] = reset
    }
    return h
  }

  /**
   * Admits one request under the key's limits and counts it, or says why not (429). Token limits
   * and budgets count what finished requests used: a request already running is never cut off.
   */
  admit(key: LiveKey): { headers: Record<string, string> } | Refusal {
    const now = this.now()
    const { id, rpm, tpm, budget_tokens, budget_usd, budget_period } = key.rec
    const minute = this.count(id, 'minute', now)
    const retry = Math.max(1, Math.ceil((windowEnd('minute', now) - now) / 1000))
    const limited = (kind: 'requests' | 'tokens', limit: number, used: number): Refusal => ({
      error: new ProxyError(429, kind, 'rate_limit_exceeded',
        `Rate limit reached for ${kind} per minute on key ${key.rec.name}: limit ${limit}, used ${used}. Please try again in ${retry}s.`),
      rowType: `rate_limit_${kind}`,
      keyId: id,
      headers: { 'retry-after': String(retry), ...this.rateHeaders(key, now) },
    })
    if (rpm !== null && minute.requests >= rpm) return limited('requests', rpm, minute.requests)
    if (tpm !== null && minute.tokens >= tpm) return limited('tokens', tpm, minute.tokens)
    if (budget_tokens !== null || budget_usd !== null) {
      const period = this.count(id, budget_period, now)
      const over = (budget_tokens !== null && period.tokens >= budget_tokens) || (budget_usd !== null && period.cost >= budget_usd)
      if (over) {
        const until = Math.ceil((windowEnd(budget_period, now) - now) / 1000)
        return {
          error: new ProxyError(429, 'insufficient_quota', 'insufficient_quota',
            `Key ${key.rec.name} has used its ${budget_period === 'day' ? 'daily' : 'monthly'} budget (${budget_tokens !== null ? `${period.tokens} of ${budget_tokens} tokens` : `$${period.cost.toFixed(4)} of $${budget_usd}`}). It resets at the start of the next ${budget_period} (UTC).`),
          rowType: 'insufficient_quota',
          keyId: id,
          headers: { 'retry-after': String(until), ...this.rateHeaders(key, now) },
        }
      }
    }
    this.bump(id, now, ONE_REQUEST)
    // This minute's counts with the request just admitted, without counting them again.
    minute.requests++
    return { headers: this.rateHeaders(key, now, minute) }
  }

  /** Adds what a finished request used (tokens, cost) to its key's windows. */
  recordUsage(keyId: string, tokens: number, cost: number): void {
    if (tokens <= 0 && cost <= 0) return
    this.bump(keyId, this.now(), { requests: 0, tokens, cost })
  }

  /** What the key used in its budget period and this minute, over every replica. */
  usage(key: LiveKey): KeyUsage {
    const now = this.now()
    const { id, budget_tokens, budget_usd, budget_period } = key.rec
    const period = this.count(id, budget_period, now)
    const minute = this.count(id, 'minute', now)
    return {
      key: toView(key.rec, now),
      period: { start: new Date(windowStart(budget_period, now)).toISOString(), end: new Date(windowEnd(budget_period, now)).toISOString() },
      requests: period.requests,
      tokens: period.tokens,
      cost_usd: Math.round(period.cost * 1e6) / 1e6,
      budget_remaining_tokens: budget_tokens === null ? null : Math.max(0, budget_tokens - period.tokens),
      budget_remaining_usd: budget_usd === null ? null : Math.max(0, Math.round((budget_usd - period.cost) * 1e6) / 1e6),
      this_minute: { requests: minute.requests, tokens: minute.tokens },
    }
  }
}
