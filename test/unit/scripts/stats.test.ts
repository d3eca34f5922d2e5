import { describe, expect, it } from 'vitest'
import { percentile, ratioInterval } from '../../../scripts/lib/stats.js'

/** A seeded uniform [0, 1) (a 32-bit LCG), so the intervals are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** `n` latencies with a long tail: mostly 50–100 ms, one in twenty 100–400 ms. */
function latencies(n: number, random: () => number): number[] {
  return Array.from({ length: n }, () => (random() < 0.05 ? 100 + 300 * random() : 50 + 50 * random()))
}

describe('percentile', () => {
  it('is the nearest rank', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i) // 200 … 1, unsorted for it
    expect(percentile(values, 0.99)).toBe(198)
    expect(percentile(values, 0.5)).toBe(100)
    expect(percentile(values, 1)).toBe(200)
    expect(percentile([], 0.5)).toBeNaN()
  })
})

describe('ratioInterval', () => {
  it('is a point when neither sample varies', () => {
    expect(ratioInterval(Array(50).fill(300), Array(50).fill(100), 0.99)).toEqual([3, 3])
  })

  it('holds the measured ratio, and narrows as the samples grow', () => {
    const random = seeded(7)
    const width = (n: number) => {
      const loaded = latencies(n, random).map((ms) => 2 * ms)
      const unloaded = latencies(n, random)
      const [low, high] = ratioInterval(loaded, unloaded, 0.99, { random, rounds: 200 })
      const measured = percentile(loaded, 0.99) / percentile(unloaded, 0.99)
      expect(low).toBeLessThanOrEqual(measured)
      expect(high).toBeGreaterThanOrEqual(measured)
      return high - low
    }
    const small = width(200)
    const large = width(5_000)
    expect(large).toBeLessThan(small / 2)
  })
})
