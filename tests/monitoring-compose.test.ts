import { existsSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { root } from './helpers.js'

// The `monitoring` profile of docker-compose.yml, checked without a Docker engine: every file it
// mounts exists, and the addresses and paths in the mounted files agree with the compose services.
const load = (file: string) => parse(readFileSync(join(root, file), 'utf8'))
const compose = load('docker-compose.yml')
const MONITORING = ['prometheus', 'alertmanager', 'grafana']
const defaultOf = (v: string) => v.replace(/\$\{[A-Z_]+:?-([^}]*)\}/g, '$1')

/** Where a path inside a container comes from in the repository, by the service's bind mounts. */
function hostPath(service: string, containerPath: string): string | null {
  for (const v of compose.services[service].volumes as string[]) {
    const [src, dst] = v.split(':')
    if (!src.startsWith('./')) continue
    if (containerPath === dst || containerPath.startsWith(dst + '/')) return join(root, src, posix.relative(dst, containerPath))
  }
  return null
}

test('the profile adds Prometheus, Alertmanager and Grafana; a plain `docker compose up` is unchanged', () => {
  for (const [name, svc] of Object.entries(compose.services) as [string, { profiles?: string[] }][]) {
    expect(svc.profiles, name).toEqual(MONITORING.includes(name) ? ['monitoring'] : undefined)
  }
})

describe.each(MONITORING)('%s', (name) => {
  const svc = compose.services[name]
  test('pinned image, loopback port, health check, restart, mounts that exist, named volumes declared', () => {
    expect(svc.image).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/)
    expect(svc.ports).toHaveLength(1)
    expect(svc.ports[0]).toMatch(/^127\.0\.0\.1:\d+:\d+$/)
    expect(svc.healthcheck.test.join(' ')).toMatch(/http:\/\/127\.0\.0\.1:\d+\//)
    expect(svc.restart).toBe('unless-stopped')
    for (const v of svc.volumes as string[]) {
      const [src] = v.split(':')
      if (src.startsWith('./')) expect(existsSync(join(root, src)), v).toBe(true)
      else expect(Object.keys(compose.volumes), v).toContain(src)
    }
  })
})

test('Prometheus reads a config that exists, scrapes the metrics service and alerts the alertmanager service', () => {
  const args = compose.services.prometheus.command.map(defaultOf) as string[]
  const configPath = args.find((a) => a.startsWith('--config.file='))!.split('=')[1]
  const metricsPort = compose.services.metrics.environment.METRICS_PORT
  const amPort = compose.services.alertmanager.ports[0].split(':')[2]
  for (const file of ['prometheus.yml', 'prometheus-token.yml']) {
    const local = hostPath('prometheus', posix.join(posix.dirname(configPath), file))!
    expect(existsSync(local), file).toBe(true)
    const config = parse(readFileSync(local, 'utf8'))
    expect(config.scrape_configs[0].static_configs[0].targets).toEqual([`metrics:${metricsPort}`])
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual([`alertmanager:${amPort}`])
    const creds = config.scrape_configs[0].authorization?.credentials_file
    if (creds) {
      // The token file sits in the mounted folder, and git never picks it up.
      const tokenFile = hostPath('prometheus', creds)!
      expect(tokenFile).toBe(join(root, 'deploy/prometheus/metrics-api-token'))
      expect(readFileSync(join(root, 'deploy/prometheus/.gitignore'), 'utf8').split('\n')).toContain('metrics-api-token')
    }
  }
  expect(configPath).toBe('/etc/prometheus/prometheus.yml')
})

test('Alertmanager reads its config; every route goes to a receiver that exists', () => {
  const args = compose.services.alertmanager.command as string[]
  const config = parse(readFileSync(hostPath('alertmanager', args.find((a) => a.startsWith('--config.file='))!.split('=')[1])!, 'utf8'))
  const receivers = config.receivers.map((r: { name: string }) => r.name)
  for (const r of [config.route, ...(config.route.routes ?? [])]) expect(receivers).toContain(r.receiver)
})

test('Grafana is provisioned with the Prometheus and Alertmanager services and loads the dashboard', () => {
  const provisioning = hostPath('grafana', '/etc/grafana/provisioning')!
  const ds = parse(readFileSync(join(provisioning, 'datasources/prometheus.yml'), 'utf8')).datasources
  expect(ds.find((d: { type: string }) => d.type === 'prometheus').url).toBe(`http://prometheus:${compose.services.prometheus.ports[0].split(':')[2]}`)
  expect(ds.find((d: { type: string }) => d.type === 'alertmanager').url).toBe(`http://alertmanager:${compose.services.alertmanager.ports[0].split(':')[2]}`)
  // The scrape interval Grafana is told is the one Prometheus uses ($__rate_interval depends on it).
  expect(ds.find((d: { type: string }) => d.type === 'prometheus').jsonData.timeInterval).toBe(load('deploy/prometheus/prometheus.yml').global.scrape_interval)
  const provider = parse(readFileSync(join(provisioning, 'dashboards/llm-proxy.yml'), 'utf8')).providers[0]
  const dashboards = hostPath('grafana', provider.options.path)!
  expect(existsSync(join(dashboards, 'llm-proxy.json'))).toBe(true)
  expect(hostPath('grafana', compose.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH)).toBe(join(dashboards, 'llm-proxy.json'))
})
