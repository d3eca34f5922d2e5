// Order statistics for the benchmarks' tables.

/** Nearest-rank percentile of `values` (p in 0..1); NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]
}

export const RATIO_INTERVAL_DEFAULTS = {
  /** Resamplings: enough for the interval's ends to move by about a hundredth between calls. */
  rounds: 2000,
  /** The central share of the resampled ratios reported. */
  level: 0.95,
  /** Uniform in [0, 1); tests pass a seeded one. */
  random: Math.random,
}

/**
 * How far percentile(a, p) ÷ percentile(b, p) could move by chance alone: a percentile bootstrap, each sample
 * resampled with replacement `rounds` times, and the central `level` of the ratios so found. A p99 of 200
 * latencies rests on its two or three slowest, so one run's ratio alone says little.
 */
export function ratioInterval(
  a: number[],
  b: number[],
  p: number,
  opts: Partial<typeof RATIO_INTERVAL_DEFAULTS> = {},
): [number, number] {
  const { rounds, level, random } = { ...RATIO_INTERVAL_DEFAULTS, ...opts }
  if (a.length === 0 || b.length === 0) return [NaN, NaN]
  const resample = (values: number[]) => values.map(() => values[Math.floor(random() * values.length)])
  const ratios = Array.from({ length: rounds }, () => percentile(resample(a), p) / percentile(resample(b), p))
  const tail = (1 - level) / 2
  return [percentile(ratios, tail), percentile(ratios, 1 - tail)]
}
