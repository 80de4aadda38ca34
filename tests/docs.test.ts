import { dashboardEnvSchema, metricsEnvSchema, parsePrices, proxyEnvSchema } from '@llm-proxy/core'
import { DEFAULT_MODELS } from '@llm-proxy/mock-backend'
import { Ajv } from 'ajv'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { freePort, root } from './helpers.js'

// Every fenced block of README.md and EXAMPLES.md carries a marker on the line before it:
//   <!-- doc-test: run: output matches /re/ -->      run as written; exit 0 and the output matches
//   <!-- doc-test: services: ready when URL… answer --> each line a long-running service, started in
//                                                       the background; ready when every URL answers
//   <!-- doc-test: static: why -->                   cannot run here (Docker, a remote API, systemd…);
//                                                       checked as text: syntax, variables, paths
// The runnable blocks run in document order, README first: its "one by one" blocks start the quick
// start (the simulated backend and the real services), and the examples after them run against it.

type Marker = { kind: 'run'; expect: RegExp } | { kind: 'services'; ready: string[] } | { kind: 'static'; why: string }
interface Block { where: string; lang: string; code: string; marker: Marker | null }

const DOCS = ['README.md', 'EXAMPLES.md']

function parseMarker(comment: string | undefined): Marker | null {
  const m = /^<!-- doc-test: (run|services|static): (.*) -->$/.exec(comment?.trim() ?? '')
  if (!m) return null
  if (m[1] === 'static') return { kind: 'static', why: m[2] }
  if (m[1] === 'run') {
    const re = /^output matches \/(.+)\/$/.exec(m[2])
    return re ? { kind: 'run', expect: new RegExp(re[1]) } : null
  }
  const urls = /^ready when (.+) answers?$/.exec(m[2])
  return urls ? { kind: 'services', ready: urls[1].split(/\s+/) } : null
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i])
    if (!open) continue
    const end = lines.indexOf('```', i + 1)
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`)
    let j = i - 1
    while (j >= 0 && lines[j].trim() === '') j--
    out.push({ where: `${file}:${i + 1}`, lang: open[1], code: lines.slice(i + 1, end).join('\n'), marker: parseMarker(lines[j]) })
    i = end
  }
  return out
}

const blocks = DOCS.flatMap(blocksOf)
const configVars = new Set([proxyEnvSchema, metricsEnvSchema, dashboardEnvSchema].flatMap((s) => Object.keys(s.shape)))
const composeFiles = readdirSync(root).filter((f) => /^docker-compose(\.[\w-]+)?\.yml$/.test(f))
const composeVars = new Set(composeFiles.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1])))
const rootScripts = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts)
const PNPM_COMMANDS = new Set(['install', 'add', 'exec', 'dlx', 'run', 'test', 'deploy'])
// The workspace as pnpm-workspace.yaml lists it (packages/* and frontend).
const workspacePackages = [...readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json'))).map((d) => `packages/${d}`), 'frontend']
const packageNames = new Set(workspacePackages.map((p) => JSON.parse(readFileSync(join(root, p, 'package.json'), 'utf8')).name as string))

test('every code block of README.md and EXAMPLES.md says how it is tested', () => {
  expect(blocks.length).toBeGreaterThan(20)
  for (const b of blocks) {
    expect(b.marker, `${b.where}: no (or a malformed) <!-- doc-test: … --> line before the block`).not.toBeNull()
    if (b.marker!.kind !== 'static') expect(['sh', 'js'], `${b.where}: only sh and js blocks run`).toContain(b.lang)
    if (b.marker!.kind === 'services') expect(b.lang).toBe('sh')
  }
  // The examples a newcomer copies first do run.
  expect(blocks.filter((b) => b.marker?.kind === 'run').length).toBeGreaterThanOrEqual(5)
})

test('npx commands work where npm is set to yes=false (some machines are): they carry --yes', () => {
  for (const b of blocks) for (const m of b.code.matchAll(/\bnpx (\S+)/g)) expect(m[1], b.where).toBe('--yes')
  for (const file of DOCS) for (const m of readFileSync(join(root, file), 'utf8').matchAll(/`npx (\S+)/g)) expect(m[1], file).toBe('--yes')
})

test('the docs stand on their own: no link or reference to a file outside the repository', () => {
  const files = spawnSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
  expect(files.length).toBeGreaterThan(5)
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8')
    expect(text, f).not.toMatch(/\.\.\/shared\b|DESIGN\.md/)
    // Every relative link points at a file that exists.
    for (const [, target] of text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)/g)) expect(existsSync(join(root, f, '..', target)), `${f}: ${target}`).toBe(true)
  }
})

/** The shell commands of a block: continuation lines joined, comments and heredoc bodies left out. */
function commands(code: string): string[] {
  const out: string[] = []
  let heredoc: string | null = null
  for (const line of code.replace(/\\\n\s*/g, ' ').split('\n')) {
    if (heredoc) {
      if (line.trim() === heredoc) heredoc = null
      continue
    }
    const h = /<<-?'?(\w+)'?/.exec(line)
    if (h) heredoc = h[1]
    const cmd = line.replace(/\s+#.*$/, '').trim()
    if (cmd && !cmd.startsWith('#')) out.push(cmd)
  }
  return out
}

describe.each(blocks.map((b) => [b.where, b] as const))('%s', (_where, b) => {
  test(`as text: syntax, variables, files and packages (${b.lang || 'text'})`, () => {
    const why = b.marker?.kind === 'static' ? b.marker.why : ''
    if (b.lang === 'sh') {
      const syntax = spawnSync('bash', ['-n'], { input: b.code, encoding: 'utf8' })
      expect(syntax.status, syntax.stderr).toBe(0)
      for (const cmd of commands(b.code)) {
        for (const part of cmd.split(/\s*(?:&&|\|\||\|)\s*/)) {
          const words = part.replace(/^sudo\s+/, '').split(/\s+/)
          // Variables set for a command are ones the services (or the compose files) read.
          const assigned: string[] = []
          while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) assigned.push(words.shift()!.split('=')[0])
          // (Variables for a client program, e.g. ANTHROPIC_BASE_URL, are that program's business.)
          for (const name of words[0] === 'docker' || words[0] === 'pnpm' ? assigned : []) {
            const known = words[0] === 'docker' ? composeVars.has(name) : configVars.has(name)
            expect(known, `${b.where}: ${name} is not a variable ${words[0] === 'docker' ? 'the compose files read' : 'of the config schema'}`).toBe(true)
          }
          const [cmd0, ...args] = words
          if (cmd0 === 'pnpm') {
            const filter = args.indexOf('--filter')
            if (filter >= 0) expect(packageNames, `${b.where}: ${args[filter + 1]}`).toContain(args[filter + 1])
            else if (args[0] && !args[0].startsWith('-')) expect([...rootScripts, ...PNPM_COMMANDS], `${b.where}: pnpm ${args[0]}`).toContain(args[0])
          }
          if (cmd0 === 'docker' && args[0] === 'compose') {
            // `-f FILE` right after `compose` (after a subcommand, `-f` is `--follow`).
            const file = args[1] === '-f' ? args[2] : 'docker-compose.yml'
            expect(existsSync(join(root, file)), `${b.where}: ${file}`).toBe(true)
            // A service named by exec, logs or cp is one of that file's services.
            const sub = args.findIndex((a) => ['exec', 'logs', 'cp'].includes(a))
            const target = sub >= 0 ? args.slice(sub + 1).find((a) => !a.startsWith('-')) : undefined
            if (target) expect(Object.keys(parseYaml(readFileSync(join(root, file), 'utf8')).services), `${b.where}: ${target}`).toContain(target.split(':')[0])
          }
        }
      }
    } else if (b.lang === 'js') {
      const dir = mkdtempSync(join(tmpdir(), 'doc-js-'))
      writeFileSync(join(dir, 'block.mjs'), b.code)
      const check = spawnSync(process.execPath, ['--check', join(dir, 'block.mjs')], { encoding: 'utf8' })
      rmSync(dir, { recursive: true, force: true })
      expect(check.status, check.stderr).toBe(0)
    } else if (b.lang === 'python') {
      const check = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: b.code, encoding: 'utf8' })
      expect(check.status, check.stderr).toBe(0)
      // The same call as the Node example, which runs: the proxy's base URL (OpenAI's SDK with /v1,
      // Anthropic's without), a model the quick start serves.
      expect(b.code).toContain(b.code.includes('from anthropic') ? 'base_url="http://localhost:8001"' : 'base_url="http://localhost:8001/v1"')
      expect(DEFAULT_MODELS).toContain(/model="([^"]+)"/.exec(b.code)![1])
    } else if (b.lang === 'ini' && why.startsWith('fluent bit')) {
      // Fluent Bit's classic format: [SECTION] headers and indented "Key value" lines.
      for (const line of b.code.split('\n').filter((l) => l.trim())) expect(line, b.where).toMatch(/^\[[A-Z]+\]$|^ {4}\w+ +\S/)
      expect(b.code).toMatch(/^\[INPUT\]$/m)
      expect(b.code).toMatch(/^\[OUTPUT\]$/m)
    } else if (b.lang === 'ini') {
      // A systemd unit: its sections, variables the services read, and a program that the build makes.
      expect(b.code).toMatch(/^\[Unit\]$/m)
      expect(b.code).toMatch(/^\[Service\]$/m)
      expect(b.code).toMatch(/^\[Install\]$/m)
      for (const [, name] of b.code.matchAll(/^Environment=([A-Z_][A-Z0-9_]*)=/gm)) expect(configVars, `${b.where}: ${name}`).toContain(name)
      const dir = /^WorkingDirectory=\/opt\/llm-proxy\/(.+)$/m.exec(b.code)![1]
      // Node flags may come first; the program is the last word.
      const program = /^ExecStart=\/usr\/bin\/node (?:--\S+ )*(\S+)$/m.exec(b.code)![1]
      expect(existsSync(join(root, dir, program)), `${b.where}: ${dir}/${program} (after pnpm build)`).toBe(true)
    } else if (b.lang === 'yaml' && why.startsWith('compose override')) {
      // A compose file merged over ours: valid Compose, its proxy variables ones the proxy reads.
      const override = parseYaml(b.code)
      expect(validateCompose(override), JSON.stringify(validateCompose.errors)).toBe(true)
      // (OTEL_* are OpenTelemetry's standard variables, read by its SDK in the proxy.)
      for (const name of Object.keys(override.services?.proxy?.environment ?? {})) if (!name.startsWith('OTEL_')) expect(configVars, name).toContain(name)
    } else if (b.lang === 'yaml' && !why.startsWith('prices file') && !why.startsWith('prometheus')) {
      // Another program's configuration (a log shipper, a collector): valid YAML, a mapping.
      expect(typeof parseYaml(b.code)).toBe('object')
    } else if (b.lang === 'yaml' && why.startsWith('prices file')) {
      // A prices file, read by the proxy's own parser: every entry a rule.
      expect(parsePrices(b.code).length).toBe(Object.keys(parseYaml(b.code)).length)
    } else if (b.lang === 'yaml') {
      // Prometheus: the config promtool accepts, scraping the metrics API's Prometheus endpoint.
      const config = parseYaml(b.code)
      expect(config.scrape_configs[0].metrics_path).toBe('/metrics/prometheus')
      expect(config.scrape_configs[0].static_configs[0].targets).toEqual([`127.0.0.1:${metricsEnvSchema.parse({}).METRICS_PORT}`])
      const dir = mkdtempSync(join(tmpdir(), 'doc-prom-'))
      writeFileSync(join(dir, 'prometheus.yml'), b.code)
      const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' })
      rmSync(dir, { recursive: true, force: true })
      expect(check.error, 'promtool is installed (.ci/run installs it)').toBeUndefined()
      expect(check.status, check.stdout + check.stderr).toBe(0)
    } else if (b.lang === 'nginx' || b.lang === 'caddy') {
      // In front of the proxy's port, streaming unbuffered, braces balanced.
      expect(b.code.split('{').length).toBe(b.code.split('}').length)
      expect(b.code).toContain(`127.0.0.1:${proxyEnvSchema.parse({}).PROXY_PORT}`)
      expect(b.code).toMatch(b.lang === 'nginx' ? /proxy_buffering off;/ : /flush_interval -1/)
    } else {
      expect(b.lang, `${b.where}: a block without a language is a picture, not a command`).toBe('')
      expect(b.marker?.kind).toBe('static')
    }
  })
})

// The Compose Specification's published JSON schema, as the dclint package ships it (draft-07,
// named by an https address Ajv does not know by that name: the reference is dropped).
const { $schema: _meta, ...composeSchema } = JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('dclint/package.json')), 'schemas', 'compose.schema.json'), 'utf8'))
const validateCompose = new Ajv({ strict: false, allErrors: true }).compile(composeSchema)

// --- running them -------------------------------------------------------------------------------

/**
 * A copy of the repository's layout whose build outputs and node_modules are links to the real
 * ones: the commands run there as written (`pnpm --filter … start`, `pnpm bench`), and whatever
 * they write (data/metrics.db, requests.csv, the benchmark results) stays in the copy.
 */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'doc-commands-'))
  for (const f of ['package.json', 'pnpm-workspace.yaml']) copyFileSync(join(root, f), join(dir, f))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  for (const pkg of workspacePackages) {
    mkdirSync(join(dir, pkg), { recursive: true })
    copyFileSync(join(root, pkg, 'package.json'), join(dir, pkg, 'package.json'))
    for (const sub of ['node_modules', 'dist', 'dist-server']) if (existsSync(join(root, pkg, sub))) symlinkSync(join(root, pkg, sub), join(dir, pkg, sub))
  }
  return dir
}

const started: ChildProcess[] = []
/** Each service is its own process group (bash, pnpm, its shell and node): stop them all, then wait. */
const stopServices = () =>
  Promise.all(
    started.splice(0).map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return
      const exited = once(c, 'exit')
      process.kill(-c.pid!, 'SIGTERM')
      await exited
    }),
  )
afterAll(stopServices)

/** Polls until `url` answers 2xx (a server starting up says nothing we could await). */
async function answers(url: string, output: () => string) {
  for (const until = Date.now() + 60_000; ; ) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer:\n${output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('every runnable block works as written against the quick start (simulated backend, the real services)', async () => {
  const cwd = sandbox()
  // The ports of the docs, moved to free ones (other instances may hold the real ones): the numbers
  // in each block are replaced, and the services are told theirs by the variables they read.
  const ports: Record<string, number> = { 8001: await freePort(), 8002: await freePort(), 3000: await freePort(), 11434: await freePort() }
  const moved = (text: string) => text.replace(/\b(8001|8002|3000|11434)\b/g, (p) => String(ports[p]))
  const env: Record<string, string | undefined> = { ...process.env, CI: 'true', NO_COLOR: '1' }
  for (const name of configVars) delete env[name] // the defaults, as on a fresh machine: DB_PATH above all
  Object.assign(env, {
    PROXY_PORT: String(ports[8001]), METRICS_PORT: String(ports[8002]), DASHBOARD_PORT: String(ports[3000]),
    METRICS_API_URL: `http://127.0.0.1:${ports[8002]}`,
  })

  const ran: string[] = []
  let proxyService: ChildProcess | undefined
  try {
    for (const b of blocks) {
      if (b.marker?.kind === 'services') {
        const outputs: string[] = []
        const children = b.code.split('\n').filter((l) => l.trim()).map((line, i) => {
          const child = spawn('bash', ['-c', moved(line)], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
          started.push(child)
          if (line.includes('@llm-proxy/proxy start')) proxyService = child
          outputs[i] = `$ ${line}\n`
          child.stdout!.on('data', (c) => (outputs[i] += c))
          child.stderr!.on('data', (c) => (outputs[i] += c))
          return child
        })
        const exited = Promise.race(children.map((c) => once(c, 'exit').then(() => Promise.reject(new Error(`a service of ${b.where} exited:\n${outputs.join('\n')}`)))))
        await Promise.race([exited, Promise.all(b.marker.ready.map((url) => answers(moved(url), () => `${b.where}\n${outputs.join('\n')}`)))])
        exited.catch(() => {})
        ran.push(b.where)
      } else if (b.marker?.kind === 'run') {
        const args = b.lang === 'js' ? [process.execPath, ['--input-type=module', '-e', moved(b.code)]] : ['bash', ['-e', '-o', 'pipefail', '-c', moved(b.code)]]
        const r = spawnSync(args[0] as string, args[1] as string[], { cwd, env, encoding: 'utf8', timeout: 120_000 })
        const output = `${r.stdout}${r.stderr}`
        expect(r.status, `${b.where} exited ${r.status}:\n${output}`).toBe(0)
        expect(output, `${b.where}: output`).toMatch(b.marker.expect)
        ran.push(b.where)
      }
    }
    expect(ran.length).toBe(blocks.filter((b) => b.marker?.kind === 'run' || b.marker?.kind === 'services').length)

    // The services started one by one share one database at the repository root, so the dashboard
    // shows what the proxy recorded. The proxy is stopped first (SIGTERM stores every pending row),
    // so both reads see the same, final rows.
    expect(proxyService).toBeDefined()
    let said = ''
    const stored = new Promise<void>((resolve) => proxyService!.stdout!.on('data', (c) => (said += c).includes('all rows stored') && resolve()))
    process.kill(-proxyService!.pid!, 'SIGTERM')
    await stored
    expect(existsSync(join(cwd, 'data', 'metrics.db'))).toBe(true)
    expect(existsSync(join(cwd, 'packages', 'proxy', 'data'))).toBe(false)
    expect(existsSync(join(cwd, 'packages', 'metrics-api', 'data'))).toBe(false)
    const viaDashboard = await (await fetch(`http://127.0.0.1:${ports[3000]}/api/metrics`)).json()
    const direct = await (await fetch(`http://127.0.0.1:${ports[8002]}/metrics`)).json()
    expect(viaDashboard.requests.total).toBeGreaterThan(0)
    expect(viaDashboard.requests.total).toBe(direct.requests.total)
    // The README's calls used a model the simulated backend serves: no 404s among them.
    const errors = await (await fetch(`http://127.0.0.1:${ports[8002]}/metrics/requests?limit=500`)).json()
    expect(JSON.stringify(errors)).not.toContain('model_not_found')
  } finally {
    await stopServices()
    rmSync(cwd, { recursive: true, force: true })
  }
}, 300_000)
