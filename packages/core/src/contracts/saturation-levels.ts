// Free of zod: see outcomes.ts.

/**
 * Concurrency levels are grouped so that high levels, which are rarely all seen, still gather
 * samples: 1, 2, 3, 4, then each power of two split in halves (5–6, 7–8, 9–12, 13–16, 17–24, …).
 * Returns the [min, max] of the group that holds `level` (≥ 1).
 */
export function saturationLevelGroup(level: number): [number, number] {
  if (level <= 4) return [level, level]
  let hi = 8
  while (level > hi) hi *= 2
  const mid = (hi / 4) * 3
  return level <= mid ? [hi / 2 + 1, mid] : [mid + 1, hi]
}
