import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { dashboardEnvSchema, metricsEnvSchema, proxyEnvSchema } from '../src/index.js'

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

/** The variables of the table under `### <heading>`, with their documented defaults. */
function table(heading: string): Map<string, string> {
  const section = readme.split(`### ${heading}\n`)[1]?.split('\n### ')[0].split('\n## ')[0] ?? ''
  const rows = section.split('\n').filter((l) => /^\| `[A-Z_]+` \|/.test(l))
  return new Map(rows.map((l) => {
    const [, name, def] = l.split('|').map((c) => c.trim())
    return [name.replace(/`/g, ''), def.replace(/`/g, '')]
  }))
}

const defaults = (schema: typeof proxyEnvSchema | typeof metricsEnvSchema | typeof dashboardEnvSchema) => schema.parse({}) as Record<string, unknown>

test.each([
  ['Proxy', proxyEnvSchema],
  ['Metrics API', metricsEnvSchema],
  ['Dashboard', dashboardEnvSchema],
] as const)('the README table for %s lists exactly the variables the config schema reads, with its defaults', (heading, schema) => {
  const documented = table(heading)
  expect([...documented.keys()].sort()).toEqual(Object.keys(schema.shape).sort())
  const actual = defaults(schema)
  for (const [name, def] of documented) {
    const value = actual[name]
    if (value === undefined) expect(def).toMatch(/^\((unset|off)\)$/)
    else if (name === 'BODY_LIMIT') expect(def).toBe(`${Number(value) / 1024 / 1024}mb`)
    else expect(def).toBe(String(value))
  }
})
