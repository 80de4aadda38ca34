import { REDACTION_TYPES } from '@llm-proxy/core/contracts'
import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { findPii, redactText } from '../src/capture/redact.js'

interface Case {
  text: string
  spans: { start: number; end: number; type: string }[]
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/redaction.json', import.meta.url), 'utf8')) as { cases: Case[] }

/** The floors this detector is held to; the measured table is in docs/technical/capture.md. */
const FLOORS = { precision: 0.95, recall: 0.95 }

test('the fixture is big enough and has hard negatives', () => {
  expect(fixture.cases.length).toBeGreaterThanOrEqual(200)
  expect(fixture.cases.filter((c) => c.spans.length === 0).length).toBeGreaterThanOrEqual(80)
})

test('precision and recall per type on the labelled fixture', () => {
  const counts = Object.fromEntries(REDACTION_TYPES.map((t) => [t, { tp: 0, fp: 0, fn: 0 }]))
  const misses: string[] = []
  for (const c of fixture.cases) {
    const found = findPii(c.text)
    const key = (s: { start: number; end: number; type: string }) => `${s.start}:${s.end}:${s.type}`
    const expected = new Set(c.spans.map(key))
    const got = new Set(found.map(key))
    for (const s of found) {
      if (expected.has(key(s))) counts[s.type].tp++
      else {
        counts[s.type].fp++
        misses.push(`FP ${s.type} ${JSON.stringify(c.text.slice(s.start, s.end))} in ${JSON.stringify(c.text)}`)
      }
    }
    for (const s of c.spans) {
      if (!got.has(key(s))) {
        counts[s.type].fn++
        misses.push(`FN ${s.type} ${JSON.stringify(c.text.slice(s.start, s.end))} in ${JSON.stringify(c.text)}`)
      }
    }
  }
  const rows = REDACTION_TYPES.map((t) => {
    const { tp, fp, fn } = counts[t]
    return { type: t, tp, fp, fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) }
  })
  console.log(`| type | TP | FP | FN | precision | recall |\n| --- | ---: | ---: | ---: | ---: | ---: |\n${rows.map((r) => `| ${r.type} | ${r.tp} | ${r.fp} | ${r.fn} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} |`).join('\n')}`)
  if (misses.length) console.log(misses.join('\n'))
  for (const r of rows) {
    expect(r.tp + r.fn, `${r.type} has examples`).toBeGreaterThan(0)
    expect(r.precision, `${r.type} precision`).toBeGreaterThanOrEqual(FLOORS.precision)
    expect(r.recall, `${r.type} recall`).toBeGreaterThanOrEqual(FLOORS.recall)
  }
})

test('placeholders replace what was found, and the rest of the text is kept', () => {
  expect(redactText('mail jane@example.com, call (415) 555-2671, key sk-abcdefghijklmnop1234')).toBe('mail [EMAIL], call [PHONE], key [SECRET]')
  expect(redactText('Authorization: Bearer abcdef0123456789')).toBe('Authorization: Bearer [SECRET]')
  expect(redactText('version 1.2.3 on 2024-01-15')).toBe('version 1.2.3 on 2024-01-15')
})
