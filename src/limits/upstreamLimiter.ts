import { MAX_CONCURRENT_REQUESTS } from '../spec/reqresp.js'
import { LimitError, LimitErrorCode, assertCost } from './errors.js'
import { type Quota, quotaModelsFor, UPSTREAM_QUOTA_MODELS, type UpstreamQuotaModel } from '../spec/quotas.js'
import { assertQuota } from './quota.js'
import { TokenBucket } from './tokenBucket.js'

/**
 * Contower's self-limit towards each upstream peer, so it never sends more than that peer enforces (Lodestar bans on
 * excess, Prysm after five, Teku disconnects). Per (upstream peer, protocol): at most `maxConcurrent` open requests,
 * and GCRA token buckets with the quotas of the peer's client (spec/quotas.ts UPSTREAM_QUOTA_MODELS: a protocol's
 * own, one shared with other protocols, one for all requests; all models at once for a client without one) whose
 * refill rate is scaled by `safetyFactor`. The capacity stays the quota's tokens, so a full-size request (128
 * blocks) still fits a fresh bucket; the slower refill leaves room for requests that the network delivers closer
 * together than they were sent. A lease holds one concurrency slot until `release()`; its tokens are spent for good
 * (the peer counted the request the moment it arrived). A peer first asked before its agent was known keeps the
 * buckets of every model, its own among them, until they refill.
 */

export const UPSTREAM_LIMITER_DEFAULTS = {
  /** consensus-specs MAX_CONCURRENT_REQUESTS: a requester must not have more open per protocol per peer. */
  maxConcurrent: MAX_CONCURRENT_REQUESTS,
  /** Refill at 80% of the peer's rate: arrival jitter can bunch requests that were sent far enough apart. */
  safetyFactor: 0.8,
  /**
   * ...and wait until the tokens were there this long ago (TokenBucketOpts.jitterMs): the slower refill alone gains
   * only ~20 ms per block waited for, so a request that waited for one block was refused by an upstream when the
   * ones before it reached the peer 80 ms late (seen on a loaded machine, `relay-limits` e2e, 1 run in 10).
   */
  jitterMs: 500,
}

export interface UpstreamLimiterModules {
  /** ms clock; tests pass a fake one. */
  now?: () => number
  /** A peer's client family (peerStore.ts clientFromAgent), which picks its quotas; default: none known. */
  clientOf?: (peer: string) => string
}

export interface UpstreamLimiterOpts {
  /** One quota table for every peer, by protocol name, instead of the client models (tests, benchmarks). */
  quotas?: ReadonlyMap<string, Quota>
  maxConcurrent?: number
  safetyFactor?: number
  jitterMs?: number
}

export interface UpstreamLease {
  readonly peer: string
  readonly protocol: string
  readonly cost: number
  /** Frees the concurrency slot; the tokens stay spent. Calling it again does nothing. */
  release(): void
  /**
   * Reserves `cost` more tokens of the same peer and protocol for a follow-up request on this lease's slot (the first
   * request's stream has ended): returns the ms until they are there (0: now), or null, taking nothing, when that
   * would be longer than `maxWaitMs`. The reservation goes ahead of requests still waiting for the peer.
   */
  reserveMore(cost: number, maxWaitMs: number): number | null
  /**
   * The peer answered that we ask too fast, so its limits are stricter than its client's model (an operator's
   * setting): exhausts this peer's buckets for the protocol, so nothing is asked of it for a whole refill window.
   */
  backOff(): void
}

/** Open requests of one (peer, protocol); replaced, not reset, by forgetPeer so stale leases cannot touch the new. */
interface OpenCount {
  n: number
}

interface PeerState {
  /** By model and bucket name, e.g. `prysm:blocks`, `teku:requests`. */
  buckets: Map<string, TokenBucket>
  open: Map<string, OpenCount>
}

/** What a request takes from one bucket. */
interface Charge {
  key: string
  quota: Quota
  cost: number
  /** The bucket every request draws on, whatever its protocol. */
  everyRequest?: boolean
  /** Charged the request's items (not one per request). */
  perItem?: boolean
}

/** The models' name for a configured table (opts.quotas). */
const CONFIGURED = 'configured'

export class UpstreamLimiter {
  private readonly now: () => number
  private readonly models: ReadonlyMap<string, UpstreamQuotaModel>
  /** The models a peer is held to: its client's (all of them for an unknown client), or the configured table. */
  private readonly modelsOf: (peer: string) => readonly string[]
  private readonly maxConcurrent: number
  private readonly safetyFactor: number
  private readonly jitterMs: number
  private readonly peers = new Map<string, PeerState>()

  constructor(modules: UpstreamLimiterModules = {}, opts: UpstreamLimiterOpts = {}) {
    this.now = modules.now ?? Date.now
    const clientOf = modules.clientOf ?? (() => 'other')
    this.models = opts.quotas
      ? new Map([[CONFIGURED, { protocols: Object.fromEntries(opts.quotas) }]])
      : new Map(Object.entries(UPSTREAM_QUOTA_MODELS))
    this.modelsOf = opts.quotas ? () => [CONFIGURED] : (peer) => quotaModelsFor(clientOf(peer))
    for (const model of this.models.values()) {
      for (const quota of Object.values(model.protocols)) assertQuota(quota)
      if (model.requests) assertQuota(model.requests)
    }
    this.maxConcurrent = opts.maxConcurrent ?? UPSTREAM_LIMITER_DEFAULTS.maxConcurrent
    this.safetyFactor = opts.safetyFactor ?? UPSTREAM_LIMITER_DEFAULTS.safetyFactor
    this.jitterMs = opts.jitterMs ?? UPSTREAM_LIMITER_DEFAULTS.jitterMs
    if (!(Number.isInteger(this.maxConcurrent) && this.maxConcurrent > 0)) {
      throw new LimitError(LimitErrorCode.INVALID_OPTION, { maxConcurrent: this.maxConcurrent })
    }
    if (!(this.safetyFactor > 0 && this.safetyFactor <= 1)) {
      throw new LimitError(LimitErrorCode.INVALID_OPTION, { safetyFactor: this.safetyFactor })
    }
  }

  /** Takes a slot and `cost` tokens if both are free now; otherwise takes nothing and returns null. */
  tryAcquire(peer: string, protocol: string, cost: number): UpstreamLease | null {
    if (!this.canAcquire(peer, protocol, cost)) return null
    const state = this.stateFor(peer)
    for (const charge of this.charges(peer, protocol, cost)) this.bucketFor(state, charge).tryTake(charge.cost)
    let open = state.open.get(protocol)
    if (!open) {
      open = { n: 0 }
      state.open.set(protocol, open)
    }
    open.n++
    return this.lease(peer, protocol, cost, open)
  }

  /** ms until the tokens are there: 0 when only concurrency blocks (wait for a release), Infinity if never. */
  waitMs(peer: string, protocol: string, cost: number): number {
    assertCost(cost)
    const buckets = this.peers.get(peer)?.buckets
    let waitMs = 0
    for (const charge of this.charges(peer, protocol, cost)) {
      if (charge.cost > charge.quota.tokens) return Infinity
      waitMs = Math.max(waitMs, buckets?.get(charge.key)?.msUntil(charge.cost) ?? 0)
    }
    return waitMs
  }

  /** Whether a request of `cost` can ever be sent to `peer`: it is no larger than any bucket it draws on. */
  fits(peer: string, protocol: string, cost: number): boolean {
    return cost <= this.largestCost(peer, protocol)
  }

  /**
   * The largest cost one request of `protocol` can have at `peer`: the smallest bucket charged by the item (Infinity
   * when every bucket charges by the request). A larger request is asked in parts (relay.ts partsToFit).
   */
  largestCost(peer: string, protocol: string): number {
    let largest = Infinity
    for (const charge of this.charges(peer, protocol, 1))
      if (charge.perItem) largest = Math.min(largest, charge.quota.tokens)
    return largest
  }

  /** Whether tryAcquire would succeed now; changes nothing. */
  canAcquire(peer: string, protocol: string, cost: number): boolean {
    return this.inFlight(peer, protocol) < this.maxConcurrent && this.waitMs(peer, protocol, cost) === 0
  }

  inFlight(peer: string, protocol: string): number {
    return this.peers.get(peer)?.open.get(protocol)?.n ?? 0
  }

  /** Requests open at `peer`, all protocols together. */
  openTo(peer: string): number {
    let n = 0
    for (const open of this.peers.get(peer)?.open.values() ?? []) n += open.n
    return n
  }

  /** Open requests per upstream peer, all protocols together (what the fleet announces). */
  openByPeer(): Map<string, number> {
    const out = new Map<string, number>()
    for (const peer of this.peers.keys()) {
      const n = this.openTo(peer)
      if (n > 0) out.set(peer, n)
    }
    return out
  }

  /**
   * A disconnected peer's open requests are dead: frees its slots. Buckets that are not yet full are kept until
   * prune() finds them full, so a quick reconnect cannot burst at a peer that still remembers the last requests.
   */
  forgetPeer(peer: string): void {
    const state = this.peers.get(peer)
    if (!state) return
    state.open.clear()
    this.dropFullBuckets(peer, state)
  }

  /** Drops full buckets (they equal fresh ones) and peers left with nothing. */
  prune(): void {
    for (const [peer, state] of this.peers) this.dropFullBuckets(peer, state)
  }

  /** Peers with buckets or open requests (for metrics and tests). */
  get trackedPeers(): number {
    return this.peers.size
  }

  /** The buckets a request of `protocol` and `cost` draws on at `peer`, under each model its client is held to. */
  private charges(peer: string, protocol: string, cost: number): Charge[] {
    const out: Charge[] = []
    for (const name of this.modelsOf(peer)) {
      const model = this.models.get(name)!
      const quota = model.protocols[protocol]
      if (quota) {
        const key = `${name}:${quota.bucket ?? protocol}`
        const perItem = quota.per !== 'request'
        out.push({ key, quota, cost: perItem ? cost : 1, perItem })
      }
      if (model.requests) out.push({ key: `${name}:requests`, quota: model.requests, cost: 1, everyRequest: true })
    }
    return out
  }

  /** A peer's bucket for `charge`, made full when there is none. */
  private bucketFor(state: PeerState, { key, quota }: Charge): TokenBucket {
    let bucket = state.buckets.get(key)
    if (!bucket) {
      // Same capacity, longer refill window: rate = safetyFactor * tokens / seconds.
      bucket = new TokenBucket(
        { now: this.now },
        { tokens: quota.tokens, seconds: quota.seconds / this.safetyFactor },
        { jitterMs: this.jitterMs },
      )
      state.buckets.set(key, bucket)
    }
    return bucket
  }

  private stateFor(peer: string): PeerState {
    let state = this.peers.get(peer)
    if (!state) {
      state = { buckets: new Map(), open: new Map() }
      this.peers.set(peer, state)
    }
    return state
  }

  private lease(peer: string, protocol: string, cost: number, open: OpenCount): UpstreamLease {
    let released = false
    return {
      peer,
      protocol,
      cost,
      release: () => {
        if (released) return
        released = true
        open.n--
        const state = this.peers.get(peer)
        if (open.n === 0 && state?.open.get(protocol) === open) {
          state.open.delete(protocol)
          if (state.open.size === 0 && state.buckets.size === 0) this.peers.delete(peer)
        }
      },
      reserveMore: (more, maxWaitMs) => {
        const waitMs = this.waitMs(peer, protocol, more)
        if (waitMs === Infinity || waitMs > maxWaitMs) return null
        const state = this.stateFor(peer)
        for (const charge of this.charges(peer, protocol, more))
          this.bucketFor(state, charge).reserve(charge.cost, waitMs)
        return waitMs
      },
      backOff: () => {
        const state = this.stateFor(peer)
        for (const charge of this.charges(peer, protocol, cost)) {
          if (!charge.everyRequest) this.bucketFor(state, charge).exhaust()
        }
      },
    }
  }

  private dropFullBuckets(peer: string, state: PeerState): void {
    for (const [key, bucket] of state.buckets) if (bucket.isFull()) state.buckets.delete(key)
    if (state.buckets.size === 0 && state.open.size === 0) this.peers.delete(peer)
  }
}
