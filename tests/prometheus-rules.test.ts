import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { parse, stringify } from 'yaml'
import { root } from './helpers.js'

// deploy/prometheus: the alerting rules, their unit tests and the scrape configs, through promtool
// (installed with Debian's prometheus package; .ci/run installs it when missing).
const dir = join(root, 'deploy', 'prometheus')
const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim()
const run = (args: string[], cwd = dir) => {
  if (!promtool) throw new Error('promtool is missing: apt-get install prometheus (.ci/run does)')
  const r = spawnSync(promtool, args, { cwd, encoding: 'utf8' })
  return { code: r.status, out: `${r.stdout}${r.stderr}` }
}

interface Rule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const ruleFiles = readdirSync(join(dir, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => join('rules', f))
const rules: Rule[] = ruleFiles.flatMap((f) => parse(readFileSync(join(dir, f), 'utf8')).groups.flatMap((g: { rules: Rule[] }) => g.rules))
const testFiles = readdirSync(join(dir, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => join('tests', f))

test('promtool check rules: every rule file is valid', () => {
  expect(ruleFiles.length).toBeGreaterThan(0)
  const r = run(['check', 'rules', ...ruleFiles])
  expect(r.code, r.out).toBe(0)
  expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`)
})

test('promtool test rules: every unit test passes', () => {
  const r = run(['test', 'rules', ...testFiles])
  expect(r.code, r.out).toBe(0)
  expect(r.out).not.toMatch(/FAILED/)
})

test('the rules a self-hoster wants on day one are all there', () => {
  const exprOf = (name: string) => rules.find((r) => r.alert === name)?.expr ?? ''
  expect(exprOf('LLMProxyHighErrorRate')).toMatch(/llm_proxy_requests_total\{outcome=~"backend_error\|network_error"\}/)
  expect(exprOf('LLMProxyHighLatencyP95')).toMatch(/histogram_quantile\(0\.95, .*gen_ai_client_operation_duration_seconds_bucket/)
  expect(exprOf('LLMProxyHighTTFTP95')).toMatch(/histogram_quantile\(0\.95, .*gen_ai_server_time_to_first_token_seconds_bucket/)
  expect(exprOf('LLMProxyNoSuccessfulRequests')).toMatch(/unless/)
  expect(exprOf('LLMProxyBackendUnreachable')).toMatch(/outcome="network_error"/)
  expect(exprOf('LLMProxyKeyNearBudget')).toMatch(/llm_proxy_key_budget_used \/ llm_proxy_key_budget_limit/)
})

describe.each(rules.map((r) => [r.alert, r] as const))('%s', (name, rule) => {
  test('has for:, a severity, and a summary and description that name the model (or key) and the value', () => {
    expect(rule.for).toMatch(/^\d+[smh]$/)
    expect(['warning', 'critical']).toContain(rule.labels?.severity)
    for (const a of ['summary', 'description'] as const) {
      expect(rule.annotations?.[a]).toMatch(/\{\{ \$labels\.(model|key) \}\}/)
      expect(rule.annotations?.[a]).toMatch(/\$value/)
    }
  })

  test('its unit tests include a case where it fires and one where it stays quiet', () => {
    const cases = testFiles.flatMap((f) => parse(readFileSync(join(dir, f), 'utf8')).tests.flatMap((t: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }) => t.alert_rule_test ?? []))
    const mine = cases.filter((c) => c.alertname === name)
    expect(mine.some((c) => c.exp_alerts.length > 0)).toBe(true)
    expect(mine.some((c) => c.exp_alerts.length === 0)).toBe(true)
  })
})

describe('scrape configs', () => {
  const work = mkdtempSync(join(tmpdir(), 'prom-config-'))
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  test.each(['prometheus.yml', 'prometheus-token.yml'])('%s is valid (promtool check config) and scrapes /metrics/prometheus', (file) => {
    // A copy, so the token variant's credentials file can exist somewhere writable.
    cpSync(dir, work, { recursive: true })
    const config = parse(readFileSync(join(dir, file), 'utf8'))
    const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === 'llm-proxy')
    expect(job.metrics_path).toBe('/metrics/prometheus')
    expect(job.static_configs[0].targets).toEqual(['metrics:8002'])
    expect(config.rule_files).toEqual(['rules/*.yml'])
    if (file === 'prometheus-token.yml') {
      expect(job.authorization).toEqual({ type: 'Bearer', credentials_file: '/etc/prometheus/metrics-api-token' })
      job.authorization.credentials_file = join(work, 'metrics-api-token')
      writeFileSync(join(work, 'metrics-api-token'), 'secret\n')
    } else {
      expect(job.authorization).toBeUndefined()
    }
    writeFileSync(join(work, file), stringify(config))
    const r = run(['check', 'config', file], work)
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`)
  })
})

test('the Alertmanager config is valid (amtool check-config)', () => {
  const amtool = spawnSync('sh', ['-c', 'command -v amtool'], { encoding: 'utf8' }).stdout.trim()
  if (!amtool) throw new Error('amtool is missing: apt-get install prometheus-alertmanager (.ci/run does)')
  const r = spawnSync(amtool, ['check-config', join(root, 'deploy/alertmanager/alertmanager.yml')], { encoding: 'utf8' })
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0)
  expect(r.stdout).toContain('SUCCESS')
})
