import { useTranslation } from 'react-i18next'
import { chooseLanguage, isLanguage, LANGUAGES } from '../../i18n'

/** The dashboard's language: detected from the browser at first, then the one chosen here (remembered). */
export function LanguageSelect() {
  const { t, i18n } = useTranslation()
  return (
    <label>
      <span>{t('header.language')}</span>
      <select value={i18n.resolvedLanguage ?? 'en'} onChange={(e) => isLanguage(e.target.value) && void chooseLanguage(e.target.value)} data-testid="language">
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>{l.name}</option>
        ))}
      </select>
    </label>
  )
}
