import { afterEach, describe, expect, it, vi } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'

const GENESIS_S = 1_606_824_023
const GENESIS_MS = GENESIS_S * 1000
const SLOT_MS = 12_000
const EPOCH_MS = 32 * SLOT_MS

function clockAt(nowMs: number): Clock {
  return new Clock({ now: () => nowMs }, { genesisTime: GENESIS_S, secondsPerSlot: 12, slotsPerEpoch: 32 })
}

describe('Clock arithmetic', () => {
  it('is at slot 0 before genesis, counting down to it', () => {
    const clock = clockAt(GENESIS_MS - 5000)
    expect(clock.isBeforeGenesis()).toBe(true)
    expect(clock.currentSlot).toBe(0)
    expect(clock.currentEpoch).toBe(0)
    expect(clock.msUntilNextSlot()).toBe(5000)
  })

  it('changes slot exactly at slot boundaries', () => {
    expect(clockAt(GENESIS_MS).currentSlot).toBe(0)
    expect(clockAt(GENESIS_MS + SLOT_MS - 1).currentSlot).toBe(0)
    expect(clockAt(GENESIS_MS + SLOT_MS).currentSlot).toBe(1)
    expect(clockAt(GENESIS_MS + SLOT_MS).msUntilNextSlot()).toBe(SLOT_MS)
    expect(clockAt(GENESIS_MS + SLOT_MS + 2500).msUntilNextSlot()).toBe(9500)
  })

  it('changes epoch exactly at epoch boundaries', () => {
    expect(clockAt(GENESIS_MS + EPOCH_MS - 1)).toMatchObject({ currentSlot: 31, currentEpoch: 0 })
    expect(clockAt(GENESIS_MS + EPOCH_MS)).toMatchObject({ currentSlot: 32, currentEpoch: 1 })
    const clock = clockAt(GENESIS_MS)
    expect(clock.epochAtSlot(63)).toBe(1)
    expect(clock.epochAtSlot(64)).toBe(2)
    expect(clock.firstSlotOfEpoch(2)).toBe(64)
    expect(clock.slotStartMs(32)).toBe(GENESIS_MS + EPOCH_MS)
  })

  it('matches mainnet wall-clock epochs', () => {
    // Fulu activated at epoch 411392 on 2025-12-03T21:49:11Z.
    expect(clockAt(Date.UTC(2025, 11, 3, 21, 49, 11)).currentEpoch).toBe(411392)
    expect(clockAt(Date.UTC(2025, 11, 3, 21, 49, 10)).currentEpoch).toBe(411391)
  })

  it('accepts a slot within ±disparity of the current one', () => {
    const start5 = GENESIS_MS + 5 * SLOT_MS
    expect(clockAt(start5 + 6000).isSlotWithinDisparity(5)).toBe(true)
    expect(clockAt(start5 + 6000).isSlotWithinDisparity(6)).toBe(false)
    expect(clockAt(start5 - 500).isSlotWithinDisparity(5)).toBe(true)
    expect(clockAt(start5 - 501).isSlotWithinDisparity(5)).toBe(false)
    expect(clockAt(start5 + 499).isSlotWithinDisparity(4)).toBe(true)
    expect(clockAt(start5 + 500).isSlotWithinDisparity(4)).toBe(false)
    expect(clockAt(start5 + 100).isSlotWithinDisparity(4, 50)).toBe(false)
    expect(clockAt(GENESIS_MS - 400).isSlotWithinDisparity(0)).toBe(true)
    expect(clockAt(GENESIS_MS - 600).isSlotWithinDisparity(0)).toBe(false)
    expect(clockAt(start5).currentSlotWithToleranceMs(-1)).toBe(4)
  })

  it('rejects nonsense parameters', () => {
    expect(() => new Clock({}, { genesisTime: 0, secondsPerSlot: 0, slotsPerEpoch: 32 })).toThrow(RangeError)
    expect(() => new Clock({}, { genesisTime: 0, secondsPerSlot: 12, slotsPerEpoch: 0 })).toThrow(RangeError)
  })
})

describe('Clock events', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  function fakeClock(startMs: number, onListenerError?: (err: unknown) => void): Clock {
    vi.useFakeTimers({ now: startMs })
    return new Clock({}, { genesisTime: GENESIS_S, secondsPerSlot: 12, slotsPerEpoch: 32, onListenerError })
  }

  it('announces slot 0 and epoch 0 at genesis, then each slot and epoch', () => {
    const clock = fakeClock(GENESIS_MS - 1000)
    const slots: number[] = []
    const epochs: number[] = []
    clock.onSlot((s) => slots.push(s))
    clock.onEpoch((e) => epochs.push(e))
    clock.start()
    vi.advanceTimersByTime(999)
    expect(slots).toEqual([])
    vi.advanceTimersByTime(1)
    expect(slots).toEqual([0])
    expect(epochs).toEqual([0])
    vi.advanceTimersByTime(EPOCH_MS)
    expect(slots.at(-1)).toBe(32)
    expect(slots.length).toBe(33)
    expect(epochs).toEqual([0, 1])
    clock.stop()
    clock.stop()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does not announce the slot in progress at start, and skips ahead after a long stall', () => {
    const clock = fakeClock(GENESIS_MS + 10 * SLOT_MS + 3000)
    const slots: number[] = []
    const epochs: number[] = []
    clock.onSlot((s) => slots.push(s))
    clock.onEpoch((e) => epochs.push(e))
    clock.start()
    vi.advanceTimersByTime(9000)
    expect(slots).toEqual([11])
    clock.stop()
    vi.setSystemTime(GENESIS_MS + 1000 * SLOT_MS + 1)
    clock.start()
    vi.setSystemTime(GENESIS_MS + 2000 * SLOT_MS + 1)
    vi.advanceTimersByTime(SLOT_MS)
    // Stalled far past the catch-up limit: only the current slot, and the epoch it is in.
    expect(slots).toEqual([11, 2001])
    expect(epochs).toEqual([62])
    clock.stop()
  })

  it('keeps going when a listener throws, and honours unsubscribe', () => {
    const errors: unknown[] = []
    const clock = fakeClock(GENESIS_MS, (err) => errors.push(err))
    const seen: number[] = []
    clock.onSlot(() => {
      throw new Error('boom')
    })
    const off = clock.onSlot((s) => seen.push(s))
    clock.start()
    vi.advanceTimersByTime(SLOT_MS)
    off()
    vi.advanceTimersByTime(SLOT_MS)
    expect(seen).toEqual([1])
    expect(errors.length).toBe(2)
    expect(clock.running).toBe(true)
    clock.stop()
    expect(clock.running).toBe(false)
  })

  it('stops from inside a listener', () => {
    const clock = fakeClock(GENESIS_MS)
    clock.onSlot(() => clock.stop())
    clock.start()
    vi.advanceTimersByTime(SLOT_MS)
    expect(vi.getTimerCount()).toBe(0)
  })
})
