import { isValidIBAN } from 'ibantools'
import { findPhoneNumbersInText } from 'libphonenumber-js'
import { isIP } from 'node:net'
import type { RedactionType } from '@llm-proxy/core/contracts'

/** A piece of text that redaction replaces, `[start, end)` in UTF-16 units. */
export interface Span {
  start: number
  end: number
  type: RedactionType
}

type Detector = (text: string) => Span[]

const matches = (text: string, re: RegExp, type: RedactionType, accept: (m: RegExpExecArray) => { start: number; end: number } | null = (m) => ({ start: m.index, end: m.index + m[0].length })): Span[] => {
  const out: Span[] = []
  for (const m of text.matchAll(re)) {
    const at = accept(m as RegExpExecArray)
    if (at) out.push({ ...at, type })
  }
  return out
}

// A private key block; one cut short (no END line) still runs to the end of the text.
const PEM = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g
// header.payload.signature, both JSON objects base64url-encoded (so both start with eyJ).
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g
// Vendors' key formats: OpenAI/Anthropic (sk-), ours (lmp-), GitHub, AWS access key ids, Slack, Google, GitLab, Stripe.
const KEYS = /(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{16,}|lmp-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|(?:AKIA|ASIA)[A-Z0-9]{16}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|[rs]k_live_[A-Za-z0-9]{16,})(?![A-Za-z0-9_-])/g
// The token after `Bearer` (the word stays, so the text still reads).
const BEARER = /\bBearer\s+([A-Za-z0-9._~+/-]{8,}=*)/gi
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g
// 13 to 19 digits, optionally grouped by spaces or dashes, starting like a card network's numbers.
const CARD = /(?<![\d.-])(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6[025]|35)\d(?:[ -]?\d){11,17}(?![\d-]|\.\d)/g
// Two letters, two check digits, then 11 to 30 letters/digits, maybe grouped by spaces.
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g
const IPV4 = /(?<![\w.:])(?:\d{1,3}\.){3}\d{1,3}(?![\w-]|\.\d)/g
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w.]|:[\w:])/g

function luhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

const detectors: Detector[] = [
  (t) => (t.includes('PRIVATE KEY-----') ? matches(t, PEM, 'PRIVATE_KEY') : []),
  (t) => (t.includes('eyJ') ? matches(t, JWT, 'JWT') : []),
  (t) => matches(t, KEYS, 'SECRET'),
  (t) => matches(t, BEARER, 'SECRET', (m) => ({ start: m.index + m[0].length - m[1].length, end: m.index + m[0].length })),
  (t) => (t.includes('@') ? matches(t, EMAIL, 'EMAIL') : []),
  (t) =>
    matches(t, CARD, 'CARD', (m) => {
      const digits = m[0].replace(/[ -]/g, '')
      return digits.length >= 13 && digits.length <= 19 && luhn(digits) ? { start: m.index, end: m.index + m[0].length } : null
    }),
  (t) =>
    matches(t, IBAN, 'IBAN', (m) => {
      // Grouped IBANs may run into a following word: the longest prefix that validates wins.
      const groups = m[0].split(' ')
      for (let n = groups.length; n > 0; n--) {
        const candidate = groups.slice(0, n).join(' ')
        if (isValidIBAN(candidate.replace(/ /g, ''))) return { start: m.index, end: m.index + candidate.length }
      }
      return null
    }),
  (t) => matches(t, IPV4, 'IP', (m) => (isIP(m[0]) === 4 ? { start: m.index, end: m.index + m[0].length } : null)),
  (t) =>
    t.includes(':')
      ? matches(t, IPV6, 'IP', (m) => {
          // `::` alone, or a time like 12:30:45, is not an address worth hiding.
          // A colon ending a sentence's clause (`to 2001:db8::2: then`) is not part of the address.
          const s = m[0].endsWith(':') && !m[0].endsWith('::') ? m[0].slice(0, -1) : m[0]
          if (isIP(s) !== 6 || s.replace(/[^0-9A-Fa-f]/g, '').length < 2 || (s.split(':').length < 4 && !s.includes('::'))) return null
          return { start: m.index, end: m.index + s.length }
        })
      : [],
  (t) => {
    // Phones last among the digit types: a card, IBAN or IP already found wins the overlap.
    if (!/\d{2}/.test(t)) return []
    // Digits glued to letters or dashes (`INV-2024-000123`) are an identifier, not a number to dial.
    return findPhoneNumbersInText(t, 'US')
      .filter((m) => !/[\w-]/.test(t[m.startsAt - 1] ?? '') && !/\w/.test(t[m.endsAt] ?? ''))
      .map((m) => ({ start: m.startsAt, end: m.endsAt, type: 'PHONE' as const }))
  },
]

/** Every span to replace, earliest first; where two overlap, the one found first (by detector order) wins. */
export function findPii(text: string): Span[] {
  const taken: Span[] = []
  for (const detect of detectors) {
    for (const s of detect(text)) {
      if (s.end <= s.start) continue
      if (taken.some((o) => s.start < o.end && o.start < s.end)) continue
      taken.push(s)
    }
  }
  return taken.sort((a, b) => a.start - b.start)
}

/** The text with each span replaced by its typed placeholder (`[EMAIL]`, ...). */
export function redactText(text: string): string {
  // Shorter than any e-mail, phone or key: nothing to find.
  if (text.length < 6) return text
  const spans = findPii(text)
  if (spans.length === 0) return text
  let out = ''
  let at = 0
  for (const s of spans) {
    out += text.slice(at, s.start) + `[${s.type}]`
    at = s.end
  }
  return out + text.slice(at)
}

/** Redacts every string in a JSON value (keys are left alone: they are field names). */
export function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return redactText(v)
  if (Array.isArray(v)) return v.map(redactValue)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = redactValue(x)
    return out
  }
  return v
}
