import i18n from 'i18next'
import { initReactI18next } from 'react-i18next'
import { setFormatLocale } from '../lib/format'
import en from './locales/en.json'

/** The dashboard's languages, each named in itself (a reader looks for their own language's name). */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
  { code: 'ja', name: '日本語' },
  { code: 'zh', name: '简体中文' },
  { code: 'ru', name: 'Русский' },
  { code: 'ko', name: '한국어' },
] as const
export type Language = (typeof LANGUAGES)[number]['code']

/** The locale numbers and dates are formatted for: Chinese is Simplified (mainland conventions). */
export const LOCALES: Record<Language, string> = { en: 'en', es: 'es', fr: 'fr', de: 'de', ja: 'ja', zh: 'zh-CN', ru: 'ru', ko: 'ko' }

// English is bundled (the fallback); each other language is its own chunk, fetched when chosen.
// Typed as a string tree, not as English's exact shape: plural forms differ by language (the unit
// test holds every locale to English's keys).
type Strings = { [key: string]: string | Strings }
const loaders: Record<Exclude<Language, 'en'>, () => Promise<{ default: Strings }>> = {
  es: () => import('./locales/es.json'),
  fr: () => import('./locales/fr.json'),
  de: () => import('./locales/de.json'),
  ja: () => import('./locales/ja.json'),
  zh: () => import('./locales/zh.json'),
  ru: () => import('./locales/ru.json'),
  ko: () => import('./locales/ko.json'),
}

const STORAGE_KEY = 'language'
export const isLanguage = (l: unknown): l is Language => LANGUAGES.some((x) => x.code === l)

/** The first of the browser's languages we have, by its base ("de-AT" → de, "zh-Hans-CN" → zh); else English. */
export function detectLanguage(preferred: readonly string[] = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language])): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0]
    // Traditional Chinese readers are better served by English than by Simplified characters.
    if (base === 'zh' && /-(hant|tw|hk|mo)\b/i.test(tag)) continue
    if (isLanguage(base)) return base
  }
  return 'en'
}

function savedLanguage(): Language | null {
  try {
    const l = localStorage.getItem(STORAGE_KEY)
    return isLanguage(l) ? l : null
  } catch {
    return null
  }
}

/** Keys looked up but found in no language: the e2e test reads them from `window.__i18nMissing`. */
declare global {
  interface Window {
    __i18nMissing?: string[]
  }
}

async function load(lng: Language) {
  if (lng === 'en' || i18n.hasResourceBundle(lng, 'translation')) return
  const { default: bundle } = await loaders[lng]()
  i18n.addResourceBundle(lng, 'translation', bundle)
}

i18n.on('languageChanged', (lng) => {
  const l = isLanguage(lng) ? lng : 'en'
  setFormatLocale(LOCALES[l])
  if (typeof document === 'undefined') return
  document.documentElement.lang = LOCALES[l]
  document.title = i18n.t('app.title')
})

/** Starts i18next in the saved language, else the browser's (or the one given, for tests). */
export async function initI18n(lng?: Language) {
  const language = lng ?? savedLanguage() ?? detectLanguage()
  if (!i18n.isInitialized) {
    await i18n.use(initReactI18next).init({
      resources: { en: { translation: en } },
      partialBundledLanguages: true,
      lng: 'en',
      fallbackLng: 'en',
      interpolation: { escapeValue: false }, // React escapes
      returnNull: false,
      saveMissing: true,
      missingKeyHandler: (_lngs, _ns, key) => {
        if (typeof window !== 'undefined') (window.__i18nMissing ??= []).push(key)
      },
    })
  }
  await load(language)
  await i18n.changeLanguage(language)
  return i18n
}

/** The header's choice: loaded, shown and remembered. */
export async function chooseLanguage(lng: Language) {
  await load(lng)
  await i18n.changeLanguage(lng)
  try {
    localStorage.setItem(STORAGE_KEY, lng)
  } catch {}
}

export { i18n }
