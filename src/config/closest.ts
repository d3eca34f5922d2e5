/** Levenshtein distance, for "did you mean" suggestions over option names (a few dozen short strings). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

/** The candidate nearest to `input` (case-insensitive), or null when none is within reach of a typo. */
export function closest(input: string, candidates: Iterable<string>): string | null {
  const needle = input.toLowerCase()
  let best: { name: string; d: number } | null = null
  for (const name of candidates) {
    const d = distance(needle, name.toLowerCase())
    if (best === null || d < best.d) best = { name, d }
  }
  // More than about a third of the name rewritten is not a typo of it.
  return best !== null && best.d <= Math.max(2, Math.ceil(needle.length / 3)) ? best.name : null
}
