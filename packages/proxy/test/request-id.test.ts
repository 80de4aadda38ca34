import { describe, expect, it } from 'vitest'
import { requestId } from '../src/metering/request-id.js'

describe('request ids', () => {
  it('are UUIDs of version 7 with the RFC variant, carrying the millisecond time', () => {
    const now = Date.UTC(2026, 10, 28, 14, 3, 7, 123)
    const id = requestId(now)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now)
  })

  it('sort by time, and differ within one millisecond', () => {
    const start = Date.now()
    const ids = Array.from({ length: 2000 }, (_, i) => requestId(start + Math.floor(i / 10)))
    expect(new Set(ids).size).toBe(ids.length)
    const byTime = ids.map((id, i) => [Math.floor(i / 10), id] as const)
    const sorted = [...ids].sort()
    // Every id of a later millisecond sorts after every id of an earlier one.
    expect(sorted.map((id) => byTime.find(([, x]) => x === id)![0])).toEqual([...byTime.map(([t]) => t)].sort((a, b) => a - b))
  })
})
