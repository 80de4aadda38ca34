import type { ApiKeyView } from '@llm-proxy/core/contracts'
import { expect, test } from 'vitest'
import { toLocalInput } from '../../lib/time-range'
import { bodyFromForm, formFromKey, limitsText } from './key-form'

const key: ApiKeyView = {
  id: 'key_1', name: 'alice', owner: 'research', display: 'lmp-AbCd…WxYz', status: 'active',
  created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', expires_at: '2026-02-01T12:30:00.000Z', revoked_at: null,
  limits: { rpm: 60, tpm: null, budget_tokens: 1_000_000, budget_usd: 5, budget_period: 'month' },
  models: ['llama*', 'gpt-4o'], capture: 'errors', has_upstream_key: false,
}

test('a key round-trips through the form: what is sent is what it has', () => {
  const f = formFromKey(key)
  expect(f).toMatchObject({ name: 'alice', owner: 'research', rpm: '60', tpm: '', budget_tokens: '1000000', budget_usd: '5', models: 'llama*, gpt-4o', capture: 'errors' })
  expect(f.expires).toBe(toLocalInput(Date.parse(key.expires_at!)))
  expect(bodyFromForm(f)).toEqual({
    body: {
      name: 'alice', owner: 'research', capture: 'errors', models: ['llama*', 'gpt-4o'], expires_at: '2026-02-01T12:30:00.000Z',
      limits: { rpm: 60, tpm: null, budget_tokens: 1_000_000, budget_usd: 5, budget_period: 'month' },
    },
  })
})

test('an empty form: a name is needed; empty limits, models and expiry mean none', () => {
  expect(bodyFromForm(formFromKey())).toEqual({ field: 'name', error: 'Enter a name.' })
  const r = bodyFromForm({ ...formFromKey(), name: '  bob ', models: ' \n , ' })
  expect(r).toEqual({ body: { name: 'bob', owner: null, models: null, expires_at: null, capture: 'inherit', limits: { rpm: null, tpm: null, budget_tokens: null, budget_usd: null, budget_period: 'month' } } })
})

test('a limit that is not a whole number above 0 is named', () => {
  for (const rpm of ['0', '-3', '1.5', 'ten']) expect(bodyFromForm({ ...formFromKey(key), rpm })).toMatchObject({ field: 'rpm' })
  expect(bodyFromForm({ ...formFromKey(key), budget_usd: '0' })).toMatchObject({ field: 'budget_usd' })
  expect(bodyFromForm({ ...formFromKey(key), expires: 'soon' })).toMatchObject({ field: 'expires' })
})

test('limits as a line of text', () => {
  expect(limitsText(key)).toBe('60 rpm · 1M tokens/month · $5.00/month')
  expect(limitsText({ ...key, limits: { rpm: null, tpm: null, budget_tokens: null, budget_usd: null, budget_period: 'day' } })).toBe('None')
})
