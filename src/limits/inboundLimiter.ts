import { LimitError, LimitErrorCode, assertCost } from './errors.js'
import { INBOUND_QUOTAS, type Quota } from '../spec/quotas.js'
import { assertQuota } from './quota.js'
import { TokenBucket } from './tokenBucket.js'

/**
 * Inbound rate limit: what Contower lets each requesting peer ask of it, per protocol, plus an optional bucket
 * shared by all peers and protocols (cost = the same item count) that bounds the work forwarded upstream.
 *
 * Mechanism: every bucket is a GCRA `TokenBucket`; a request is throttled before it is refused. `check` asks each
 * bucket how long until `cost` tokens are there; if both answers are within `maxDelayMs`, it reserves the tokens
 * in both buckets at the later of the two instants (the instant the request will be served) and returns that
 * delay. A reservation puts a bucket into debt at once, so the next caller is queued behind it and gets a longer
 * delay: concurrent requests are served in arrival order, and the served instants never exceed the quota in any
 * window. Otherwise nothing is taken and the request is refused; a cost above a bucket's capacity is refused
 * outright (it could never fit, as Lodestar also treats it).
 */

export const INBOUND_LIMITER_DEFAULTS = {
  /** Lodestar's requester waits up to 5 s TTFB; delay well within it. */
  maxDelayMs: 2_000,
  /** Memory bound against peer-id churn: about 50 times Lodestar's 210-peer maximum; the oldest peer goes first. */
  maxPeers: 10_000,
}

export interface InboundRateLimiterModules {
  /** ms clock; tests pass a fake one. */
  now?: () => number
}

export interface InboundRateLimiterOpts {
  /** Per-peer quota by protocol name; protocols without one are unlimited. Default: INBOUND_QUOTAS. */
  quotas?: ReadonlyMap<string, Quota>
  /** One bucket over all peers (and every limited protocol); null for none. */
  globalQuota?: Quota | null
  maxDelayMs?: number
  maxPeers?: number
}

export type InboundRefusal = 'peer_quota' | 'global_quota' | 'cost_exceeds_quota'

export type InboundDecision = { ok: true; delayMs: number } | { ok: false; reason: InboundRefusal }

export class InboundRateLimiter {
  private readonly now: () => number
  private readonly quotas: ReadonlyMap<string, Quota>
  private readonly global: TokenBucket | null
  private readonly maxDelayMs: number
  private readonly maxPeers: number
  /** Peer → protocol → bucket, least recently admitted peer first. */
  private readonly peers = new Map<string, Map<string, TokenBucket>>()

  constructor(modules: InboundRateLimiterModules = {}, opts: InboundRateLimiterOpts = {}) {
    this.now = modules.now ?? Date.now
    this.quotas = opts.quotas ?? new Map(Object.entries(INBOUND_QUOTAS))
    for (const quota of this.quotas.values()) assertQuota(quota)
    this.global = opts.globalQuota ? new TokenBucket({ now: this.now }, opts.globalQuota) : null
    this.maxDelayMs = opts.maxDelayMs ?? INBOUND_LIMITER_DEFAULTS.maxDelayMs
    this.maxPeers = opts.maxPeers ?? INBOUND_LIMITER_DEFAULTS.maxPeers
    if (!(this.maxDelayMs >= 0)) throw new LimitError(LimitErrorCode.INVALID_OPTION, { maxDelayMs: this.maxDelayMs })
    if (!(Number.isInteger(this.maxPeers) && this.maxPeers > 0)) {
      throw new LimitError(LimitErrorCode.INVALID_OPTION, { maxPeers: this.maxPeers })
    }
  }

  /** Admits (serve after `delayMs`; the tokens are already taken) or refuses (nothing taken) a request. */
  check(peer: string, protocol: string, cost: number): InboundDecision {
    assertCost(cost)
    const quota = this.quotas.get(protocol)
    if (!quota) return { ok: true, delayMs: 0 }
    if (cost > quota.tokens || (this.global && cost > this.global.capacity)) {
      return { ok: false, reason: 'cost_exceeds_quota' }
    }
    const bucket = this.peers.get(peer)?.get(protocol)
    // A peer without a bucket has a full one: it is created only once the request is admitted.
    const peerWaitMs = bucket ? bucket.msUntil(cost) : 0
    if (peerWaitMs > this.maxDelayMs) return { ok: false, reason: 'peer_quota' }
    const globalWaitMs = this.global ? this.global.msUntil(cost) : 0
    if (globalWaitMs > this.maxDelayMs) return { ok: false, reason: 'global_quota' }

    const delayMs = Math.max(peerWaitMs, globalWaitMs)
    ;(bucket ?? this.createBucket(peer, protocol, quota)).reserve(cost, delayMs)
    this.global?.reserve(cost, delayMs)
    this.touch(peer)
    return { ok: true, delayMs }
  }

  /** Drops a disconnected peer's buckets. */
  forgetPeer(peer: string): void {
    this.peers.delete(peer)
  }

  /** Drops full buckets (idle long enough to have refilled) and peers left without any. */
  prune(): void {
    for (const [peer, buckets] of this.peers) {
      for (const [protocol, bucket] of buckets) if (bucket.isFull()) buckets.delete(protocol)
      if (buckets.size === 0) this.peers.delete(peer)
    }
  }

  /** Peers with at least one bucket (for metrics and tests). */
  get trackedPeers(): number {
    return this.peers.size
  }

  private createBucket(peer: string, protocol: string, quota: Quota): TokenBucket {
    let buckets = this.peers.get(peer)
    if (!buckets) {
      buckets = new Map()
      this.peers.set(peer, buckets)
      // Over the cap: forget the least recently admitted peer (its limits start afresh if it returns).
      if (this.peers.size > this.maxPeers) this.peers.delete(this.peers.keys().next().value!)
    }
    const bucket = new TokenBucket({ now: this.now }, quota)
    buckets.set(protocol, bucket)
    return bucket
  }

  /** Moves the peer to the end of the map's order (most recently admitted). */
  private touch(peer: string): void {
    const buckets = this.peers.get(peer)
    if (!buckets) return
    this.peers.delete(peer)
    this.peers.set(peer, buckets)
  }
}
