import { z } from 'zod'
import { IsoTime } from './common.js'

/** A tool call as a person reads it: its arguments joined from the stream's fragments. */
export const CapturedToolCall = z.object({
  id: z.string().nullable(),
  name: z.string().nullable(),
  arguments: z.string(),
})
export type CapturedToolCall = z.infer<typeof CapturedToolCall>

/** One answer (a choice; the Responses API and Anthropic Messages have one, index 0). */
export const CapturedChoice = z.object({
  index: z.number().int(),
  role: z.string().nullable(),
  content: z.string().nullable(),
  /** `reasoning_content` / `reasoning`, Responses reasoning items, Anthropic thinking. */
  reasoning: z.string().nullable(),
  refusal: z.string().nullable(),
  tool_calls: z.array(CapturedToolCall),
  finish_reason: z.string().nullable(),
})
export type CapturedChoice = z.infer<typeof CapturedChoice>

/** The response side: the reassembled answer, or what the client was told when it failed. */
export const CapturedResponse = z.object({
  status: z.number().int().nullable(),
  stream: z.boolean(),
  /** Null for embeddings (their input only is captured) and for failures. */
  choices: z.array(CapturedChoice).nullable(),
  /** The error body of a failed request (or the proxy's own message). */
  error: z.unknown().nullable(),
  /** A body that could not be read as its protocol (plain text, or JSON cut short). */
  text: z.string().nullable(),
  /** Some of it was left out: more than CAPTURE_MAX_BYTES. */
  cut: z.boolean(),
})
export type CapturedResponse = z.infer<typeof CapturedResponse>

export const CapturedRequest = z.object({
  /** The request body as JSON (messages, tools, parameters); a string when it was cut mid-structure or not JSON. */
  body: z.unknown(),
  cut: z.boolean(),
})
export type CapturedRequest = z.infer<typeof CapturedRequest>

/** `GET /metrics/requests/:id/content`: what was captured of one request (CAPTURE, DESIGN.md §8). */
export const CapturedContent = z.object({
  request_id: z.string(),
  /** When the request arrived, as its row says. */
  ts: IsoTime,
  endpoint: z.string(),
  key_id: z.string().nullable(),
  /** `pii`: e-mails, phones, cards, IBANs, IPs and secrets were replaced by typed placeholders. */
  redaction: z.enum(['pii', 'off']),
  request: CapturedRequest,
  response: CapturedResponse,
})
export type CapturedContent = z.infer<typeof CapturedContent>

/** The placeholders redaction writes, for display (the dashboard marks them). */
export const REDACTION_TYPES = ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'IP', 'SECRET', 'JWT', 'PRIVATE_KEY'] as const
export type RedactionType = (typeof REDACTION_TYPES)[number]
