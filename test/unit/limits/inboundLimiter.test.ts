import { describe, expect, it } from 'vitest'
import {
  INBOUND_LIMITER_DEFAULTS,
  InboundRateLimiter,
  type InboundRateLimiterOpts,
} from '../../../src/limits/inboundLimiter.js'
import { LimitErrorCode } from '../../../src/limits/errors.js'
import { type Quota } from '../../../src/spec/quotas.js'
import { fakeClock } from './helpers.js'

/** 10 items per second per peer: one every 100 ms, so every delay below is exact. */
const TEN_PER_SECOND: Quota = { tokens: 10, seconds: 1 }

function limiter(opts: InboundRateLimiterOpts = {}) {
  const clock = fakeClock(1_700_000_000_000)
  const l = new InboundRateLimiter({ now: clock.now }, { quotas: new Map([['p', TEN_PER_SECOND]]), ...opts })
  return { l, clock }
}

const ok = (delayMs: number) => ({ ok: true, delayMs })
const refused = (reason: string) => ({ ok: false, reason })

describe('InboundRateLimiter', () => {
  it('lets protocols without a quota through at once, whatever the cost', () => {
    const { l } = limiter({ globalQuota: TEN_PER_SECOND })
    for (let i = 0; i < 5; i++) expect(l.check('a', 'other', 1e6)).toEqual(ok(0))
    expect(l.trackedPeers).toBe(0)
  })

  it('throttles first, with exact delays, then refuses', () => {
    const { l, clock } = limiter()
    expect(l.check('a', 'p', 10)).toEqual(ok(0))
    expect(l.check('a', 'p', 10)).toEqual(ok(1000))
    expect(l.check('a', 'p', 10)).toEqual(ok(2000))
    expect(l.check('a', 'p', 10)).toEqual(refused('peer_quota'))
    expect(l.check('a', 'p', 1)).toEqual(refused('peer_quota')) // due in 2100 ms > 2000
    clock.advance(100)
    // Exactly the earlier refusals took nothing: one item is due in 2000 ms again.
    expect(l.check('a', 'p', 1)).toEqual(ok(2000))
  })

  it('queues concurrent requests with increasing delays', () => {
    const { l } = limiter({ quotas: new Map([['beacon_blocks_by_range', { tokens: 128, seconds: 10 }]]) })
    const delays = Array.from({ length: 11 }, () => l.check('a', 'beacon_blocks_by_range', 16))
    // 8 × 16 drain the 128; then one per 16 × 78.125 ms = 1250 ms; the 11th would wait 2500 ms.
    expect(delays).toEqual([...Array(8).fill(ok(0)), ok(1250), refused('peer_quota'), refused('peer_quota')])
  })

  it('keeps each peer’s quota separate', () => {
    const { l } = limiter()
    expect(l.check('a', 'p', 10)).toEqual(ok(0))
    expect(l.check('b', 'p', 10)).toEqual(ok(0))
    expect(l.check('a', 'p', 5)).toEqual(ok(500))
  })

  it('refuses a cost above a bucket’s capacity outright, taking nothing', () => {
    const { l } = limiter({ globalQuota: { tokens: 8, seconds: 1 } })
    expect(l.check('a', 'p', 11)).toEqual(refused('cost_exceeds_quota'))
    expect(l.check('a', 'p', 9)).toEqual(refused('cost_exceeds_quota'))
    expect(l.trackedPeers).toBe(0)
    expect(l.check('a', 'p', 8)).toEqual(ok(0))
  })

  it('refuses across peers once the global bucket is spent, taking nothing from the peer bucket', () => {
    const { l, clock } = limiter({ globalQuota: { tokens: 20, seconds: 1 }, maxDelayMs: 0 })
    expect(l.check('a', 'p', 10)).toEqual(ok(0))
    expect(l.check('b', 'p', 10)).toEqual(ok(0))
    expect(l.check('c', 'p', 1)).toEqual(refused('global_quota'))
    expect(l.trackedPeers).toBe(2) // c was refused: no bucket made for it
    expect(l.check('a', 'p', 1)).toEqual(refused('peer_quota'))
    clock.advance(50) // one global token (50 ms each)
    expect(l.check('c', 'p', 1)).toEqual(ok(0))
    expect(l.check('d', 'p', 1)).toEqual(refused('global_quota'))
    clock.advance(50)
    // c's peer bucket lost exactly 1 item: 9 more fit its bucket, but the global one has 1 → refused, nothing taken.
    expect(l.check('c', 'p', 9)).toEqual(refused('global_quota'))
    clock.advance(1000)
    expect(l.check('c', 'p', 10)).toEqual(ok(0))
  })

  it('charges the peer bucket when the request is served, not when it arrived', () => {
    const { l, clock } = limiter({ globalQuota: { tokens: 20, seconds: 1 } }) // global: 50 ms per item
    l.check('b', 'p', 10)
    l.check('c', 'p', 10)
    expect(l.check('a', 'p', 10)).toEqual(ok(500)) // a's bucket is full; the global one makes it wait
    clock.advance(1000)
    // Served at 500, a's 10 items are back at 1500: 500 ms from now (the global bucket is full again).
    expect(l.check('a', 'p', 10)).toEqual(ok(500))
  })

  it('delays by the later of the two buckets and reserves both at that instant', () => {
    const { l } = limiter({ globalQuota: { tokens: 20, seconds: 1 } }) // global: 50 ms per item
    expect(l.check('a', 'p', 10)).toEqual(ok(0))
    expect(l.check('b', 'p', 10)).toEqual(ok(0))
    expect(l.check('c', 'p', 10)).toEqual(ok(500)) // global only
    expect(l.check('a', 'p', 5)).toEqual(ok(750)) // peer due at 500, global at 750
    // a's bucket was charged at 750 (not 500): its next 5 are due at 750 + 500 - 250 → 1000; global also 1000.
    expect(l.check('a', 'p', 5)).toEqual(ok(1000))
    expect(l.check('c', 'p', 1)).toEqual(ok(1050))
  })

  it('forgetPeer drops a peer’s buckets', () => {
    const { l } = limiter()
    l.check('a', 'p', 10)
    l.check('b', 'p', 10)
    expect(l.trackedPeers).toBe(2)
    l.forgetPeer('a')
    expect(l.trackedPeers).toBe(1)
    expect(l.check('a', 'p', 10)).toEqual(ok(0))
    expect(l.check('b', 'p', 10)).toEqual(ok(1000))
  })

  it('prune drops only buckets that have refilled', () => {
    const quotas = new Map([
      ['p', TEN_PER_SECOND],
      ['slow', { tokens: 1, seconds: 10 }],
    ])
    const { l, clock } = limiter({ quotas })
    l.check('a', 'p', 10)
    l.check('b', 'p', 1)
    l.check('b', 'slow', 1)
    l.prune()
    expect(l.trackedPeers).toBe(2)
    clock.advance(999)
    l.prune()
    expect(l.trackedPeers).toBe(2)
    clock.advance(1)
    l.prune()
    expect(l.trackedPeers).toBe(1) // a's only bucket is full; b still has the slow one
    expect(l.check('b', 'slow', 1)).toEqual(refused('peer_quota')) // kept: still 9 s from its next item
  })

  it('caps tracked peers, forgetting the least recently admitted', () => {
    const { l } = limiter({ maxPeers: 3 })
    for (const peer of ['a', 'b', 'c']) l.check(peer, 'p', 10)
    l.check('a', 'p', 1) // a is now the most recent
    l.check('d', 'p', 10)
    expect(l.trackedPeers).toBe(3)
    expect(l.check('b', 'p', 10)).toEqual(ok(0)) // b was dropped: fresh bucket (and c is dropped now)
    expect(l.check('a', 'p', 9)).toEqual(ok(1000)) // a kept its bucket (11 items taken)
    expect(l.check('d', 'p', 10)).toEqual(ok(1000))
    expect(l.trackedPeers).toBe(3)
  })

  it('defaults to Lodestar’s quotas (blocks by range at Lighthouse’s 1024/10 s) and a 2 s maximum delay', () => {
    expect(INBOUND_LIMITER_DEFAULTS).toEqual({ maxDelayMs: 2000, maxPeers: 10_000 })
    const clock = fakeClock()
    const l = new InboundRateLimiter({ now: clock.now })
    expect(l.check('a', 'beacon_blocks_by_root', 129)).toEqual(refused('cost_exceeds_quota'))
    expect(l.check('a', 'beacon_blocks_by_root', 128)).toEqual(ok(0))
    expect(l.check('a', 'beacon_blocks_by_root', 25)).toEqual(ok(1954)) // 25 × 78.125 = 1953.125
    expect(l.check('a', 'beacon_blocks_by_root', 1)).toEqual(refused('peer_quota'))
    // A syncing node's batches: eight full-size ranges at once, the ninth waits a second and a quarter.
    for (let i = 0; i < 8; i++) expect(l.check('a', 'beacon_blocks_by_range', 128)).toEqual(ok(0))
    expect(l.check('a', 'beacon_blocks_by_range', 128)).toEqual(ok(1250))
    expect(l.check('a', 'status', 5)).toEqual(ok(0))
    expect(l.check('a', 'status', 1)).toEqual(refused('peer_quota')) // 3 s per status
  })

  it('rejects bad costs and options with typed errors', () => {
    const { l } = limiter()
    expect(() => l.check('a', 'p', -1)).toThrow(expect.objectContaining({ code: LimitErrorCode.INVALID_COST }))
    const bad = (opts: InboundRateLimiterOpts) => () => new InboundRateLimiter({}, opts)
    const code = (c: LimitErrorCode) => expect.objectContaining({ code: c })
    expect(bad({ maxPeers: 0 })).toThrow(code(LimitErrorCode.INVALID_OPTION))
    expect(bad({ maxDelayMs: -1 })).toThrow(code(LimitErrorCode.INVALID_OPTION))
    expect(bad({ quotas: new Map([['p', { tokens: 0, seconds: 1 }]]) })).toThrow(code(LimitErrorCode.INVALID_QUOTA))
    expect(bad({ globalQuota: { tokens: 1, seconds: 0 } })).toThrow(code(LimitErrorCode.INVALID_QUOTA))
  })
})
