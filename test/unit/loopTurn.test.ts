import { describe, expect, it } from 'vitest'
import { loopTurnSpent, nextLoopTurn } from '../../src/loopTurn.js'

const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}
const aTimerTurn = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('loopTurnSpent / nextLoopTurn', () => {
  it('counts a turn’s busy time from its first call, and starts again in the next turn', async () => {
    await aTimerTurn()
    expect(loopTurnSpent(5)).toBe(false)
    busy(6)
    expect(loopTurnSpent(5)).toBe(true)
    expect(loopTurnSpent(5)).toBe(true) // the same turn: still spent
    await nextLoopTurn()
    expect(loopTurnSpent(5)).toBe(false)
  })

  it('lets a timer fire between the slices of chunked work, and none fires in the same work unsliced', async () => {
    const run = async (sliced: boolean): Promise<number> => {
      let ticks = 0
      const ticker = setInterval(() => ticks++, 1)
      await aTimerTurn()
      const before = ticks
      for (let i = 0; i < 30; i++) {
        busy(2)
        // Data already buffered: each step's await resolves without the loop turning.
        await Promise.resolve()
        if (sliced && loopTurnSpent(5)) await nextLoopTurn()
      }
      const during = ticks - before
      clearInterval(ticker)
      return during
    }
    expect(await run(false)).toBe(0)
    expect(await run(true)).toBeGreaterThanOrEqual(4)
  })

  it('resumes by owner: a requester with a few slices left is not held behind every stream of one with many', async () => {
    const log: string[] = []
    const work = async (owner: string, chunks: number) => {
      for (let i = 0; i < chunks; i++) {
        busy(6) // each chunk spends the turn
        log.push(owner)
        if (loopTurnSpent(5)) await nextLoopTurn(owner)
      }
    }
    await aTimerTurn()
    const flood = [work('flood', 12), work('flood', 12), work('flood', 12)] // three streams of one requester
    await nextLoopTurn('other')
    await nextLoopTurn('other')
    const good = work('good', 3)
    await Promise.all([...flood, good])
    const first = log.indexOf('good')
    const last = log.lastIndexOf('good')
    // Owner by owner, the good requester's 3 slices alternate with the flood's; stream by stream (first come, first
    // served) each would wait for all three flood streams' slices (10 of them in between, measured).
    expect(log.slice(first, last).filter((o) => o === 'flood').length).toBeLessThanOrEqual(3)
    expect(log.filter((o) => o === 'flood')).toHaveLength(36)
  })
})
