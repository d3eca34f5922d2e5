import { describe, expect, it, vi } from 'vitest'
import { LimitError, LimitErrorCode } from '../../../src/limits/errors.js'
import { TokenBucket } from '../../../src/limits/tokenBucket.js'
import { fakeClock } from './helpers.js'

/** 10 tokens per second: one token every 100 ms, so every expected value below is exact. */
const TEN_PER_SECOND = { tokens: 10, seconds: 1 }

function bucket(quota = TEN_PER_SECOND) {
  const clock = fakeClock(1_700_000_000_000)
  return { b: new TokenBucket({ now: clock.now }, quota), clock }
}

describe('TokenBucket', () => {
  it('starts full', () => {
    const { b } = bucket()
    expect(b.available()).toBe(10)
    expect(b.isFull()).toBe(true)
    expect(b.msUntil(10)).toBe(0)
    expect(b.capacity).toBe(10)
    expect(b.msPerToken).toBe(100)
  })

  it('refills continuously at tokens / (seconds * 1000) per ms, up to the capacity', () => {
    const { b, clock } = bucket()
    expect(b.tryTake(10)).toBe(true)
    expect(b.available()).toBe(0)
    expect(b.isFull()).toBe(false)
    clock.advance(250)
    expect(b.available()).toBe(2.5)
    clock.advance(749)
    expect(b.available()).toBeCloseTo(9.99, 10)
    expect(b.isFull()).toBe(false)
    clock.advance(1)
    expect(b.available()).toBe(10)
    expect(b.isFull()).toBe(true)
    clock.advance(60_000)
    expect(b.available()).toBe(10)
  })

  it('msUntil gives the exact wait, 0 when available, Infinity above the capacity', () => {
    const { b, clock } = bucket()
    expect(b.msUntil(11)).toBe(Infinity)
    b.tryTake(10)
    expect(b.msUntil(0)).toBe(0)
    expect(b.msUntil(1)).toBe(100)
    expect(b.msUntil(3)).toBe(300)
    expect(b.msUntil(10)).toBe(1000)
    expect(b.msUntil(11)).toBe(Infinity)
    clock.advance(250)
    expect(b.msUntil(2)).toBe(0)
    expect(b.msUntil(3)).toBe(50)
    clock.advance(50)
    expect(b.tryTake(3)).toBe(true)
  })

  it('tryTake takes nothing when short', () => {
    const { b, clock } = bucket()
    b.tryTake(10)
    clock.advance(250)
    expect(b.tryTake(3)).toBe(false)
    expect(b.available()).toBe(2.5)
    expect(b.tryTake(2)).toBe(true)
    expect(b.available()).toBe(0.5)
    expect(b.tryTake(11)).toBe(false)
  })

  it('rounds fractional waits up to whole ms, and the tokens are there at that ms', () => {
    const { b, clock } = bucket({ tokens: 3, seconds: 1 }) // 333.33… ms per token
    b.tryTake(3)
    expect(b.msUntil(1)).toBe(334)
    clock.advance(333)
    expect(b.tryTake(1)).toBe(false)
    clock.advance(1)
    expect(b.tryTake(1)).toBe(true)
  })

  it('survives inexact per-token intervals: waiting msUntil always suffices', () => {
    const { b, clock } = bucket({ tokens: 1152, seconds: 10 })
    for (const cost of [1152, 7, 1, 1152, 100, 3]) {
      const wait = b.msUntil(cost)
      if (wait > 1) {
        clock.advance(wait - 1)
        expect(b.tryTake(cost)).toBe(false)
        clock.advance(1)
      } else clock.advance(wait)
      expect(b.tryTake(cost)).toBe(true)
    }
  })

  it('reserve takes tokens at a future instant: the bucket goes into debt and later callers queue', () => {
    const { b, clock } = bucket()
    b.reserve(10, 0)
    expect(b.msUntil(10)).toBe(1000)
    b.reserve(10, 1000)
    expect(b.available()).toBe(-10)
    expect(b.msUntil(1)).toBe(1100)
    expect(b.tryTake(1)).toBe(false)
    clock.advance(1000)
    expect(b.available()).toBe(0)
    expect(b.msUntil(1)).toBe(100)
    clock.advance(1000)
    expect(b.isFull()).toBe(true)
  })

  it('reserve taken later than needed charges from that instant', () => {
    const { b, clock } = bucket()
    b.tryTake(10)
    b.reserve(5, 800) // tokens were due at 500 ms; taken at 800
    clock.advance(800)
    expect(b.available()).toBe(3)
  })

  it('reserve refuses an instant before the tokens are there', () => {
    const { b } = bucket()
    b.tryTake(10)
    expect(() => b.reserve(1, 99)).toThrow(expect.objectContaining({ code: LimitErrorCode.RESERVATION_TOO_EARLY }))
    expect(() => b.reserve(11, 1e9)).toThrow(LimitError)
    expect(b.msUntil(1)).toBe(100)
  })

  it('rejects bad costs and quotas with typed errors', () => {
    const { b } = bucket()
    for (const cost of [-1, NaN, Infinity]) {
      expect(() => b.msUntil(cost)).toThrow(expect.objectContaining({ code: LimitErrorCode.INVALID_COST }))
      expect(() => b.tryTake(cost)).toThrow(LimitError)
    }
    for (const quota of [
      { tokens: 0, seconds: 1 },
      { tokens: 1, seconds: 0 },
      { tokens: -1, seconds: 1 },
      { tokens: 1, seconds: NaN },
    ]) {
      expect(() => new TokenBucket({}, quota)).toThrow(expect.objectContaining({ code: LimitErrorCode.INVALID_QUOTA }))
    }
  })

  it('uses Date.now by default', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 })
    try {
      const b = new TokenBucket({}, TEN_PER_SECOND)
      expect(b.tryTake(10)).toBe(true)
      vi.advanceTimersByTime(400)
      expect(b.msUntil(10)).toBe(600)
    } finally {
      vi.useRealTimers()
    }
  })
})
