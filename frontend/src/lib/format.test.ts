import { describe, expect, test } from 'vitest'
import { formatCount, formatDelta, formatExact, formatMs, formatPercent, formatRate, formatTime, formatUsd, setFormatLocale } from './format'
import { previousWindow, resolveRange } from './time-range'

describe('formatting', () => {
  test('durations pick a readable unit', () => {
    expect(formatMs(null)).toBe('—')
    expect(formatMs(3.14159)).toBe('3.1 ms')
    expect(formatMs(250.4)).toBe('250 ms')
    expect(formatMs(1534)).toBe('1.53 sec')
    expect(formatMs(90_000)).toBe('1.5 min')
  })
  test('dollars: cents, small sums to two significant digits, no cost as a dash', () => {
    expect(formatUsd(null)).toBe('—')
    expect(formatUsd(0)).toBe('$0')
    expect(formatUsd(0.00123456)).toBe('$0.0012')
    expect(formatUsd(0.0000051)).toBe('$0.0000051')
    expect(formatUsd(0.5)).toBe('$0.50')
    expect(formatUsd(1234.567)).toBe('$1,234.57')
    expect(formatUsd(25_300)).toBe('$25.3K')
  })
  test('counts shorten large numbers', () => {
    expect(formatCount(0)).toBe('0')
    expect(formatCount(9999)).toBe('9,999')
    expect(formatCount(12_345)).toBe('12.3K')
    expect(formatCount(2_500_000)).toBe('2.5M')
    // Tooltips: the exact figure.
    expect(formatExact(2_512_345)).toBe((2_512_345).toLocaleString())
    expect(formatExact(null)).toBe('—')
  })
  test('percentages and rates', () => {
    expect(formatPercent(1)).toBe('100%')
    expect(formatPercent(0.875)).toBe('87.5%')
    expect(formatPercent(null)).toBe('—')
    expect(formatPercent(0)).toBe('0%')
    expect(formatPercent(0.9999)).toBe('>99.9%') // one failure in 10,000 is not 100%
    expect(formatPercent(0.9994)).toBe('99.9%')
    expect(formatPercent(0.0001)).toBe('<0.1%')
    expect(formatRate(41.26)).toBe('41.3 tok/s')
  })
  test('change against the previous window', () => {
    expect(formatDelta(120, 100)).toBe('+20%')
    expect(formatDelta(95, 100)).toBe('-5.0%')
    expect(formatDelta(100, 100)).toBe('±0%')
    expect(formatDelta(5000, 1)).toBe('>+999%')
    expect(formatDelta(5, 0)).toBeNull()
    expect(formatDelta(5, null)).toBeNull()
  })
  test('times are shown in local time', () => {
    const iso = '2026-01-02T03:04:05.000Z'
    expect(formatTime(iso)).toBe(new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }))
    expect(formatTime(null)).toBe('—')
  })
})

describe('formatting for a locale', () => {
  // The same figures as each language's readers write them (CLDR via Intl).
  test.each([
    ['de', '1,53 Sek.', '87,5 %', '1.234,57 $', '12.345', '1.234.567'],
    ['fr', '1,53 s', '87,5 %', '1 234,57 $US', '12,3 k', '1 234 567'],
    ['ja', '1.53 秒', '87.5%', '$1,234.57', '1.2万', '1,234,567'],
    ['zh-CN', '1.53秒', '87.5%', 'US$1,234.57', '1.2万', '1,234,567'],
    ['ru', '1,53 с', '87,5 %', '1 234,57 $', '12,3 тыс.', '1 234 567'],
  ])('%s', (locale, seconds, percent, usd, count, exact) => {
    const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ') // Intl's no-break spaces
    expect(plain(formatMs(1534, locale))).toBe(seconds)
    expect(plain(formatPercent(0.875, locale))).toBe(percent)
    expect(plain(formatUsd(1234.567, locale))).toBe(usd)
    expect(plain(formatCount(12_345, locale))).toBe(count)
    expect(plain(formatExact(1_234_567, locale))).toBe(exact)
    expect(formatTime('2026-01-02T03:04:05.000Z', true, locale)).toBe(new Date('2026-01-02T03:04:05.000Z').toLocaleString(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }))
  })
  test('the dashboard language is the default locale', () => {
    setFormatLocale('de')
    try {
      expect(formatPercent(0.5)).toBe(formatPercent(0.5, 'de'))
      expect(formatDelta(95, 100)).toBe(formatDelta(95, 100, 'de'))
    } finally {
      setFormatLocale('en')
    }
  })
})

test('a relative range ends now; the previous window has the same length just before', () => {
  const w = resolveRange({ kind: 'relative', id: '1h' }, 10_000_000)
  expect(w).toEqual({ start: 10_000_000 - 3_600_000, end: 10_000_000 })
  expect(previousWindow(w)).toEqual({ start: 10_000_000 - 7_200_000, end: 10_000_000 - 3_600_000 })
})
