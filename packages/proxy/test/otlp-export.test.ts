// OTEL_EXPORTER_OTLP_ENDPOINT: the GenAI metrics pushed by the OpenTelemetry SDK to a real OTLP/HTTP
// receiver, decoded (JSON and protobuf) and checked against the stored rows.
import { afterEach, describe, expect, test } from 'vitest'
import pino from 'pino'
import { performance } from 'node:perf_hooks'
import { chatBody, freePort, startStack, streamBody, type Stack } from './helpers.js'
import { decodeExport, startOtlpReceiver, type DecodedMetric } from './otlp.js'

// The explicit bucket boundaries of the GenAI semantic conventions, written out from the spec
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/), not taken from our code.
const EXPECTED = {
  'gen_ai.client.operation.duration': { unit: 's', bounds: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] },
  'gen_ai.client.token.usage': { unit: '{token}', bounds: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] },
  'gen_ai.server.time_to_first_token': { unit: 's', bounds: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] },
  'gen_ai.server.time_per_output_token': { unit: 's', bounds: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5] },
} as const

let stack: Stack | null = null
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>> | null = null
afterEach(async () => {
  await stack?.close()
  await receiver?.close()
  stack = receiver = null
})

const sumOf = (values: (number | null)[]) => values.reduce<number>((a, v) => a + (v ?? 0), 0)

describe.each(['http/json', 'http/protobuf'] as const)('OTLP over %s', (protocol) => {
  test('names, units, attributes, bucket boundaries and values match the stored rows', async () => {
    receiver = await startOtlpReceiver()
    stack = await startStack({
      mock: { ttftMs: 30, tokensPerSecond: 400, answerTokens: 12 },
      // A long interval: the one export is the final one, at shutdown.
      events: { config: { otel: { endpoint: `${receiver.url}/`, headers: 'x-collector-auth=t%3D1', protocol, exportIntervalMs: 3_600_000, serviceName: 'proxy-under-test' } } },
    })
    const c = stack.client
    await c.chat.completions.create(chatBody())
    await c.chat.completions.create(chatBody({ model: 'mock-qwen2.5-7b' }))
    for await (const _ of await c.chat.completions.create(streamBody())) void _
    await c.embeddings.create({ model: 'mock-llama-3.2-1b', input: 'one two three' })
    const failed = await c.chat.completions.create(chatBody(), { headers: { 'x-mock-scenario': 'error-500' } }).catch((e) => e)
    expect(failed.status).toBe(500)

    const rows = (await stack.rows.until(5)).slice()
    await stack.stored()
    expect(receiver.received).toHaveLength(0)
    // Shutdown: the SDK exports what it holds before the proxy stops.
    await stack.app.close()
    const exports = await receiver.until(1)
    const last = exports.at(-1)!
    expect(last.path).toBe('/v1/metrics')
    expect(last.headers['x-collector-auth']).toBe('t=1')
    expect(last.headers['content-type']).toBe(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf')

    const decoded = decodeExport(last)
    expect(decoded.resource['service.name']).toBe('proxy-under-test')
    const metric = (name: keyof typeof EXPECTED): DecodedMetric => {
      const m = decoded.metrics.find((x) => x.name === name)
      expect(m, `${name} exported`).toBeDefined()
      expect(m!.unit).toBe(EXPECTED[name].unit)
      for (const p of m!.points) {
        expect(p.explicitBounds).toEqual(EXPECTED[name].bounds)
        expect(p.bucketCounts).toHaveLength(EXPECTED[name].bounds.length + 1)
        expect(sumOf(p.bucketCounts)).toBe(p.count)
      }
      return m!
    }

    const backendPort = stack.backend!.port
    const duration = metric('gen_ai.client.operation.duration')
    expect(sumOf(duration.points.map((p) => p.count))).toBe(rows.length)
    expect(sumOf(duration.points.map((p) => p.sum))).toBeCloseTo(sumOf(rows.map((r) => r.total_ms)) / 1000, 6)
    for (const p of duration.points) {
      expect(p.attributes).toMatchObject({ 'gen_ai.provider.name': 'openai', 'gen_ai.system': 'openai', 'server.address': '127.0.0.1', 'server.port': backendPort })
    }
    // One point per distinct attribute set: each row's attributes are found, with its count.
    for (const row of rows) {
      const expected: Record<string, unknown> = {
        'gen_ai.operation.name': row.endpoint === '/v1/embeddings' ? 'embeddings' : 'chat',
        'gen_ai.request.model': row.model_requested,
      }
      if (row.model !== null) expected['gen_ai.response.model'] = row.model
      const point = duration.points.find((p) => Object.entries(expected).every(([k, v]) => p.attributes[k] === v) && (row.outcome === 'success') === !('error.type' in p.attributes))
      expect(point, JSON.stringify(expected)).toBeDefined()
      if (row.outcome !== 'success') expect(point!.attributes['error.type']).toBe(row.error_type)
    }
    const failedRow = rows.find((r) => r.outcome !== 'success')!
    expect(failedRow.status_code).toBe(500)

    const tokens = metric('gen_ai.client.token.usage')
    const byType = (t: string) => tokens.points.filter((p) => p.attributes['gen_ai.token.type'] === t)
    expect(sumOf(byType('input').map((p) => p.sum))).toBe(sumOf(rows.map((r) => r.prompt_tokens)))
    expect(sumOf(byType('output').map((p) => p.sum))).toBe(sumOf(rows.map((r) => r.completion_tokens)))
    expect(sumOf(byType('input').map((p) => p.sum))).toBeGreaterThan(0)
    expect(sumOf(byType('output').map((p) => p.sum))).toBeGreaterThan(0)
    expect(tokens.points.every((p) => p.attributes['gen_ai.token.type'] === 'input' || p.attributes['gen_ai.token.type'] === 'output')).toBe(true)

    const streamed = rows.find((r) => r.stream)!
    const ttft = metric('gen_ai.server.time_to_first_token')
    expect(ttft.points).toHaveLength(1)
    expect(ttft.points[0].count).toBe(1)
    expect(ttft.points[0].sum).toBeCloseTo(streamed.ttft_ms! / 1000, 6)
    expect(ttft.points[0].attributes['gen_ai.operation.name']).toBe('chat')
    const tpot = metric('gen_ai.server.time_per_output_token')
    expect(tpot.points[0].count).toBe(1)
    expect(tpot.points[0].sum).toBeCloseTo(streamed.tpot_ms! / 1000, 6)
    // The client's key is not part of any export.
    expect(last.body.toString('latin1')).not.toContain('sk-client-secret')
  })
})

test('with no output configured there are no event outputs and nothing is exported', async () => {
  receiver = await startOtlpReceiver()
  stack = await startStack({ events: { config: { log: undefined } } })
  expect(stack.events).toBeNull()
  await stack.client.chat.completions.create(chatBody())
  await stack.stored()
  await stack.app.close()
  expect(receiver.received).toHaveLength(0)
})

test('a collector that is down: requests and rows are unaffected, the failure is logged, shutdown stays bounded', async () => {
  const port = await freePort()
  let warned!: (line: any) => void
  const warning = new Promise<any>((r) => (warned = r))
  const logger = pino({ level: 'warn' }, { write: (l: string) => { const line = JSON.parse(l); if (line.output === 'otlp') warned(line) } })
  stack = await startStack({ events: { config: { otel: { endpoint: `http://127.0.0.1:${port}`, headers: 'authorization=Bearer%20collector-secret', protocol: 'http/protobuf', exportIntervalMs: 100, serviceName: 'p' } }, logger } })
  for (let i = 0; i < 3; i++) await stack.client.chat.completions.create(chatBody())
  expect(await stack.stored()).toHaveLength(3)
  const line = await warning
  expect(line.msg).toMatch(/^OpenTelemetry: /)
  expect(JSON.stringify(line)).not.toContain('collector-secret')
  const t0 = performance.now()
  await stack.app.close()
  expect(performance.now() - t0).toBeLessThan(7_000)
})
