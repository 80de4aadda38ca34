import { describe, expect, it } from 'vitest'
import { InFlight } from '../src/in-flight.js'

describe('InFlight (what shutdown waits for and aborts)', () => {
  it('holds what was added until it is taken out, in any order', () => {
    const list = new InFlight<string>()
    const a = list.add('a')
    const b = list.add('b')
    const c = list.add('c')
    expect(list.size).toBe(3)
    expect(list.values().sort()).toEqual(['a', 'b', 'c'])
    list.delete(b)
    expect(list.values().sort()).toEqual(['a', 'c'])
    list.delete(c)
    list.delete(a)
    expect(list.size).toBe(0)
    expect(list.values()).toEqual([])
    const d = list.add('d')
    expect(list.values()).toEqual(['d'])
    list.delete(d)
    expect(list.values()).toEqual([])
  })

  it('takes an entry out once: a second delete changes nothing', () => {
    const list = new InFlight<number>()
    const one = list.add(1)
    list.add(2)
    list.delete(one)
    list.delete(one)
    expect(list.size).toBe(1)
    expect(list.values()).toEqual([2])
  })

  it('leaves no link behind on a removed entry (nothing it kept stays reachable through it)', () => {
    const list = new InFlight<object>()
    const first = list.add({})
    const middle = list.add({})
    list.add({})
    list.delete(middle)
    expect(middle.prev).toBeNull()
    expect(middle.next).toBeNull()
    list.delete(first)
    expect(first.prev).toBeNull()
    expect(first.next).toBeNull()
    expect(list.size).toBe(1)
  })

  it('gives a copy: entries taken out while it is read do not change it', () => {
    const list = new InFlight<number>()
    const entries = [1, 2, 3, 4].map((n) => list.add(n))
    const seen: number[] = []
    for (const n of list.values()) {
      seen.push(n)
      for (const e of entries) list.delete(e)
    }
    expect(seen.sort()).toEqual([1, 2, 3, 4])
    expect(list.size).toBe(0)
  })
})
