import { describe, expect, test } from 'vitest'
import { ConfigError, loadMetricsApiConfig, loadProxyConfig } from '../src/index.js'

describe('loadProxyConfig', () => {
  test('defaults match the documented ones', () => {
    const c = loadProxyConfig({})
    expect(c.backendUrl).toBe('http://localhost:11434')
    expect(c.port).toBe(8001)
    expect(c.dbPath).toBe('./data/metrics.db')
    expect(c.bodyLimit).toBe(50 * 1024 * 1024)
    expect(c.streamUsage).toBe('inject')
    expect(c.retentionDays).toBeUndefined()
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
