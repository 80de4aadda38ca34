// Reading a few fields of JSON text without parsing it: the meters do it once per SSE event, and
// on the edges of answers too large to parse whole.

/** Index just past `"name":` and its spaces for a key whose closing quote ends at `at + key.length`; -1 when not a key. */
function afterKey(text: string, key: string, at: number): number {
  if (text.charCodeAt(at - 1) !== 0x22 /* " */) return -1
  let i = at + key.length
  while (text.charCodeAt(i) === 0x20) i++
  if (text.charCodeAt(i) !== 0x3a /* : */) return -1
  i++
  while (text.charCodeAt(i) === 0x20) i++
  return i
}

/**
 * Index just past `"name":` and any whitespace, or -1. `key` is the name with its closing quote
 * only (`content"`): a search led by a letter skips JSON's many quotes, 2-7× faster per event than
 * one led by `"`; the opening quote is checked where it matches. Keys cannot occur unescaped inside
 * JSON strings.
 */
export function valueIndex(text: string, key: string, from = 0): number {
  for (let at = text.indexOf(key, from); at !== -1; at = text.indexOf(key, at + key.length)) {
    const i = afterKey(text, key, at)
    if (i !== -1) return i
  }
  return -1
}

/** The same, searching from the end: the value of the last `key`, or -1. */
export function lastValueIndex(text: string, key: string): number {
  for (let at = text.lastIndexOf(key); at > 0; at = text.lastIndexOf(key, at - 1)) {
    const i = afterKey(text, key, at)
    if (i !== -1) return i
  }
  return -1
}

export function hasObjectField(text: string, key: string): boolean {
  const i = valueIndex(text, key)
  return i !== -1 && text.charCodeAt(i) === 0x7b /* { */
}

/**
 * A copy of `s` that does not keep alive the text it was cut from. V8 makes a slice of 13 or more
 * characters a view on its parent: a row holding the model name read from an SSE event kept the
 * whole socket read it came in (every event of it) until the row's batch was written, 1.5–2.5 KB
 * promoted per stream (`bench/promotion.mjs --stream`). Prepending a character makes a new
 * string, and slicing that flattens it into a fresh copy; for what a row keeps, not per event.
 */
export const detached = <T extends string | null>(s: T): T => (s === null ? s : (' ' + s).slice(1)) as T

/** The non-empty string starting at `i` (an opening quote), or null. */
function stringAt(text: string, i: number): string | null {
  if (i === -1 || text.charCodeAt(i) !== 0x22 /* " */) return null
  const end = text.indexOf('"', i + 1)
  return end > i + 1 ? text.slice(i + 1, end) : null
}

/** A non-empty string value for `key` (first occurrence), or null. */
export function readStringField(text: string, key: string): string | null {
  return stringAt(text, valueIndex(text, key))
}

/** A non-empty string value for `key` (last occurrence), or null. */
export function lastStringField(text: string, key: string): string | null {
  return stringAt(text, lastValueIndex(text, key))
}

export function hasNonEmptyString(text: string, key: string): boolean {
  for (let from = 0; ; ) {
    const i = valueIndex(text, key, from)
    if (i === -1) return false
    if (text.charCodeAt(i) === 0x22 && text.charCodeAt(i + 1) !== 0x22) return true
    from = i
  }
}
