import { GEN_AI_METRICS, GEN_AI_OPERATION, type RequestRow } from '@llm-proxy/core'
import type { Attributes, Histogram } from '@opentelemetry/api'
import type { FastifyBaseLogger } from 'fastify'

export interface OtelOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; `/v1/metrics` is appended (OTLP spec). */
  endpoint: string
  protocol: 'http/protobuf' | 'http/json'
  /** OTEL_EXPORTER_OTLP_HEADERS: `key=value,key2=value2`, values URL-encoded. Never logged. */
  headers?: string
  exportIntervalMs: number
  serviceName: string
  /** The backend the proxy forwards to: `server.address`/`server.port` and the provider name. */
  backendUrl: string
  logger: FastifyBaseLogger
}

export interface OtelMetrics {
  record(rows: RequestRow[]): void
  /** Exports what was recorded since the last export, then stops. */
  close(): Promise<void>
}

/** `gen_ai.provider.name` by the backend's host; an OpenAI-compatible server speaks `openai`. */
const PROVIDERS: [RegExp, string][] = [
  [/(^|\.)openai\.azure\.com$/, 'azure.ai.openai'],
  [/(^|\.)anthropic\.com$/, 'anthropic'],
  [/(^|\.)mistral\.ai$/, 'mistral_ai'],
  [/(^|\.)groq\.com$/, 'groq'],
  [/(^|\.)deepseek\.com$/, 'deepseek'],
  [/(^|\.)x\.ai$/, 'x_ai'],
  [/(^|\.)perplexity\.ai$/, 'perplexity'],
  [/^generativelanguage\.googleapis\.com$/, 'gcp.gemini'],
]
export function providerName(host: string): string {
  return PROVIDERS.find(([re]) => re.test(host))?.[1] ?? 'openai'
}

/** OTEL_EXPORTER_OTLP_HEADERS as the spec defines it (W3C baggage-like, URL-encoded values). */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=')
    if (at <= 0) continue
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return headers
}

/**
 * The OpenTelemetry GenAI metrics of DESIGN.md §9, pushed over OTLP/HTTP by the official SDK. The SDK
 * is imported here, on demand: a proxy without OTEL_EXPORTER_OTLP_ENDPOINT never loads it.
 */
export async function startOtelMetrics(o: OtelOptions): Promise<OtelMetrics> {
  const [api, sdk, resources, exporterModule] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/resources'),
    o.protocol === 'http/json' ? import('@opentelemetry/exporter-metrics-otlp-http') : import('@opentelemetry/exporter-metrics-otlp-proto'),
  ])

  // Export failures (a collector down, say) reach the log as warnings, not silence. Once is enough to
  // see it: the SDK reports every failed interval.
  let lastWarn = 0
  const warn = (message: string) => {
    if (Date.now() - lastWarn < 60_000) return
    lastWarn = Date.now()
    o.logger.warn({ output: 'otlp' }, `OpenTelemetry: ${message}`)
  }
  const noop = () => {}
  api.diag.setLogger({ error: warn, warn, info: noop, debug: noop, verbose: noop }, api.DiagLogLevel.WARN)

  const url = `${o.endpoint.replace(/\/+$/, '')}/v1/metrics`
  const exporter = new exporterModule.OTLPMetricExporter({ url, headers: parseOtlpHeaders(o.headers) })
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': o.serviceName }))
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, as every SDK reads them.
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const reader = new sdk.PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: o.exportIntervalMs,
    exportTimeoutMillis: Math.min(30_000, o.exportIntervalMs),
  })
  const provider = new sdk.MeterProvider({ resource, readers: [reader] })
  const meter = provider.getMeter('llm-metrics-proxy')

  const histogram = (m: (typeof GEN_AI_METRICS)[keyof typeof GEN_AI_METRICS]): Histogram =>
    meter.createHistogram(m.name, { unit: m.unit, description: m.description, advice: { explicitBucketBoundaries: [...m.buckets] } })
  const duration = histogram(GEN_AI_METRICS.operationDuration)
  const tokens = histogram(GEN_AI_METRICS.tokenUsage)
  const ttft = histogram(GEN_AI_METRICS.timeToFirstToken)
  const tpot = histogram(GEN_AI_METRICS.timePerOutputToken)

  const backend = new URL(o.backendUrl)
  const provider_ = providerName(backend.hostname)
  const server: Attributes = {
    'server.address': backend.hostname,
    'server.port': Number(backend.port || (backend.protocol === 'https:' ? 443 : 80)),
  }

  return {
    record(rows) {
      for (const row of rows) {
        const a: Attributes = {
          'gen_ai.operation.name': GEN_AI_OPERATION[row.endpoint] ?? row.endpoint,
          'gen_ai.provider.name': provider_,
          // The attribute's name before semantic conventions 1.37, still what many backends chart.
          'gen_ai.system': provider_,
          ...server,
        }
        if (row.model_requested !== null) a['gen_ai.request.model'] = row.model_requested
        if (row.model !== null) a['gen_ai.response.model'] = row.model
        if (row.outcome !== 'success') a['error.type'] = row.error_type ?? row.outcome
        duration.record(row.total_ms / 1000, a)
        if (row.prompt_tokens !== null) tokens.record(row.prompt_tokens, { ...a, 'gen_ai.token.type': 'input' })
        if (row.completion_tokens !== null) tokens.record(row.completion_tokens, { ...a, 'gen_ai.token.type': 'output' })
        if (row.outcome === 'success') {
          if (row.ttft_ms !== null) ttft.record(row.ttft_ms / 1000, a)
          if (row.tpot_ms !== null) tpot.record(row.tpot_ms / 1000, a)
        }
      }
    },
    async close() {
      // One last export of what was recorded since the previous one, bounded: a collector that does
      // not answer must not hold the shutdown.
      await provider.shutdown({ timeoutMillis: 5_000 }).catch((err: Error) => o.logger.warn({ output: 'otlp', err: { message: err.message } }, 'OpenTelemetry: the last export failed'))
      api.diag.disable()
    },
  }
}
