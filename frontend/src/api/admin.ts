import { ApiKeyView, CreatedKey, KeyList, KeyUsage, type CreateKeyBody, type UpdateKeyBody } from '@llm-proxy/core/contracts'
import type { z } from 'zod'

/** A refused or failed call to the dashboard server's key management routes. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message)
  }
}

/** The dashboard server forwards these to the proxy's admin API for a signed-in session (cookie). */
async function call<S extends z.ZodType>(method: string, path: string, schema: S | null, body?: unknown): Promise<z.infer<S>> {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new AdminError(0, 'unreachable', 'The dashboard server could not be reached.')
  }
  let data: unknown = null
  try {
    if (res.status !== 204) data = await res.json()
  } catch {
    // Not JSON: reported below with the status.
  }
  const error = (data as { error?: { message?: string; code?: string } } | null)?.error
  if (!res.ok) throw new AdminError(res.status, error?.code, error?.message ?? `The dashboard server answered ${res.status} for ${method} ${path}.`)
  if (!schema) return undefined as z.infer<S>
  const parsed = schema.safeParse(data)
  if (!parsed.success) throw new AdminError(res.status, 'invalid', `Unexpected answer from ${path}: ${parsed.error.issues[0]?.message}`)
  return parsed.data
}

const one = (id: string) => `/admin/keys/${encodeURIComponent(id)}`
export const listKeys = () => call('GET', '/admin/keys', KeyList)
export const createKey = (body: CreateKeyBody) => call('POST', '/admin/keys', CreatedKey, body)
export const updateKey = (id: string, body: UpdateKeyBody) => call('PATCH', one(id), ApiKeyView, body)
export const rotateKey = (id: string) => call('POST', `${one(id)}/rotate`, CreatedKey, {})
export const revokeKey = (id: string) => call('POST', `${one(id)}/revoke`, ApiKeyView, {})
export const deleteKey = (id: string) => call('DELETE', one(id), null)
export const keyUsage = (id: string) => call('GET', `${one(id)}/usage`, KeyUsage)
