import { describe, expect, it } from 'vitest'
import { type ColumnCandidate, coveredColumns, planColumns } from '../../../src/relay/columnPlan.js'

const peer = (id: string, custody: number[], ready = true, rank = 0): ColumnCandidate => ({
  id,
  custody: new Set(custody),
  ready,
  rank,
})
const all = Array.from({ length: 128 }, (_, i) => i)

describe('planColumns', () => {
  it('covers the asked columns with as few custodians as possible, each asked only for what it custodies', () => {
    const peers = [peer('a', [1, 2, 3]), peer('b', [3, 4]), peer('c', [4, 5, 6]), peer('d', [1])]
    const plan = planColumns([1, 2, 3, 4, 5, 6], peers)
    expect(plan.unavailable).toEqual([])
    expect(plan.parts.map((p) => p.columns)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ])
    for (const part of plan.parts) {
      for (const id of part.custodians) {
        const custody = peers.find((p) => p.id === id)!.custody
        expect(part.columns.every((c) => custody.has(c))).toBe(true)
      }
    }
    // Alternatives for failover: every peer custodying all of a part's columns.
    expect(plan.parts[0].custodians).toEqual(['a'])
  })

  it('takes a supernode first and leaves out what nobody custodies', () => {
    const plan = planColumns([1, 2, 200], [peer('small', [1]), peer('super', all)])
    expect(plan.parts).toEqual([{ columns: [1, 2], custodians: ['super'] }])
    expect(plan.unavailable).toEqual([200])
  })

  it('prefers a custodian under its self-limit, then the better rank, on equal coverage', () => {
    const busy = peer('busy', [7, 8], false, 100)
    const free = peer('free', [7, 8], true, 0)
    const better = peer('better', [7, 8], true, 5)
    const plan = planColumns([7, 8], [busy, free, better])
    expect(plan.parts[0].custodians).toEqual(['better', 'free', 'busy'])
  })

  it('counts coverage over several custodies', () => {
    expect(coveredColumns([new Set([1, 2]), null, new Set([2, 3])]).size).toBe(3)
  })
})
