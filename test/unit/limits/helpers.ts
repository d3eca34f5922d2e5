import type { Quota } from '../../../src/spec/quotas.js'

/** A hand-driven ms clock. */
export function fakeClock(start = 0): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) }
}

/** Deterministic PRNG (mulberry32) so flood simulations replay exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Lodestar's inbound check for one (peer, protocol), written from its description (eth2-p2p.md §6): GCRA with
 * L = 1 token per `quotaMs / quota`, a new key starts full, a request needing more than the whole window is refused.
 * Feed it arrivals in time order; `false` means Lodestar would ban the requester.
 */
export class LodestarModel {
  private tat: number | undefined
  private readonly windowMs: number
  private readonly msPerToken: number

  constructor(quota: Quota) {
    this.windowMs = quota.seconds * 1000
    this.msPerToken = this.windowMs / quota.tokens
  }

  allows(nowMs: number, tokens: number): boolean {
    const needMs = this.msPerToken * tokens
    if (needMs > this.windowMs) return false
    const tat = this.tat ?? nowMs
    if (nowMs < tat + needMs - this.windowMs) return false
    this.tat = Math.max(nowMs, tat) + needMs
    return true
  }
}
