import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A real OTLP/HTTP metrics receiver for the tests, and a decoder of what it receives: the OTLP JSON
 * encoding, or protobuf read with a small wire-format reader (field numbers from
 * opentelemetry-proto's metrics/v1 and common/v1). Both decode to the same plain shape.
 */
export interface DecodedPoint {
  attributes: Record<string, string | number | boolean>
  count: number
  sum: number
  bucketCounts: number[]
  explicitBounds: number[]
}
export interface DecodedMetric {
  name: string
  unit: string
  description: string
  /** 1 = delta, 2 = cumulative. */
  temporality: number
  points: DecodedPoint[]
}
export interface DecodedExport {
  resource: Record<string, string | number | boolean>
  metrics: DecodedMetric[]
}
export interface ReceivedExport {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

export async function startOtlpReceiver() {
  const received: ReceivedExport[] = []
  const waiters: (() => void)[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) })
      // An empty ExportMetricsServiceResponse in the encoding of the request.
      const json = String(req.headers['content-type']).includes('json')
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
      res.end(json ? '{}' : Buffer.alloc(0))
      for (const w of waiters.splice(0)) w()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    /** Resolves once at least `n` exports have arrived. */
    async until(n: number) {
      while (received.length < n) await new Promise<void>((r) => waiters.push(r))
      return received
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  }
}

export function decodeExport(e: ReceivedExport): DecodedExport {
  const type = String(e.headers['content-type'])
  if (type.startsWith('application/json')) return decodeJson(JSON.parse(e.body.toString('utf8')))
  if (type.startsWith('application/x-protobuf')) return decodeProtobuf(e.body)
  throw new Error(`unexpected content-type ${type}`)
}

// ---- JSON (OTLP/HTTP JSON encoding: lowerCamelCase fields, 64-bit integers may be strings) ----

type Json = any
const jsonValue = (v: Json): string | number | boolean =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue ?? v.boolValue)
const jsonAttrs = (attrs: Json[] = []) => Object.fromEntries(attrs.map((a) => [a.key, jsonValue(a.value)]))

function decodeJson(body: Json): DecodedExport {
  const rm = body.resourceMetrics[0]
  return {
    resource: jsonAttrs(rm.resource?.attributes),
    metrics: rm.scopeMetrics.flatMap((sm: Json) =>
      sm.metrics.map((m: Json) => ({
        name: m.name,
        unit: m.unit ?? '',
        description: m.description ?? '',
        temporality: m.histogram?.aggregationTemporality,
        points: (m.histogram?.dataPoints ?? []).map((p: Json) => ({
          attributes: jsonAttrs(p.attributes),
          count: Number(p.count),
          sum: Number(p.sum),
          bucketCounts: (p.bucketCounts ?? []).map(Number),
          explicitBounds: (p.explicitBounds ?? []).map(Number),
        })),
      })),
    ),
  }
}

// ---- protobuf wire format ----

type Field = { no: number; wire: number; varint?: bigint; bytes?: Buffer; fixed?: Buffer }

function readFields(buf: Buffer): Field[] {
  const out: Field[] = []
  let i = 0
  const varint = () => {
    let v = 0n
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++]
      v |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return v
    }
  }
  while (i < buf.length) {
    const key = Number(varint())
    const no = key >> 3
    const wire = key & 7
    if (wire === 0) out.push({ no, wire, varint: varint() })
    else if (wire === 1) out.push({ no, wire, fixed: buf.subarray(i, (i += 8)) })
    else if (wire === 5) out.push({ no, wire, fixed: buf.subarray(i, (i += 4)) })
    else if (wire === 2) {
      const len = Number(varint())
      out.push({ no, wire, bytes: buf.subarray(i, (i += len)) })
    } else throw new Error(`wire type ${wire} at ${i}`)
  }
  return out
}
const all = (fields: Field[], no: number) => fields.filter((f) => f.no === no)
const one = (fields: Field[], no: number) => fields.find((f) => f.no === no)
const str = (f: Field | undefined) => f?.bytes?.toString('utf8') ?? ''
const fixed64 = (f: Field | undefined) => (f?.fixed ? Number(f.fixed.readBigUInt64LE()) : 0)
const double = (f: Field | undefined) => (f?.fixed ? f.fixed.readDoubleLE() : 0)
/** A packed repeated fixed64/double field (or, as the spec allows, one element per field). */
function packed(fields: Field[], no: number, read: (b: Buffer, at: number) => number): number[] {
  const out: number[] = []
  for (const f of all(fields, no)) {
    const b = f.bytes ?? f.fixed!
    for (let at = 0; at < b.length; at += 8) out.push(read(b, at))
  }
  return out
}

function anyValue(buf: Buffer): string | number | boolean {
  const f = readFields(buf)[0]
  if (f.no === 1) return str(f)
  if (f.no === 2) return f.varint === 1n
  if (f.no === 3) return Number(BigInt.asIntN(64, f.varint!))
  if (f.no === 4) return double(f)
  throw new Error(`AnyValue field ${f.no}`)
}
const pbAttrs = (fields: Field[]) =>
  Object.fromEntries(fields.map((kv) => readFields(kv.bytes!)).map((kv) => [str(one(kv, 1)), anyValue(one(kv, 2)!.bytes!)]))

function decodeProtobuf(body: Buffer): DecodedExport {
  const rm = readFields(one(readFields(body), 1)!.bytes!) // ExportMetricsServiceRequest.resource_metrics
  const resource = readFields(one(rm, 1)!.bytes!) // ResourceMetrics.resource
  return {
    resource: pbAttrs(all(resource, 1)),
    metrics: all(rm, 2).flatMap((sm) =>
      all(readFields(sm.bytes!), 2).map((mf) => {
        const m = readFields(mf.bytes!)
        const h = readFields(one(m, 9)?.bytes ?? Buffer.alloc(0)) // Metric.histogram
        return {
          name: str(one(m, 1)),
          description: str(one(m, 2)),
          unit: str(one(m, 3)),
          temporality: Number(one(h, 2)?.varint ?? 0),
          points: all(h, 1).map((pf) => {
            const p = readFields(pf.bytes!)
            return {
              attributes: pbAttrs(all(p, 9)),
              count: fixed64(one(p, 4)),
              sum: double(one(p, 5)),
              bucketCounts: packed(p, 6, (b, at) => Number(b.readBigUInt64LE(at))),
              explicitBounds: packed(p, 7, (b, at) => b.readDoubleLE(at)),
            }
          }),
        }
      }),
    ),
  }
}
