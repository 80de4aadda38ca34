import type { SaturationLevel, SaturationModel } from '@llm-proxy/core/contracts'
import { formatMs, formatRate } from '../../lib/format'
import { i18n } from '../../i18n'
import { modelLabel } from '../../i18n/labels'

/** A level group as people say it: "3", "5–6". */
export const levelLabel = (l: Pick<SaturationLevel, 'level' | 'level_max'>) => (l.level === l.level_max ? String(l.level) : `${l.level}–${l.level_max}`)

/**
 * What the data says about one model, in sentences: where per-request speed halves and where TTFT
 * p95 doubles ("llama3.2:1b: TTFT p95 doubles above 6 concurrent requests"), or that it did not, or
 * that there is not enough data to tell.
 */
export function describeSaturation(m: SaturationModel, minSamples: number): string[] {
  const name = modelLabel(m.model)
  const sampled = m.levels.filter((l) => !l.sparse)
  if (sampled.length < 2) {
    return [i18n.t(sampled.length === 1 ? 'saturation.notEnoughOne' : 'saturation.notEnoughNone', { name, min: minSamples })]
  }
  const out: string[] = []
  if (m.tps_halved) {
    const k = m.tps_halved
    out.push(i18n.t('saturation.tpsHalved', { name, count: k.level - 1, base: formatRate(k.baseline), baseLevel: k.baseline_level, value: formatRate(k.value), level: levelLabel(k) }))
  }
  if (m.ttft_p95_doubled) {
    const k = m.ttft_p95_doubled
    out.push(i18n.t('saturation.ttftDoubled', { name, count: k.level - 1, base: formatMs(k.baseline), baseLevel: k.baseline_level, value: formatMs(k.value), level: levelLabel(k) }))
  }
  if (out.length === 0) out.push(i18n.t('saturation.noSlowdown', { name, count: sampled[sampled.length - 1].level_max }))
  return out
}
