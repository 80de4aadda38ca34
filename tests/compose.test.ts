import { dashboardEnvSchema, metricsEnvSchema, proxyEnvSchema } from '@llm-proxy/core'
import { Ajv } from 'ajv'
import { validate as lintDockerfile, ValidationSeverity } from 'dockerfile-utils'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
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
    // Only the proxy is published on every interface, and in front of a hosted API (whose key
    // BACKEND_API_KEY would let anyone spend) only on 127.0.0.1 unless the operator says otherwise.
    const publicPort = file === 'docker-compose.remote.yml' ? `\${PROXY_PUBLISH:-127.0.0.1}:${s.port}:${s.port}` : `${s.port}:${s.port}`
    expect(svc.ports).toEqual([s.public ? publicPort : `127.0.0.1:${s.port}:${s.port}`])
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

  test('the proxy and the metrics API share the database volume; only the proxy waits for the backend', () => {
    const { proxy, metrics, dashboard } = compose.services
    const dbDir = defaultOf(proxy.environment.DB_PATH).replace(/\/[^/]+$/, '')
    expect(defaultOf(metrics.environment.DB_PATH)).toBe(defaultOf(proxy.environment.DB_PATH))
    const volume = (svc: { volumes: string[] }) => svc.volumes.find((v) => v.endsWith(`:${dbDir}`))
    expect(volume(proxy)).toBeDefined()
    expect(volume(metrics)).toBe(volume(proxy))
    expect(Object.keys(compose.volumes)).toContain(volume(proxy)!.split(':')[0])
    // The metrics API starts before the proxy has created the database; a slow backend (which
    // keeps the proxy unhealthy) must not hold back the metrics API or the dashboard.
    expect(metrics.depends_on).toBeUndefined()
    expect(Object.keys(dashboard.depends_on)).toEqual(['metrics'])
    expect(dashboard.depends_on.metrics.condition).toBe('service_healthy')
    expect(defaultOf(dashboard.environment.METRICS_API_URL)).toBe('http://metrics:8002')
  })

  test('a backend on the Docker host is reachable as host.docker.internal', () => {
    expect(compose.services.proxy.extra_hosts).toContain('host.docker.internal:host-gateway')
  })

  test('every image is pinned to a version', () => {
    for (const [name, svc] of Object.entries<{ image?: string }>(compose.services)) {
      if (svc.image) expect(svc.image, name).toMatch(/^[\w./-]+:v?\d+(\.\d+)+$/)
    }
  })
})

// The Compose Specification's published JSON schema, as the dclint package ships it.
const schemaFile = join(dirname(createRequire(import.meta.url).resolve('dclint/package.json')), 'schemas', 'compose.schema.json')
// It is draft-07 (Ajv's default dialect) but names the meta-schema by its https address, which Ajv
// does not know by that name; the reference is dropped, the dialect stays the same.
const { $schema: _meta, ...composeSchema } = JSON.parse(readFileSync(schemaFile, 'utf8'))
const validateCompose = new Ajv({ strict: false, allErrors: true }).compile(composeSchema)

test.each(readdirSync(root).filter((f) => /^docker-compose(\.[\w-]+)?\.yml$/.test(f)))('%s is valid against the Compose Specification JSON schema', (file) => {
  expect(validateCompose(load(file)), JSON.stringify(validateCompose.errors, null, 2)).toBe(true)
})

test('the schema check catches what compose would refuse', () => {
  // Proof that the validator is live: an unknown key, a bad depends_on condition, volumes not a list.
  expect(validateCompose({ services: { a: { image: 'x:1', colour: 'red' } } })).toBe(false)
  expect(validateCompose({ services: { a: { image: 'x:1', depends_on: { b: { condition: 'when_ready' } } } } })).toBe(false)
  expect(validateCompose({ services: { a: { image: 'x:1', volumes: 'data:/data' } } })).toBe(false)
  expect(validateCompose({ services: { a: { image: 'x:1' } } })).toBe(true)
})

// The workspace as pnpm-workspace.yaml lists it (packages/* and frontend).
const workspacePackages = [...readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json'))).map((d) => `packages/${d}`), 'frontend']
const DOCKERFILES = ['Dockerfile.proxy', 'Dockerfile.metrics', 'frontend/Dockerfile']
const LINT = {
  deprecatedMaintainer: ValidationSeverity.ERROR, directiveCasing: ValidationSeverity.ERROR, emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR, instructionCmdMultiple: ValidationSeverity.ERROR, instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR, instructionJSONInSingleQuotes: ValidationSeverity.ERROR, instructionWorkdirRelative: ValidationSeverity.ERROR,
}

describe.each(DOCKERFILES)('%s', (file) => {
  const text = readFileSync(join(root, file), 'utf8')
  const lines = text.split('\n')

  test('passes the Dockerfile linter with every check an error', () => {
    expect(lintDockerfile(text, LINT).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([])
  })

  test('dependencies install from the manifests and the lockfile alone, with a cached store and an exact pnpm', () => {
    const install = lines.findIndex((l) => /pnpm install/.test(l))
    expect(install).toBeGreaterThan(0)
    // Everything copied before the install is a manifest, the lockfile, the workspace config or the
    // patches pnpm applies at install, so a source change does not invalidate the dependency layer.
    const copiedBefore = lines.slice(0, install).filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1))
    for (const src of copiedBefore) expect(src, src).toMatch(/(^|\/)(package\.json|pnpm-lock\.yaml|pnpm-workspace\.yaml|tsconfig\.base\.json)$|^patches$/)
    // pnpm refuses to install when a patch the workspace names is missing.
    if (/^patchedDependencies:/m.test(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8'))) expect(copiedBefore).toContain('patches')
    // Every workspace package's manifest is there (pnpm checks the lockfile against all of them).
    for (const pkg of workspacePackages) {
      expect(copiedBefore, pkg).toContain(`${pkg}/package.json`)
    }
    expect(lines[install - 1]).toContain('--mount=type=cache')
    expect(text).toMatch(/^# syntax=docker\/dockerfile:1$/m)
    expect(text).toMatch(/npm install -g pnpm@\d+\.\d+\.\d+$/m)
    for (const l of lines.filter((l) => /pnpm .*deploy/.test(l))) expect(l).toContain('--store-dir /pnpm/store')
  })
})

test('.dockerignore keeps databases, data folders and env files out of the build context at any depth', () => {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
  for (const p of ['**/node_modules', '**/dist', '**/data', '**/*.db', '**/*.db-*', '.env', '.env.*', '**/.env']) expect(patterns, p).toContain(p)
})

test('llm-bench in the proxy image has a folder it can write to', () => {
  const text = readFileSync(join(root, 'Dockerfile.proxy'), 'utf8')
  expect(text).toMatch(/mkdir -p [^\n]*\/results/)
  expect(text).toMatch(/chown node:node [^\n]*\/results/)
  expect(text.indexOf('chown node:node')).toBeLessThan(text.indexOf('USER node'))
})

test('a deliberately broken Dockerfile is caught by the linter', () => {
  expect(lintDockerfile('FROM node:24\nexpose 80\nCMD [\'node\']\nCMD ["node"]\n', LINT).length).toBeGreaterThanOrEqual(3)
})

test('with Ollama: a model volume, a one-shot pull of OLLAMA_MODEL, the proxy waits for a healthy Ollama', () => {
  const { services, volumes } = load('docker-compose.yml')
  expect(services.ollama.image).toMatch(/^ollama\/ollama/)
  expect(services.ollama.volumes[0]).toMatch(/^ollama-models:/)
  expect(Object.keys(volumes)).toContain('ollama-models')
  expect(services['ollama-pull'].entrypoint.join(' ')).toContain('${OLLAMA_MODEL:-llama3.2:1b}')
  expect(services['ollama-pull'].restart).toBe('no')
  expect(services.proxy.depends_on.ollama.condition).toBe('service_healthy')
  // The proxy starts once the model is there, so the first request after `up -d` finds it.
  expect(services.proxy.depends_on['ollama-pull'].condition).toBe('service_completed_successfully')
  expect(services['ollama-pull'].image).toBe(services.ollama.image)
  expect(defaultOf(services.proxy.environment.BACKEND_HOST)).toBe('ollama')
})

test('stopping never cuts the final write: each grace period exceeds SHUTDOWN_TIMEOUT_MS plus 5 s for rows and 5 s for events', () => {
  const seconds = (v: string) => {
    const m = /^(\d+)(s|m)$/.exec(v)
    if (!m) throw new Error(`unreadable duration ${v}`)
    return Number(m[1]) * (m[2] === 'm' ? 60 : 1)
  }
  const needed = (shutdownMs: number) => shutdownMs / 1000 + 5 + 5
  for (const file of ['docker-compose.yml', 'docker-compose.remote.yml', 'docker-compose.scale.yml']) {
    const proxy = load(file).services.proxy
    const shutdownMs = Number(defaultOf(proxy.environment.SHUTDOWN_TIMEOUT_MS))
    expect(shutdownMs, file).toBe(proxyEnvSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined))
    expect(seconds(proxy.stop_grace_period), file).toBeGreaterThan(needed(shutdownMs))
  }
  const unit = /\[Service\][\s\S]*?ExecStart=\/usr\/bin\/node (?:--\S+ )*dist\/server\.js[\s\S]*?TimeoutStopSec=(\d+)/.exec(readFileSync(join(root, 'EXAMPLES.md'), 'utf8'))
  expect(unit, 'the proxy systemd unit in EXAMPLES.md').not.toBeNull()
  expect(Number(unit![1])).toBeGreaterThan(needed(proxyEnvSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined) as number))
})

test('the remote variant has no Ollama and requires BACKEND_URL', () => {
  const { services } = load('docker-compose.remote.yml')
  expect(services.ollama).toBeUndefined()
  expect(services.proxy.environment.BACKEND_URL).toMatch(/^\$\{BACKEND_URL:\?/)
})
