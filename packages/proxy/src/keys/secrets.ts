import { createCipheriv, createDecipheriv, createHash, hash, randomBytes } from 'node:crypto'

/** A new key: `lmp-` and 32 random bytes, base64url (43 characters). */
export const newSecret = () => `lmp-${randomBytes(32).toString('base64url')}`

/** Keys are looked up and stored by this alone. */
// One-shot hash: every keyed request hashes its secret, and this skips a Hash object per call.
export const hashSecret = (secret: string) => hash('sha256', secret, 'hex')

/** Enough to recognise a key in a list, not to use it: `lmp-AbCd…WxYz`. */
export const displayOf = (secret: string) => `${secret.slice(0, 8)}…${secret.slice(-4)}`

export const newKeyId = () => `key_${randomBytes(9).toString('base64url')}`

/** The secret a client sent: `Authorization: Bearer …`, or `x-api-key` (Anthropic-style clients). */
export function presentedSecret(headers: Record<string, string | string[] | undefined>): string | null {
  const auth = headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth)
    if (m) return m[1]
  }
  const x = headers['x-api-key']
  return typeof x === 'string' && x.trim() ? x.trim() : null
}

const keyOf = (secretKey: string) => createHash('sha256').update(`llm-proxy:${secretKey}`).digest()

/** AES-256-GCM with a key derived from SECRET_KEY; base64 of iv | tag | ciphertext. */
export function encrypt(plain: string, secretKey: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyOf(secretKey), iv)
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

export function decrypt(sealed: string, secretKey: string): string {
  const raw = Buffer.from(sealed, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', keyOf(secretKey), raw.subarray(0, 12))
  decipher.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
}

/**
 * Whether two strings are equal, in a time that depends on their length only: a connection can carry
 * requests of several clients (a load balancer's pool), so how far one secret matches another
 * must not show in the timing.
 */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** Compares a bearer header with the expected token in constant time. */
export const bearerMatches = (header: string | undefined, token: string): boolean => sameSecret(header ?? '', `Bearer ${token}`)
