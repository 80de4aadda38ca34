import type { SaturationLevel, SaturationModel } from '@llm-proxy/core/contracts'
import { formatMs, formatRate } from '../../lib/format'
import { modelLabel } from '../../i18n/labels'

/** A level group as people say it: "3", "5–6". */
export const levelLabel = (l: Pick<SaturationLevel, 'level' | 'level_max'>) => (l.level === l.level_max ? String(l.level) : `${l.level}–${l.level_max}`)

const plural = (n: number) => `${n} concurrent request${n === 1 ? '' : 's'}`

/**
 * What the data says about one model, in sentences: where per-request speed halves and where TTFT
 * p95 doubles ("llama3.2:1b: TTFT p95 doubles above 6 concurrent requests"), or that it did not, or
 * that there is not enough data to tell.
 */
export function describeSaturation(m: SaturationModel, minSamples: number): string[] {
  const name = modelLabel(m.model)
  const sampled = m.levels.filter((l) => !l.sparse)
  if (sampled.length < 2) {
    return [`${name}: not enough data yet; each concurrency level needs ${minSamples} requests, and ${sampled.length === 1 ? 'only one level has them' : 'no level has them'}.`]
  }
  const out: string[] = []
  if (m.tps_halved) {
    const k = m.tps_halved
    out.push(`${name}: per-request speed halves above ${plural(k.level - 1)} (${formatRate(k.baseline)} at ${k.baseline_level}, ${formatRate(k.value)} at ${levelLabel(k)}).`)
  }
  if (m.ttft_p95_doubled) {
    const k = m.ttft_p95_doubled
    out.push(`${name}: TTFT p95 doubles above ${plural(k.level - 1)} (${formatMs(k.baseline)} at ${k.baseline_level}, ${formatMs(k.value)} at ${levelLabel(k)}).`)
  }
  if (out.length === 0) out.push(`${name}: no slow-down seen up to ${plural(sampled[sampled.length - 1].level_max)}: per-request speed never halved and TTFT p95 never doubled.`)
  return out
}
