/// <reference types="vite/client" />
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, test } from 'vitest'
import { LanguageSelect } from '../features/header/LanguageSelect'
import { detectLanguage, i18n, initI18n, LANGUAGES } from './index'

type Tree = { [k: string]: string | Tree }
// Every locale file there is, whether or not the app lists it.
const files = import.meta.glob<Tree>('./locales/*.json', { eager: true, import: 'default' })
const read = (code: string): Tree => files[`./locales/${code}.json`]
/** Every string of a locale by its dotted key. */
function flatten(t: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === 'string') out.set(prefix + k, v)
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv)
  }
  return out
}
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*([\w.]+)\s*(?:,[^}]*)?\}\}/g)].map((m) => m[1]).sort()

const en = flatten(read('en'))
// Plural forms differ by language (English: _one/_other; Russian adds _few/_many; Japanese has
// _other only): keys are compared by their base, and each base must have the _other form.
const PLURAL = /_(zero|one|two|few|many|other)$/
const base = (k: string) => k.replace(PLURAL, '')
const bases = (m: Map<string, string>) => new Set([...m.keys()].map(base))
const enBases = bases(en)
/** The English string a key is checked against: itself, or its base's _other form. */
const englishFor = (k: string) => en.get(k) ?? en.get(`${base(k)}_other`)

test('one locale file per language offered, and no other', () => {
  expect(Object.keys(files).map((f) => f.replace(/^\.\/locales\/|\.json$/g, '')).sort()).toEqual(LANGUAGES.map((l) => l.code).sort())
})

describe.each(LANGUAGES.filter((l) => l.code !== 'en').map((l) => l.code))('%s', (code) => {
  const strings = flatten(read(code))
  test('has every key English has, and no other', () => {
    const mine = bases(strings)
    expect([...enBases].filter((k) => !mine.has(k)), 'missing').toEqual([])
    expect([...mine].filter((k) => !enBases.has(k)), 'extra').toEqual([])
    const plurals = [...strings.keys()].filter((k) => PLURAL.test(k)).map(base)
    expect(plurals.filter((b) => !strings.has(`${b}_other`)), 'plural without _other').toEqual([])
  })
  test('each string has the same {{placeholders}} as in English, and none is empty', () => {
    for (const [k, s] of strings) {
      const v = englishFor(k)
      if (v === undefined) continue
      // A language's one-form may spell the number out ("один"), so {{count}} is not required there.
      const need = placeholders(v).filter((p) => !(p === 'count' && /_(one|zero|two)$/.test(k)))
      expect(placeholders(s).filter((p) => !(p === 'count' && /_(one|zero|two)$/.test(k))), k).toEqual(need)
      expect(s.trim(), k).not.toBe('')
    }
  })
})

test('the browser’s languages pick the first one we have, by its base language', () => {
  expect(detectLanguage(['de-AT', 'en'])).toBe('de')
  expect(detectLanguage(['nl-NL', 'fr-CA', 'en'])).toBe('fr')
  expect(detectLanguage(['zh-CN'])).toBe('zh')
  expect(detectLanguage(['zh-TW', 'ja'])).toBe('ja') // Traditional Chinese: not Simplified
  expect(detectLanguage(['pt-BR'])).toBe('en')
  expect(detectLanguage([])).toBe('en')
})

describe('the language select', () => {
  afterEach(async () => {
    cleanup()
    localStorage.clear()
    await initI18n('en')
  })
  test('switches the strings, the number locale and <html lang>, and is remembered', async () => {
    render(<LanguageSelect />)
    const select = screen.getByLabelText('Language') as HTMLSelectElement
    expect([...select.options].map((o) => o.text)).toEqual(LANGUAGES.map((l) => l.name))
    fireEvent.change(select, { target: { value: 'ja' } })
    await waitFor(() => expect(screen.getByText('言語')).toBeTruthy())
    expect(select.value).toBe('ja')
    expect(localStorage.getItem('language')).toBe('ja')
    expect(document.documentElement.lang).toBe('ja')
    // Saved: the next start uses it, whatever the browser says.
    await initI18n()
    expect(i18n.language).toBe('ja')
  })
})
