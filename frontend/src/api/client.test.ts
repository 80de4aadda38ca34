import { Summary } from '@llm-proxy/core/contracts'
import { afterEach, expect, test, vi } from 'vitest'
import { summary, stubFetch } from '../test/fixtures'
import { ApiFailure, apiUrl, getJson } from './client'

afterEach(() => vi.unstubAllGlobals())

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

async function failure(p: Promise<unknown>): Promise<ApiFailure> {
  const err = await p.then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(ApiFailure)
  return err as ApiFailure
}

test('query strings leave out empty filters', () => {
  expect(apiUrl('/metrics', { model: 'llama', stream: undefined, user: null, start: 5 })).toBe('/api/metrics?model=llama&start=5')
  // An empty model is a value: the requests that named none.
  expect(apiUrl('/metrics', { model: '' })).toBe('/api/metrics?model=')
  expect(apiUrl('/metrics/models')).toBe('/api/metrics/models')
})

test('a valid answer is parsed with its contract', async () => {
  const { fetch, calls } = stubFetch(() => summary({ total: 7, success: 6 }))
  vi.stubGlobal('fetch', fetch)
  const s = await getJson('/metrics', { model: 'm' }, Summary)
  expect(s.requests.total).toBe(7)
  expect(calls[0].pathname + calls[0].search).toBe('/api/metrics?model=m')
})

test('an answer of the wrong shape is reported, not shown', async () => {
  vi.stubGlobal('fetch', stubFetch(() => ({ ...summary(), requests: { total: 'many' } })).fetch)
  const err = await failure(getJson('/metrics', {}, Summary))
  expect(err.kind).toBe('invalid')
  expect(err.message).toContain('/api/metrics')
})

test("the API's own error message is passed on", async () => {
  const body = { error: { message: "Invalid 'start': not a time", type: 'invalid_request_error', param: 'start', code: 'invalid_value' } }
  vi.stubGlobal('fetch', stubFetch(() => json(400, body)).fetch)
  const err = await failure(getJson('/metrics', { start: 'x' }, Summary))
  expect(err.kind).toBe('api')
  expect(err.message).toBe("Invalid 'start': not a time")
})

test('the server saying the metrics API is unreachable, or no server at all, is "unreachable"', async () => {
  const body = { error: { message: 'The metrics API at http://127.0.0.1:8002 could not be reached (ECONNREFUSED).', type: 'upstream_error', param: null, code: 'metrics_api_unreachable' } }
  vi.stubGlobal('fetch', stubFetch(() => json(502, body)).fetch)
  const upstream = await failure(getJson('/metrics', {}, Summary))
  expect(upstream.kind).toBe('unreachable')
  expect(upstream.message).toContain('http://127.0.0.1:8002')

  vi.stubGlobal('fetch', stubFetch(() => Promise.reject(new TypeError('fetch failed'))).fetch)
  const down = await failure(getJson('/metrics', {}, Summary))
  expect(down.kind).toBe('unreachable')
  expect(down.message).toContain('/api/metrics')
})
