import { describe, expect, it } from 'vitest'
import { LODESTAR_QUOTAS } from '../../../src/spec/quotas.js'
import { LimitErrorCode } from '../../../src/limits/errors.js'
import {
  UPSTREAM_LIMITER_DEFAULTS,
  UpstreamLimiter,
  type UpstreamLimiterOpts,
} from '../../../src/limits/upstreamLimiter.js'
import { fakeClock } from './helpers.js'

const BBR = 'beacon_blocks_by_range'

/** The bucket arithmetic without the jitter allowance, which has a test of its own, for peers of `client`. */
function limiter(opts: UpstreamLimiterOpts = {}, client: (peer: string) => string = () => 'lodestar') {
  const clock = fakeClock(1_700_000_000_000)
  return { l: new UpstreamLimiter({ now: clock.now, clientOf: client }, { jitterMs: 0, ...opts }), clock }
}

describe('UpstreamLimiter', () => {
  it('defaults to MAX_CONCURRENT_REQUESTS and 80% of the refill rate', () => {
    expect(UPSTREAM_LIMITER_DEFAULTS).toEqual({ maxConcurrent: 2, safetyFactor: 0.8, jitterMs: 500 })
  })

  it('jitter allowance: a refilling bucket waits until the tokens were there 500 ms ago; a full one does not', () => {
    const { l, clock } = limiter({ jitterMs: 500 })
    l.tryAcquire('up', BBR, 128)!.release() // full: no wait
    expect(l.waitMs('up', BBR, 1)).toBe(98 + 500)
    clock.advance(98)
    expect(l.canAcquire('up', BBR, 1)).toBe(false) // the token is there, but was not 500 ms ago
    clock.advance(500)
    l.tryAcquire('up', BBR, 1)!.release()
    clock.advance(13_000) // full again, and for longer than 500 ms: a full-size request goes at once
    expect(l.tryAcquire('up', BBR, 128)).not.toBeNull()
  })

  it('refuses a third concurrent request until one is released', () => {
    const { l } = limiter()
    const first = l.tryAcquire('up', BBR, 1)!
    const second = l.tryAcquire('up', BBR, 1)!
    expect(first).not.toBeNull()
    expect(second).not.toBeNull()
    expect(l.inFlight('up', BBR)).toBe(2)
    expect(l.canAcquire('up', BBR, 1)).toBe(false)
    expect(l.waitMs('up', BBR, 1)).toBe(0) // only concurrency blocks: wait for a release
    expect(l.tryAcquire('up', BBR, 1)).toBeNull()
    expect(l.inFlight('up', BBR)).toBe(2)
    // Other peers and other protocols have their own slots.
    expect(l.tryAcquire('other', BBR, 1)).not.toBeNull()
    expect(l.tryAcquire('up', 'status', 1)).not.toBeNull()
    first.release()
    expect(l.inFlight('up', BBR)).toBe(1)
    expect(l.tryAcquire('up', BBR, 1)).not.toBeNull()
  })

  it('release is idempotent', () => {
    const { l } = limiter()
    const a = l.tryAcquire('up', BBR, 1)!
    const b = l.tryAcquire('up', BBR, 1)!
    a.release()
    a.release()
    expect(l.inFlight('up', BBR)).toBe(1)
    expect(l.tryAcquire('up', BBR, 1)).not.toBeNull()
    expect(l.tryAcquire('up', BBR, 1)).toBeNull()
    b.release()
    b.release()
    expect(l.inFlight('up', BBR)).toBe(1)
  })

  it('describes the lease and keeps the tokens spent after release', () => {
    const { l } = limiter()
    const lease = l.tryAcquire('up', BBR, 128)!
    expect(lease).toMatchObject({ peer: 'up', protocol: BBR, cost: 128 })
    lease.release()
    expect(l.waitMs('up', BBR, 1)).toBe(98) // 97.65625 ms per block at 80%
  })

  it('fits a full-size request in a fresh bucket; refills at 80% of the quota’s rate', () => {
    const { l, clock } = limiter()
    expect(l.canAcquire('up', BBR, 128)).toBe(true)
    l.tryAcquire('up', BBR, 128)!.release()
    expect(l.waitMs('up', BBR, 128)).toBe(12_500) // 10 s / 0.8
    expect(l.waitMs('up', BBR, 64)).toBe(6_250)
    clock.advance(6_249)
    expect(l.tryAcquire('up', BBR, 64)).toBeNull()
    clock.advance(1)
    expect(l.tryAcquire('up', BBR, 64)).not.toBeNull()
  })

  it('reserveMore: a follow-up on the same slot takes more tokens, now or after a bounded wait, ahead of others', () => {
    const { l, clock } = limiter()
    const lease = l.tryAcquire('up', BBR, 100)!
    expect(lease.reserveMore(20, 0)).toBe(0) // 28 were left: taken now
    expect(l.inFlight('up', BBR)).toBe(1) // on the lease's slot, not another
    // 8 left; 16 more come after 8 × 97.65625 ms. Past the bound: nothing taken.
    expect(lease.reserveMore(16, 780)).toBeNull()
    expect(l.waitMs('up', BBR, 8)).toBe(0)
    expect(lease.reserveMore(16, 1_000)).toBe(782)
    // Reserved: another request now finds them gone until they are refilled.
    expect(l.canAcquire('up', BBR, 1)).toBe(false)
    clock.advance(782)
    expect(l.canAcquire('up', BBR, 1)).toBe(false)
    clock.advance(98)
    expect(l.canAcquire('up', BBR, 1)).toBe(true)
    expect(lease.reserveMore(129, Infinity)).toBeNull() // above the quota: never
    expect(limiter({ quotas: new Map() }).l.tryAcquire('up', BBR, 1)!.reserveMore(1e6, 0)).toBe(0) // no quota
  })

  it('never fits a cost above the quota', () => {
    const { l } = limiter()
    expect(l.waitMs('up', BBR, 129)).toBe(Infinity)
    expect(l.canAcquire('up', BBR, 129)).toBe(false)
    expect(l.tryAcquire('up', BBR, 129)).toBeNull()
    expect(l.trackedPeers).toBe(0)
  })

  it('canAcquire and waitMs change nothing; a refused tryAcquire takes nothing', () => {
    const { l } = limiter()
    for (let i = 0; i < 5; i++) expect(l.canAcquire('up', BBR, 100)).toBe(true)
    expect(l.waitMs('up', BBR, 100)).toBe(0)
    expect(l.trackedPeers).toBe(0)
    const a = l.tryAcquire('up', BBR, 100)!
    expect(l.tryAcquire('up', BBR, 100)).toBeNull() // short of tokens
    expect(l.inFlight('up', BBR)).toBe(1)
    l.tryAcquire('up', BBR, 1)
    expect(l.tryAcquire('up', BBR, 1)).toBeNull() // concurrency: the 27 left must stay
    a.release()
    expect(l.tryAcquire('up', BBR, 27)).not.toBeNull()
  })

  it('applies only the concurrency limit to protocols without a quota', () => {
    const { l } = limiter({ quotas: new Map() })
    const a = l.tryAcquire('up', 'custom', 1e6)!
    l.tryAcquire('up', 'custom', 1e6)
    expect(l.tryAcquire('up', 'custom', 1)).toBeNull()
    expect(l.waitMs('up', 'custom', 1e9)).toBe(0)
    a.release()
    expect(l.canAcquire('up', 'custom', 1e9)).toBe(true)
  })

  it('forgetPeer frees the slots but keeps a bucket until it has refilled', () => {
    const { l, clock } = limiter()
    const stale = l.tryAcquire('up', BBR, 128)!
    l.tryAcquire('up', 'status', 1)
    l.forgetPeer('up')
    expect(l.inFlight('up', BBR)).toBe(0)
    expect(l.waitMs('up', BBR, 128)).toBe(12_500) // a quick reconnect must not burst again
    stale.release() // a lease from before forgetPeer does not touch the new count
    const fresh = l.tryAcquire('up', 'status', 1)!
    stale.release()
    expect(l.inFlight('up', 'status')).toBe(1)
    fresh.release()
    clock.advance(7_500) // the 2 status tokens are back (3750 ms each at 80%)
    l.prune()
    expect(l.waitMs('up', BBR, 128)).toBe(5_000) // the blocks bucket was kept
    clock.advance(5_000)
    l.forgetPeer('up')
    expect(l.trackedPeers).toBe(0)
  })

  it('prune forgets peers whose buckets are full and that have nothing open', () => {
    const { l, clock } = limiter()
    l.tryAcquire('a', BBR, 10)!.release()
    const open = l.tryAcquire('b', BBR, 10)!
    clock.advance(977) // 10 × 97.65625 ms
    l.prune()
    expect(l.trackedPeers).toBe(1)
    open.release()
    expect(l.trackedPeers).toBe(0)
  })

  it('rejects bad costs and options with typed errors', () => {
    const { l } = limiter()
    const code = (c: LimitErrorCode) => expect.objectContaining({ code: c })
    expect(() => l.tryAcquire('up', BBR, NaN)).toThrow(code(LimitErrorCode.INVALID_COST))
    expect(() => l.waitMs('up', 'custom', -1)).toThrow(code(LimitErrorCode.INVALID_COST))
    for (const opts of [{ safetyFactor: 0 }, { safetyFactor: 1.1 }, { maxConcurrent: 0 }, { maxConcurrent: 1.5 }]) {
      expect(() => new UpstreamLimiter({}, opts)).toThrow(code(LimitErrorCode.INVALID_OPTION))
    }
  })

  it('holds a Lodestar peer to Lodestar’s quotas', () => {
    const { l } = limiter()
    for (const [protocol, quota] of Object.entries(LODESTAR_QUOTAS)) {
      expect(l.waitMs('up', protocol, quota.tokens)).toBe(0)
      expect(l.waitMs('up', protocol, quota.tokens + 1)).toBe(Infinity)
    }
  })
})
