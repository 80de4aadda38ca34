import { expect, test } from 'vitest'
import { RowCache } from '../src/row-cache.js'

const loader = () => {
  let loads = 0
  return { load: (n: number) => async () => (loads++, Array.from({ length: n }, (_, i) => ({ i }))), get loads() { return loads } }
}

test('rows are reused while the fingerprint holds, read again when it changes', async () => {
  const cache = new RowCache(100)
  const l = loader()
  const first = await cache.get('q', async () => 'v1', l.load(3))
  expect(await cache.get('q', async () => 'v1', l.load(3))).toBe(first)
  expect(l.loads).toBe(1)
  const changed = await cache.get('q', async () => 'v2', l.load(4))
  expect(changed).not.toBe(first)
  expect(changed).toHaveLength(4)
  expect(l.loads).toBe(2)
})

test('at most maxRows rows are kept, the least recently used go first, and a large answer is not kept', async () => {
  const cache = new RowCache(8)
  const l = loader()
  const fp = async () => 'same'
  const a = await cache.get('a', fp, l.load(2))
  await cache.get('b', fp, l.load(2))
  await cache.get('c', fp, l.load(2))
  expect(await cache.get('a', fp, l.load(2))).toBe(a) // a is now the most recent
  await cache.get('d', fp, l.load(2))
  await cache.get('e', fp, l.load(2)) // 10 rows: b, the least recent, goes
  const loads = l.loads
  expect(await cache.get('a', fp, l.load(2))).toBe(a)
  await cache.get('b', fp, l.load(2))
  expect(l.loads).toBe(loads + 1)
  // More than a quarter of the budget: answered, not kept.
  await cache.get('big', fp, l.load(3))
  await cache.get('big', fp, l.load(3))
  expect(l.loads).toBe(loads + 3)
})
