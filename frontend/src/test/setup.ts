import { initI18n } from '../i18n'

// Unit tests read the English strings.
await initI18n('en')
