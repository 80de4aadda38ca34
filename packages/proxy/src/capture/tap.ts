import type { CaptureMode } from '@llm-proxy/core'
import { StringDecoder } from 'node:string_decoder'
import type { Protocol } from '../metering/usage.js'
import { StreamAssembler } from './assemble.js'

/** Extra text kept beyond CAPTURE_MAX_BYTES until redaction, so a secret at the cut is still recognised whole. */
export const REDACTION_MARGIN = 4096
/** A stream's raw bytes are handed to the assembler in batches of at most this (and 4 × CAPTURE_MAX_BYTES + 4 KB). */
const STREAM_BATCH = 64 * 1024

/**
 * A copy of one captured request: a reference to its body (already in memory) and its response,
 * bounded: a JSON body up to 4 × CAPTURE_MAX_BYTES raw, a stream reassembled as it goes (in batches of
 * at most 4 × CAPTURE_MAX_BYTES + 4 KB, on a later turn of the event loop) so only its text is held, up
 * to CAPTURE_MAX_BYTES plus a margin.
 * Exists only for requests whose capture policy is not `off`.
 */
export class CaptureTap {
  request: Buffer | null = null
  status: number | null = null
  eventStream = false
  /** The response body's bytes were more than the bound; the rest was not kept. */
  truncated = false
  /** The proxy could not read the response (a content coding it does not know). */
  unreadable = false
  private chunks: Buffer[] = []
  private size = 0
  private assembler: StreamAssembler | null = null
  private decoder: StringDecoder | null = null
  private scheduled = false

  constructor(
    readonly mode: Exclude<CaptureMode, 'off'>,
    readonly maxBytes: number,
    readonly protocol: Protocol,
  ) {}

  /** The response began: its status, and whether it is an event stream. */
  begin(status: number, eventStream: boolean): void {
    this.status = status
    this.eventStream = eventStream
    if (eventStream) {
      this.assembler = new StreamAssembler(this.protocol, this.maxBytes + REDACTION_MARGIN)
      this.decoder = new StringDecoder('utf8')
    }
  }

  push(chunk: Buffer): void {
    if (this.assembler !== null) {
      this.chunks.push(chunk)
      this.size += chunk.length
      if (this.size >= Math.min(STREAM_BATCH, 4 * this.maxBytes + 4096) && !this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.feed())
      }
      return
    }
    const room = 4 * this.maxBytes - this.size
    if (room <= 0) {
      this.truncated = true
      return
    }
    if (chunk.length > room) this.truncated = true
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk
    this.chunks.push(kept)
    this.size += kept.length
  }

  /** Parses what a stream has sent so far (off the request's own path). */
  private feed(): void {
    this.scheduled = false
    if (this.assembler === null || this.chunks.length === 0) return
    const text = this.chunks.map((c) => this.decoder!.write(c)).join('')
    this.chunks = []
    this.size = 0
    this.assembler.push(text)
  }

  /** After the response ended: the stream's assembler, fed the rest. */
  stream(): StreamAssembler | null {
    this.feed()
    if (this.assembler !== null) this.assembler.push(this.decoder!.end())
    return this.assembler
  }

  /** Bytes this tap holds (the request body is counted: the queue keeps it alive). */
  get heldBytes(): number {
    return (this.request?.length ?? 0) + this.size
  }

  /** After the response ended: a non-stream body's bytes. */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)
  }
}
