import { NUMBER_OF_COLUMNS } from '@lodestar/params'

/** A candidate upstream for a column request, as the planner sees it. */
export interface ColumnCandidate {
  id: string
  custody: ReadonlySet<number>
  /** Under its self-limit right now. */
  ready: boolean
  /** Higher is better (score and latency): the tie-break after coverage. */
  rank: number
}

/** Columns asked of one upstream, and every candidate that custodies all of them (first: the planned one). */
export interface ColumnPart {
  columns: number[]
  custodians: string[]
}

export interface ColumnPlan {
  parts: ColumnPart[]
  /** Asked columns no candidate custodies: left out of the answer (the spec allows fewer). */
  unavailable: number[]
}

/**
 * Splits `columns` over as few candidates as possible: greedy set cover, each step taking the candidate that
 * custodies the most columns still uncovered, ties to one under its self-limit, then the larger custody
 * (supernodes first), then the better rank. Greedy is within ln(128) of the optimum and is what clients do.
 */
export function planColumns(columns: readonly number[], candidates: readonly ColumnCandidate[]): ColumnPlan {
  const uncovered = new Set(columns)
  const parts: ColumnPart[] = []
  const order = [...candidates].sort(
    (a, b) => Number(b.ready) - Number(a.ready) || b.custody.size - a.custody.size || b.rank - a.rank,
  )
  while (uncovered.size > 0) {
    let best: ColumnCandidate | null = null
    let bestCount = 0
    for (const c of order) {
      let count = 0
      for (const col of uncovered) if (c.custody.has(col)) count++
      if (count > bestCount) [best, bestCount] = [c, count]
    }
    if (!best) break
    const taken = [...uncovered].filter((col) => best.custody.has(col)).sort((a, b) => a - b)
    for (const col of taken) uncovered.delete(col)
    const others = order.filter((c) => c !== best && taken.every((col) => c.custody.has(col))).map((c) => c.id)
    parts.push({ columns: taken, custodians: [best.id, ...others] })
  }
  return { parts, unavailable: [...uncovered].sort((a, b) => a - b) }
}

/** How many of `columns` the candidates custody together: the coverage /ready and the metrics report. */
export function coveredColumns(custodies: Iterable<ReadonlySet<number> | null | undefined>): Set<number> {
  const out = new Set<number>()
  for (const custody of custodies) {
    if (!custody) continue
    for (const col of custody) out.add(col)
    if (out.size === NUMBER_OF_COLUMNS) break
  }
  return out
}
