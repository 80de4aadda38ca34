import type { z } from 'zod'
import { i18n } from '../i18n'

/** Why a request to the metrics API failed, in words a person can act on. */
export class ApiFailure extends Error {
  constructor(
    readonly kind: 'unreachable' | 'api' | 'invalid',
    message: string,
    readonly url: string,
  ) {
    super(message)
  }
}

export type Params = Record<string, string | number | boolean | undefined | null>

export function apiUrl(path: string, params: Params = {}): string {
  const qs = new URLSearchParams()
  // '' is a value (`model=` asks for the requests without a model); undefined and null leave the parameter out.
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) qs.set(k, String(v))
  const q = qs.toString()
  return `/api${path}${q ? `?${q}` : ''}`
}

/** GETs a metrics API endpoint through the dashboard server and parses it with its contract. */
export async function getJson<S extends z.ZodType>(path: string, params: Params, schema: S, signal?: AbortSignal): Promise<z.infer<S>> {
  const url = apiUrl(path, params)
  let res: Response
  try {
    res = await fetch(url, { signal, headers: { accept: 'application/json' } })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiFailure('unreachable', i18n.t('errors.serverUnreachable', { url }), url)
  }
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    // Not JSON: reported below with the status.
  }
  const error = (body as { error?: { message?: string; code?: string } } | null)?.error
  if (!res.ok) {
    if (res.status === 502 || res.status === 504 || error?.code === 'metrics_api_unreachable') {
      throw new ApiFailure('unreachable', error?.message ?? i18n.t('errors.apiUnreachable', { url }), url)
    }
    throw new ApiFailure('api', error?.message ?? i18n.t('errors.apiStatus', { status: res.status, url }), url)
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw new ApiFailure('invalid', i18n.t('errors.invalidAnswer', { url, detail: parsed.error.issues[0]?.message }), url)
  return parsed.data
}
