import { dashboardEnvSchema, metricsEnvSchema, proxyEnvSchema } from '@llm-proxy/core'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { root } from './helpers.js'

const load = (file: string) => parse(readFileSync(join(root, file), 'utf8'))
const SERVICES = {
  proxy: { schema: proxyEnvSchema, port: 8001, public: true, dockerfile: 'Dockerfile.proxy' },
  metrics: { schema: metricsEnvSchema, port: 8002, public: false, dockerfile: 'Dockerfile.metrics' },
  dashboard: { schema: dashboardEnvSchema, port: 3000, public: false, dockerfile: 'frontend/Dockerfile' },
} as const

/** `${NAME:-default}` → default; a plain value → itself. */
const defaultOf = (v: unknown) => {
  const m = /^\$\{[A-Z_]+:?-([^}]*)\}$/.exec(String(v))
  return m ? m[1] : String(v)
}

describe.each(['docker-compose.yml', 'docker-compose.remote.yml'])('%s', (file) => {
  const compose = load(file)

  test.each(Object.entries(SERVICES))('%s: ports, health check, environment, restart', (name, s) => {
    const svc = compose.services[name]
    expect(svc, `${name} service`).toBeDefined()
    expect(svc.build.dockerfile).toBe(s.dockerfile)
    // Only the proxy is published on every interface.
    expect(svc.ports).toEqual([s.public ? `${s.port}:${s.port}` : `127.0.0.1:${s.port}:${s.port}`])
    // Every variable the service reads is listed, and nothing it does not read.
    expect(Object.keys(svc.environment).sort()).toEqual(Object.keys(s.schema.shape).sort())
    const env = Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, defaultOf(v)]))
    expect(Number(env[`${name === 'metrics' ? 'METRICS' : name === 'proxy' ? 'PROXY' : 'DASHBOARD'}_PORT`])).toBe(s.port)
    // The environment as compose would pass it is valid config.
    expect(() => s.schema.parse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '' && !v.startsWith('${'))))).not.toThrow()
    expect(svc.healthcheck.test.join(' ')).toContain(`127.0.0.1:${s.port}/health`)
    expect(svc.restart).toBe('unless-stopped')
    // The Dockerfile agrees on the port.
    const dockerfile = readFileSync(join(root, s.dockerfile), 'utf8')
    expect(dockerfile).toContain(`EXPOSE ${s.port}`)
    expect(dockerfile).toMatch(/HEALTHCHECK/)
    expect(dockerfile).toMatch(/^USER node$/m)
  })

  test('the proxy and the metrics API share the database volume; start order follows health', () => {
    const { proxy, metrics, dashboard } = compose.services
    const dbDir = defaultOf(proxy.environment.DB_PATH).replace(/\/[^/]+$/, '')
    expect(defaultOf(metrics.environment.DB_PATH)).toBe(defaultOf(proxy.environment.DB_PATH))
    const volume = (svc: { volumes: string[] }) => svc.volumes.find((v) => v.endsWith(`:${dbDir}`))
    expect(volume(proxy)).toBeDefined()
    expect(volume(metrics)).toBe(volume(proxy))
    expect(Object.keys(compose.volumes)).toContain(volume(proxy)!.split(':')[0])
    expect(metrics.depends_on.proxy.condition).toBe('service_healthy')
    expect(dashboard.depends_on.metrics.condition).toBe('service_healthy')
    expect(defaultOf(dashboard.environment.METRICS_API_URL)).toBe('http://metrics:8002')
  })
})

test('with Ollama: a model volume, a one-shot pull of OLLAMA_MODEL, the proxy waits for a healthy Ollama', () => {
  const { services, volumes } = load('docker-compose.yml')
  expect(services.ollama.image).toMatch(/^ollama\/ollama/)
  expect(services.ollama.volumes[0]).toMatch(/^ollama-models:/)
  expect(Object.keys(volumes)).toContain('ollama-models')
  expect(services['ollama-pull'].entrypoint.join(' ')).toContain('${OLLAMA_MODEL:-llama3.2:1b}')
  expect(services['ollama-pull'].restart).toBe('no')
  expect(services.proxy.depends_on.ollama.condition).toBe('service_healthy')
  expect(defaultOf(services.proxy.environment.BACKEND_HOST)).toBe('ollama')
})

test('the remote variant has no Ollama and requires BACKEND_URL', () => {
  const { services } = load('docker-compose.remote.yml')
  expect(services.ollama).toBeUndefined()
  expect(services.proxy.environment.BACKEND_URL).toMatch(/^\$\{BACKEND_URL:\?/)
})
