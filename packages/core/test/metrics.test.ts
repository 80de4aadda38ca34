import { expect, test } from 'vitest'
import { nearestRank, outcomeForStatus, outputTokensPerSecond, timePerOutputToken } from '../src/index.js'

test('tpot is the decode time over the tokens after the first', () => {
  expect(timePerOutputToken(100, 1100, 11)).toBe(100)
  expect(timePerOutputToken(100, 100, 1)).toBeNull()
  expect(timePerOutputToken(null, 1100, 11)).toBeNull()
})

test('streaming output tps excludes prefill; non-streaming is end to end', () => {
  expect(outputTokensPerSecond(true, { ttftMs: 200, ttltMs: 1200, totalMs: 1300 }, 51)).toBe(50)
  expect(outputTokensPerSecond(false, { ttftMs: null, ttltMs: null, totalMs: 2000 }, 100)).toBe(50)
  expect(outputTokensPerSecond(true, { ttftMs: 200, ttltMs: 200, totalMs: 300 }, 1)).toBeNull()
  expect(outputTokensPerSecond(false, { ttftMs: null, ttltMs: null, totalMs: 10 }, null)).toBeNull()
})

test('status codes map to outcomes', () => {
  expect(outcomeForStatus(200)).toBe('success')
  expect(outcomeForStatus(429)).toBe('client_error')
  expect(outcomeForStatus(503)).toBe('backend_error')
})

test('nearest rank', () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  expect(nearestRank(v, 50)).toBe(5)
  expect(nearestRank(v, 90)).toBe(9)
  expect(nearestRank(v, 99)).toBe(10)
  expect(nearestRank([], 50)).toBeNull()
})
