import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib'
import type { Transform } from 'node:stream'

/** The single content coding of a response, lowercased; null for none or `identity`. */
export function contentEncoding(value: string | string[] | undefined): string | null {
  const v = String(Array.isArray(value) ? value.join(',') : (value ?? '')).trim().toLowerCase()
  return v === '' || v === 'identity' ? null : v
}

/**
 * A decoder for the proxy's copy of a compressed response (the client still gets the original
 * bytes). `deflate` is the zlib format by the standard, but some servers send raw deflate: the
 * first byte tells them apart. Returns null for codings we cannot read (the row then has no tokens).
 */
export function createDecoder(encoding: string): ((first: Buffer) => Transform) | null {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return () => createGunzip()
    case 'br':
      return () => createBrotliDecompress()
    case 'deflate':
      return (first) => ((first[0] & 0x0f) === 8 && ((first[0] << 8) | (first[1] ?? 0)) % 31 === 0 ? createInflate() : createInflateRaw())
    default:
      return null
  }
}
