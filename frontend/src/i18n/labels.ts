import { i18n } from './index'

/** A model as the dashboard names it: requests that named none (malformed JSON, say) are "(no model)". */
export function modelLabel(model: string | null | undefined): string {
  return model ? model : i18n.t('labels.noModel')
}

/** A proxy key as the dashboard names it: its name, or its id when the key was deleted since. */
export function keyLabel(name: string | null | undefined, id: string): string {
  return name ? name : i18n.t('labels.deletedKey', { id })
}
