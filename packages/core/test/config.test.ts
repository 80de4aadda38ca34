import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ConfigError, costOf, findPriceRule, loadDashboardConfig, loadMetricsApiConfig, loadProxyConfig } from '../src/index.js'

describe('loadProxyConfig', () => {
  test('defaults match the documented ones', () => {
    const c = loadProxyConfig({})
    expect(c.backendUrl).toBe('http://localhost:11434')
    expect(c.port).toBe(8001)
    expect(c.dbPath).toBe('./data/metrics.db')
    expect(c.bodyLimit).toBe(50 * 1024 * 1024)
    expect(c.streamUsage).toBe('inject')
    expect(c.retentionDays).toBeUndefined()
    expect(c.storageThreadNice).toBe(10)
  })

  test('STORAGE_THREAD_NICE takes 0 to 19', () => {
    expect(loadProxyConfig({ STORAGE_THREAD_NICE: '0' }).storageThreadNice).toBe(0)
    expect(loadProxyConfig({ STORAGE_THREAD_NICE: '19' }).storageThreadNice).toBe(19)
  })

  test('BACKEND_URL overrides host and port and loses its trailing slash', () => {
    const c = loadProxyConfig({ BACKEND_URL: 'https://api.openai.com/', BACKEND_HOST: 'x', BACKEND_PORT: '1' })
    expect(c.backendUrl).toBe('https://api.openai.com')
  })

  test('host and port build the backend URL', () => {
    expect(loadProxyConfig({ BACKEND_HOST: 'ollama', BACKEND_PORT: '1234' }).backendUrl).toBe('http://ollama:1234')
  })

  test('sizes accept units', () => {
    expect(loadProxyConfig({ BODY_LIMIT: '2mb' }).bodyLimit).toBe(2 * 1024 * 1024)
    expect(loadProxyConfig({ BODY_LIMIT: '1000' }).bodyLimit).toBe(1000)
  })

  test('empty values fall back to defaults', () => {
    expect(loadProxyConfig({ PROXY_PORT: '' }).port).toBe(8001)
  })

  test.each([
    ['PROXY_PORT', 'abc'],
    ['PROXY_PORT', '70000'],
    ['BACKEND_URL', 'ftp://x'],
    ['BODY_LIMIT', 'lots'],
    ['STREAM_USAGE', 'always'],
    ['TRUST_PROXY', 'maybe'],
    ['RETENTION_DAYS', '0'],
    ['DATABASE_URL', 'mysql://db/x'],
    ['BODY_TIMEOUT_MS', '-5'],
    ['ALLOW_OPEN_RELAY', 'sure'],
    ['CAPTURE', 'some'],
    ['CAPTURE_MAX_BYTES', 'big'],
    ['CAPTURE_RETENTION_DAYS', '0'],
    ['REDACT', 'none'],
    ['STORAGE_THREAD_NICE', '20'],
    ['STORAGE_THREAD_NICE', '-1'],
    ['STORAGE_THREAD_NICE', '2.5'],
    ['STORAGE_THREAD_NICE', 'low'],
  ])('a bad %s names the variable', (name, value) => {
    expect(() => loadProxyConfig({ [name]: value })).toThrowError(ConfigError)
    expect(() => loadProxyConfig({ [name]: value })).toThrowError(new RegExp(`${name}: .*got "${value}"`))
  })
})

describe('BACKEND_API_KEY on a public address', () => {
  test('is refused unless ALLOW_OPEN_RELAY=true, without echoing the key', () => {
    const err = (() => {
      try {
        loadProxyConfig({ BACKEND_API_KEY: 'sk-owner-key' })
      } catch (e) {
        return e as Error
      }
    })()
    expect(err).toBeInstanceOf(ConfigError)
    expect(err!.message).toMatch(/BACKEND_API_KEY: .*PROXY_HOST=0\.0\.0\.0.*ALLOW_OPEN_RELAY=true/s)
    expect(err!.message).not.toContain('sk-owner-key')
    expect(loadProxyConfig({ BACKEND_API_KEY: 'k', PROXY_HOST: '127.0.0.1' }).backendApiKey).toBe('k')
    expect(loadProxyConfig({ BACKEND_API_KEY: 'k', ALLOW_OPEN_RELAY: 'true' }).backendApiKey).toBe('k')
  })

  test('DATABASE_URL takes postgres:// and postgresql://', () => {
    expect(loadProxyConfig({ DATABASE_URL: 'postgres://u:p@db:5432/x' }).databaseUrl).toBe('postgres://u:p@db:5432/x')
    expect(loadMetricsApiConfig({ DATABASE_URL: 'postgresql://db/x' }).databaseUrl).toBe('postgresql://db/x')
  })
})

describe('loadMetricsApiConfig', () => {
  test('binds to loopback and allows the dashboard origin by default', () => {
    const c = loadMetricsApiConfig({})
    expect(c.host).toBe('127.0.0.1')
    expect(c.corsOrigins).toContain('http://localhost:3000')
  })

  test('refuses a wildcard CORS origin', () => {
    expect(() => loadMetricsApiConfig({ CORS_ORIGINS: '*' })).toThrowError(/CORS_ORIGINS/)
  })
})

describe('loadDashboardConfig: sign-in and key management', () => {
  const token = 'x'.repeat(32)
  test('off by default: no sign-in, no admin API', () => {
    const c = loadDashboardConfig({})
    expect(c.signIn).toBeNull()
    expect(c.admin).toBeNull()
  })

  test('ADMIN_PASSWORD turns sign-in on, with ADMIN_USER admin and 12h sessions by default', () => {
    expect(loadDashboardConfig({ ADMIN_PASSWORD: 'correct horse' }).signIn).toEqual({ user: 'admin', password: 'correct horse', sessionTtlMs: 12 * 3_600_000 })
    const c = loadDashboardConfig({ ADMIN_PASSWORD: 'correct horse', ADMIN_USER: 'ops', SESSION_TTL: '90m', ADMIN_TOKEN: token, ADMIN_API_URL: 'http://proxy:8003/' })
    expect(c.signIn).toEqual({ user: 'ops', password: 'correct horse', sessionTtlMs: 90 * 60_000 })
    expect(c.admin).toEqual({ url: 'http://proxy:8003', token })
  })

  test('ADMIN_TOKEN without ADMIN_PASSWORD is refused, naming both', () => {
    expect(() => loadDashboardConfig({ ADMIN_TOKEN: token })).toThrowError(/ADMIN_TOKEN[\s\S]*ADMIN_PASSWORD/)
  })

  test('a bad SESSION_TTL or a short password names the variable, never the password', () => {
    expect(() => loadDashboardConfig({ ADMIN_PASSWORD: 'long enough', SESSION_TTL: '12 hours' })).toThrowError(/SESSION_TTL/)
    expect(() => loadDashboardConfig({ ADMIN_PASSWORD: 'long enough', SESSION_TTL: '0h' })).toThrowError(/SESSION_TTL/)
    expect(() => loadDashboardConfig({ ADMIN_PASSWORD: 'short' })).toThrowError(/ADMIN_PASSWORD/)
    expect(() => loadDashboardConfig({ ADMIN_PASSWORD: 'short' })).not.toThrowError(/short/)
  })
})

describe('PRICES_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'core-prices-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string, text: string) => {
    const f = join(dir, name)
    writeFileSync(f, text)
    return f
  }

  test('unset: no rules', () => {
    expect(loadProxyConfig({}).prices).toEqual([])
  })

  test('exact names win over globs; globs in file order; names match case-insensitively', () => {
    const rules = loadProxyConfig({ PRICES_FILE: file('p.yaml', 'llama*: { input: 1, output: 1 }\nllama3: { input: 2, output: 2 }\n"*": null\n') }).prices
    expect(findPriceRule(rules, 'llama3')?.prices).toEqual({ input: 2, output: 2 })
    expect(findPriceRule(rules, 'Llama3.2:1B')?.prices).toEqual({ input: 1, output: 1 })
    expect(findPriceRule(rules, 'other')).toMatchObject({ pattern: '*', prices: null })
  })

  test.each([
    ['missing.yaml', null, /PRICES_FILE: cannot read .*missing\.yaml: ENOENT/],
    ['bad.yaml', 'a: [1, 2', /PRICES_FILE: not valid YAML or JSON/],
    ['neg.json', '{"m": {"input": -1, "output": 1}}', /PRICES_FILE: "m\.input": .*(>=|non-?negative|greater)/i],
    ['typo.yaml', 'm: { input: 1, outptu: 2 }', /PRICES_FILE: "m.*(outptu|output)/],
    ['list.yaml', '- a\n- b\n', /PRICES_FILE: .*expected model name or glob/],
  ])('a bad file stops the start with a message naming PRICES_FILE (%s)', (name, text, message) => {
    const f = text === null ? join(dir, name) : file(name, text)
    expect(() => loadProxyConfig({ PRICES_FILE: f })).toThrow(ConfigError)
    expect(() => loadProxyConfig({ PRICES_FILE: f })).toThrow(message)
  })

  test('costOf prices each kind of token apart, per million', () => {
    const p = { input: 2, cached_input: 1, cache_write: 3, output: 10, reasoning: 20 }
    // 100 input of which 30 cached and 10 written to the cache; 50 output of which 20 reasoning.
    expect(costOf(p, { prompt: 100, cached: 30, cacheWrite: 10, completion: 50, reasoning: 20 })).toBeCloseTo((60 * 2 + 30 * 1 + 10 * 3 + 30 * 10 + 20 * 20) / 1e6, 15)
    expect(costOf({ input: 2, output: 10 }, { prompt: 100, cached: 30, cacheWrite: 0, completion: 50, reasoning: 20 })).toBeCloseTo((100 * 2 + 50 * 10) / 1e6, 15)
  })
})

describe('events out (EVENT_LOG, EVENT_WEBHOOK_*, OTEL_*)', () => {
  test('all off by default', () => {
    expect(loadProxyConfig({}).events).toEqual({ log: undefined, webhook: undefined, otel: undefined })
  })

  test('EVENT_LOG is stdout or a file path', () => {
    expect(loadProxyConfig({ EVENT_LOG: 'stdout' }).events.log).toBe('stdout')
    expect(loadProxyConfig({ EVENT_LOG: '/var/log/llm/events.jsonl' }).events.log).toEqual({ file: '/var/log/llm/events.jsonl' })
  })

  test('the webhook takes an http(s) URL and an optional token; a token alone is refused', () => {
    expect(loadProxyConfig({ EVENT_WEBHOOK_URL: 'https://hooks.example.com/x', EVENT_WEBHOOK_TOKEN: 't' }).events.webhook).toEqual({ url: 'https://hooks.example.com/x', token: 't' })
    expect(() => loadProxyConfig({ EVENT_WEBHOOK_URL: 'ftp://x' })).toThrow(/EVENT_WEBHOOK_URL/)
    expect(() => loadProxyConfig({ EVENT_WEBHOOK_TOKEN: 'secret-token' })).toThrow(/EVENT_WEBHOOK_TOKEN: set without EVENT_WEBHOOK_URL/)
    // The refusal names the variable, never its value.
    expect(() => loadProxyConfig({ EVENT_WEBHOOK_TOKEN: 'secret-token' })).not.toThrow(/secret-token/)
  })

  test('OTLP: on with an endpoint; protocol, interval and service name with the standard defaults', () => {
    expect(loadProxyConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).events.otel).toBeUndefined()
    expect(loadProxyConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).events.otel).toEqual({
      endpoint: 'http://collector:4318',
      headers: undefined,
      protocol: 'http/protobuf',
      exportIntervalMs: 60_000,
      serviceName: 'llm-metrics-proxy',
    })
    const c = loadProxyConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_SERVICE_NAME: 'edge-proxy',
    }).events.otel
    expect(c).toMatchObject({ headers: 'api-key=abc', protocol: 'http/json', exportIntervalMs: 15_000, serviceName: 'edge-proxy' })
    expect(() => loadProxyConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf or http\/json \(gRPC is not supported\)/)
    expect(() => loadProxyConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/)
  })
})

describe('content capture (CAPTURE, CAPTURE_MAX_BYTES, CAPTURE_RETENTION_DAYS, REDACT)', () => {
  test('off by default, redaction on, 64 KB per side, no retention of its own', () => {
    expect(loadProxyConfig({}).capture).toEqual({ mode: 'off', maxBytes: 65536, retentionDays: undefined, redact: 'pii' })
  })

  test('each variable is read', () => {
    expect(loadProxyConfig({ CAPTURE: 'errors', CAPTURE_MAX_BYTES: '32kb', CAPTURE_RETENTION_DAYS: '7', REDACT: 'off' }).capture).toEqual({ mode: 'errors', maxBytes: 32768, retentionDays: 7, redact: 'off' })
  })
})
