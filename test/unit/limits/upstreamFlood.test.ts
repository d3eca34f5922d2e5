import { describe, expect, it } from 'vitest'
import { LODESTAR_QUOTAS } from '../../../src/spec/quotas.js'
import { UpstreamLimiter, type UpstreamLease } from '../../../src/limits/upstreamLimiter.js'
import { LodestarModel, fakeClock, prng } from './helpers.js'

interface Sent {
  t: number
  cost: number
}

const DURATION_MS = 60_000

/**
 * A flood against one upstream over 60 simulated seconds: every ms, three callers try requests of random cost
 * (1..maxCost); granted leases stay open 0-400 ms. Returns what was sent, in order.
 */
function flood(
  protocol: string,
  maxCost: number,
  seed: number,
  opts: { safetyFactor?: number; jitterMs?: number } = {},
): Sent[] {
  const start = 1_700_000_000_000 // epoch-sized, as Date.now gives: float rounding shows at this magnitude
  const clock = fakeClock(start)
  const quotas = new Map([[protocol, LODESTAR_QUOTAS[protocol]]])
  const l = new UpstreamLimiter({ now: clock.now }, { quotas, ...opts })
  const rand = prng(seed)
  let open: { lease: UpstreamLease; until: number }[] = []
  const sent: Sent[] = []
  for (let t = 0; t < DURATION_MS; t++) {
    clock.set(start + t)
    for (const o of open) if (o.until <= t) o.lease.release()
    open = open.filter((o) => o.until > t)
    expect(l.inFlight('up', protocol)).toBeLessThanOrEqual(2)
    for (let caller = 0; caller < 3; caller++) {
      const cost = 1 + Math.floor(rand() * maxCost)
      const lease = l.tryAcquire('up', protocol, cost)
      if (!lease) continue
      sent.push({ t, cost })
      open.push({ lease, until: t + Math.floor(rand() * 400) })
    }
  }
  return sent
}

/** Index of the first request Lodestar would refuse (and ban for) when they arrive at these times; -1 for none. */
function firstRefused(protocol: string, arrivals: Sent[]): number {
  const model = new LodestarModel(LODESTAR_QUOTAS[protocol])
  return arrivals.findIndex((a) => !model.allows(a.t, a.cost))
}

/** Largest excess over `tokens + ratePerMs * (span)` of the total cost sent within any window. */
function worstWindowExcess(sent: Sent[], tokens: number, ratePerMs: number): number {
  let worst = -Infinity
  for (let i = 0; i < sent.length; i++) {
    let total = 0
    for (let j = i; j < sent.length; j++) {
      total += sent[j].cost
      worst = Math.max(worst, total - tokens - ratePerMs * (sent[j].t - sent[i].t))
    }
  }
  return worst
}

/** Each request delayed by a random 0..maxMs on its way, then put in arrival order. */
function withJitter(sent: Sent[], maxMs: number, seed: number): Sent[] {
  const rand = prng(seed)
  return sent.map((s) => ({ t: s.t + rand() * maxMs, cost: s.cost })).sort((a, b) => a.t - b.t)
}

const CASES = [
  { protocol: 'beacon_blocks_by_range', maxCost: 128 },
  { protocol: 'beacon_blocks_by_range', maxCost: 8 },
  { protocol: 'status', maxCost: 1 },
  { protocol: 'blob_sidecars_by_range', maxCost: 1152 },
  { protocol: 'data_column_sidecars_by_range', maxCost: 16384 },
]

describe('UpstreamLimiter under a flood', () => {
  it.each(CASES)('never sends $protocol (costs 1..$maxCost) faster than Lodestar allows', ({ protocol, maxCost }) => {
    const { tokens, seconds } = LODESTAR_QUOTAS[protocol]
    const sent = flood(protocol, maxCost, 1)
    expect(firstRefused(protocol, sent)).toBe(-1)
    // Any window carries at most a full bucket plus 80% of the quota's refill over the window...
    const ratePerMs = (0.8 * tokens) / (seconds * 1000)
    expect(worstWindowExcess(sent, tokens, ratePerMs)).toBeLessThanOrEqual(1e-9)
    // ...and the flood did use most of that, so the checks above are not vacuous.
    const total = sent.reduce((sum, s) => sum + s.cost, 0)
    expect(total).toBeGreaterThan(0.9 * (tokens + ratePerMs * DURATION_MS))
  })

  it('keeps any 10 s of beacon_blocks_by_range within 128 + 80% of 128 blocks', () => {
    const sent = flood('beacon_blocks_by_range', 128, 2)
    for (const start of sent) {
      const inWindow = sent.filter((s) => s.t >= start.t && s.t < start.t + 10_000)
      expect(inWindow.reduce((sum, s) => sum + s.cost, 0)).toBeLessThanOrEqual(128 + 0.8 * 128)
    }
  })

  it('with the safety factor at 1, uses the whole quota and still never exceeds it', () => {
    const sent = flood('beacon_blocks_by_range', 128, 3, { safetyFactor: 1 })
    expect(firstRefused('beacon_blocks_by_range', sent)).toBe(-1)
    const total = sent.reduce((sum, s) => sum + s.cost, 0)
    expect(total).toBeGreaterThan(0.95 * (128 + 128 * 6))
  })

  it('the 80% refill absorbs arrival jitter that would get a full-rate sender banned', () => {
    const safe = flood('beacon_blocks_by_range', 8, 4, { jitterMs: 0 })
    const tight = flood('beacon_blocks_by_range', 8, 4, { safetyFactor: 1, jitterMs: 0 })
    // Up to 15 ms of jitter: below the 19.5 ms the slower refill gains per block.
    for (let seed = 0; seed < 5; seed++) {
      expect(firstRefused('beacon_blocks_by_range', withJitter(safe, 15, seed))).toBe(-1)
    }
    // Same flood at the full rate: the same jitter gets it refused (and banned) for some of the seeds.
    const refusals = [0, 1, 2, 3, 4].map((seed) => firstRefused('beacon_blocks_by_range', withJitter(tight, 15, seed)))
    expect(refusals.some((index) => index >= 0)).toBe(true)
  })

  it.each([100, 250, 499])(
    'the jitter allowance keeps a request in time when the ones before it reached the peer %i ms late',
    (lateMs) => {
      // Three ranges of 32 blocks and the slot after each (33) from a full bucket, then a fourth as soon as the
      // limiter lets it go; the first three reach the peer lateMs after they were sent, the fourth at once.
      const fourthRefused = (jitterMs: number) => {
        const clock = fakeClock(1_700_000_000_000)
        const l = new UpstreamLimiter({ now: clock.now, clientOf: () => 'lodestar' }, { jitterMs })
        for (let i = 0; i < 3; i++) l.tryAcquire('up', 'beacon_blocks_by_range', 33)!.release()
        const waitMs = l.waitMs('up', 'beacon_blocks_by_range', 33)
        clock.advance(waitMs)
        expect(l.tryAcquire('up', 'beacon_blocks_by_range', 33)).not.toBeNull()
        const arrivals = [lateMs, lateMs, lateMs, waitMs].map((t) => ({ t, cost: 33 })).sort((a, b) => a.t - b.t)
        return firstRefused('beacon_blocks_by_range', arrivals) >= 0
      }
      expect(fourthRefused(500)).toBe(false)
      expect(fourthRefused(0)).toBe(true) // the slower refill alone gained 4 blocks × 19.5 ms = 78 ms
    },
  )
})
