/** `[image: 123 KB]`: the size of the decoded image, so a reader knows one was there. */
export const imagePlaceholder = (base64Length: number) => `[image: ${Math.max(1, Math.round((base64Length * 3) / 4 / 1024))} KB]`

const DATA_URL = /^data:[\w.+/-]*(?:;[\w=.+-]+)*;base64,/i

/**
 * Replaces base64 images with a placeholder: data: URLs (OpenAI `image_url`, Responses
 * `input_image`) and Anthropic's `{ type: 'base64', data }` sources. Returns a new value.
 */
export function replaceImages(v: unknown): unknown {
  if (typeof v === 'string') {
    const m = v.length > 64 ? DATA_URL.exec(v) : null
    return m ? imagePlaceholder(v.length - m[0].length) : v
  }
  if (Array.isArray(v)) return v.map(replaceImages)
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(o)) {
      out[k] = k === 'data' && o.type === 'base64' && typeof x === 'string' ? imagePlaceholder(x.length) : replaceImages(x)
    }
    return out
  }
  return v
}
