import { CAPTURE_SQL } from '@llm-proxy/storage'
import { CapturedContent } from '@llm-proxy/core/contracts'
import { afterEach, expect, test } from 'vitest'
import { row, setup } from './helpers.js'

let s: ReturnType<typeof setup> | null = null
afterEach(async () => {
  await s?.close()
  s = null
})

const stored = (id: string) => ({
  request_id: id, ts: Date.UTC(2026, 0, 10, 12), endpoint: '/v1/chat/completions', key_id: null, redaction: 'pii',
  request: JSON.stringify({ body: { model: 'm1', messages: [{ role: 'user', content: 'mail [EMAIL]' }] }, cut: false }),
  response: JSON.stringify({ status: 200, stream: false, choices: [{ index: 0, role: 'assistant', content: 'Done.', reasoning: null, refusal: null, tool_calls: [], finish_reason: 'stop' }], error: null, text: null, cut: false }),
})

test('GET /metrics/requests/:id/content returns what was captured, in the contract shape, behind the token', async () => {
  s = setup({ apiToken: 'a-token-of-16-chars-or-more' })
  const r = row()
  await s.insert([r])
  await s.exec(CAPTURE_SQL.insert, stored(r.id))
  const auth = { authorization: 'Bearer a-token-of-16-chars-or-more' }
  expect((await s.get(`/metrics/requests/${r.id}/content`)).status).toBe(401)
  const res = await s.get(`/metrics/requests/${r.id}/content`, auth)
  expect(res.status).toBe(200)
  const content = CapturedContent.parse(res.body)
  expect(content).toMatchObject({ request_id: r.id, ts: '2026-01-10T12:00:00.000Z', redaction: 'pii', request: { body: { messages: [{ content: 'mail [EMAIL]' }] } } })
  const missing = await s.get('/metrics/requests/nope/content', auth)
  expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found', param: 'id', type: 'invalid_request_error' } } })
})

test('a database from before captures (schema 7, no table) answers 404, not 500', async () => {
  s = setup()
  const r = row()
  await s.insert([r])
  await s.exec('DROP TABLE captures')
  await s.exec(s.engine === 'postgres' ? 'DELETE FROM llm_proxy_schema WHERE version >= 8' : 'PRAGMA user_version = 7')
  await s.restart()
  const res = await s.get(`/metrics/requests/${r.id}/content`)
  expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } })
})
