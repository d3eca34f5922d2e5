import type { Clock } from '../chain/clock.js'
import type { UpstreamLease, UpstreamLimiter } from '../limits/upstreamLimiter.js'
import type { PeerData, PeerStore } from '../peers/peerStore.js'
import type { PeerScores } from '../peers/score.js'
import { TTFB_TIMEOUT_MS } from '../spec/reqresp.js'
import type { RelayRequest } from './relayRequest.js'

export const UPSTREAM_SELECTOR_DEFAULTS = {
  /**
   * Peers at or below this score (a few recent failures) are the last choice until their score decays back: asked
   * only when no better peer could serve the request at all, so a burst of failures never locks every upstream out.
   */
  minScore: -10,
  /** Weight of the newest sample in a peer's latency average: adapts within a few requests, ignores one outlier. */
  latencyAlpha: 0.3,
  /** Score points one second of average latency costs in the comparison: 1 s slower ≈ 10 points worse. */
  scorePerLatencySecond: 10,
  /** A peer whose Status head was this close to the clock was in sync, and is assumed to have followed the chain. */
  inSyncSlots: 2,
  /**
   * Score points each request open at a peer costs it, ours and (in a fleet) other instances': load spreads, and a
   * short request is not sent to a peer busy streaming a long answer on the same connection while another is idle.
   */
  scorePerOpenRequest: 5,
  /**
   * A peer connected this recently whose handshake is still under way may serve in a moment: while one is, a request
   * no handshaken peer can serve waits for it (within the queue's wait) instead of being refused. A requester that
   * asks as soon as it is handshaken (Lodestar does) would otherwise meet a refusal in the first second of a restart.
   * A Status answered later than TTFB_TIMEOUT (5 s) fails the handshake: a peer connected longer ago is not coming.
   */
  handshakeGraceMs: TTFB_TIMEOUT_MS,
  /** How often such a request looks again, in case no handshake is reported (the node re-tries on each one). */
  handshakeRetryMs: 100,
}

export interface UpstreamSelectorModules {
  peerStore: PeerStore
  scores: PeerScores
  limiter: UpstreamLimiter
  clock: Clock
  /** Operator-chosen peers (static peers): chosen first whenever one can take the request. */
  isPreferred(peer: string): boolean
  /** Requests other instances of a fleet have open at this peer (fleet/upstreamLoad.ts); none without a fleet. */
  fleetLoad?: (peer: string) => number
}

export type UpstreamChoice =
  | { kind: 'chosen'; peer: PeerData; lease: UpstreamLease }
  /**
   * Eligible peers exist but all are at their self-limit, or none yet while a peer is still handshaking: retry in
   * `waitMs` (or on a release).
   */
  | { kind: 'busy'; waitMs: number }
  /** No connected peer could serve this request. */
  | { kind: 'none' }

/**
 * Chooses the upstream for a request: among handshaken peers that speak the protocol, are not the requester
 * (or already tried), are not banned for their score (static peers excepted), are under their self-limit and whose
 * Status covers the request, take two at random and keep the better by score, recent latency and open requests
 * ("power of two choices": spreads load while avoiding slow or failing peers, without herding onto a single best
 * one). Peers at or below minScore are considered only when no other peer could serve the request.
 */
export class UpstreamSelector {
  private readonly latencyMs = new Map<string, number>()

  private readonly opts: typeof UPSTREAM_SELECTOR_DEFAULTS

  constructor(
    private readonly modules: UpstreamSelectorModules,
    opts: Partial<typeof UPSTREAM_SELECTOR_DEFAULTS> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.opts = { ...UPSTREAM_SELECTOR_DEFAULTS, ...opts }
  }

  choose(req: RelayRequest, exclude: ReadonlySet<string>): UpstreamChoice {
    const able = this.eligible(req, exclude)
    if (able.length === 0) {
      return this.handshaking(req, exclude) ? { kind: 'busy', waitMs: this.opts.handshakeRetryMs } : { kind: 'none' }
    }
    const { scores } = this.modules
    const good = able.filter((p) => scores.score(p.peerId.toString()) > this.opts.minScore)
    const eligible = good.length > 0 ? good : able
    const { limiter } = this.modules
    const protocol = req.def.name
    const ready = eligible.filter((p) => limiter.canAcquire(p.peerId.toString(), protocol, req.cost))
    if (ready.length === 0) {
      const waitMs = Math.min(...eligible.map((p) => limiter.waitMs(p.peerId.toString(), protocol, req.cost)))
      return { kind: 'busy', waitMs }
    }
    const preferred = ready.filter((p) => this.modules.isPreferred(p.peerId.toString()))
    const peer = this.pickOfTwo(preferred.length > 0 ? preferred : ready)
    const lease = limiter.tryAcquire(peer.peerId.toString(), protocol, req.cost)
    if (!lease) throw new Error('upstream limiter refused a peer it reported ready') // same tick: cannot happen
    return { kind: 'chosen', peer, lease }
  }

  /** Feeds a completed upstream call's time to first chunk into the peer's latency average. */
  recordLatency(peer: string, ms: number): void {
    const previous = this.latencyMs.get(peer)
    const a = this.opts.latencyAlpha
    this.latencyMs.set(peer, previous === undefined ? ms : a * ms + (1 - a) * previous)
  }

  forgetPeer(peer: string): void {
    this.latencyMs.delete(peer)
  }

  /** Whether `peer` is under its self-limit for `req` right now. */
  canServe(peer: PeerData, req: RelayRequest): boolean {
    return this.modules.limiter.canAcquire(peer.peerId.toString(), req.def.name, req.cost)
  }

  eligible(req: RelayRequest, exclude: ReadonlySet<string>): PeerData[] {
    // More than its client lets one request ask (Lighthouse: one light-client update per 10 s): never this peer.
    const { limiter } = this.modules
    return this.candidates(req, exclude).filter((p) => limiter.fits(p.peerId.toString(), req.def.name, req.cost))
  }

  /**
   * The largest cost one request for `req`'s items can have at any peer that could serve it but for its size (0:
   * no such peer): what a request larger than every upstream takes at once is asked in parts of (relay.ts).
   */
  largestFit(req: RelayRequest, exclude: ReadonlySet<string>): number {
    let largest = 0
    for (const p of this.candidates(req, exclude)) {
      largest = Math.max(largest, this.modules.limiter.largestCost(p.peerId.toString(), req.def.name))
    }
    return largest
  }

  /** Peers that could serve `req`, whatever its size. */
  private candidates(req: RelayRequest, exclude: ReadonlySet<string>): PeerData[] {
    const out: PeerData[] = []
    for (const p of this.modules.peerStore.all()) {
      const id = p.peerId.toString()
      if (!p.handshaken || !p.status || exclude.has(id)) continue
      if (req.upstreams && !req.upstreams.has(id)) continue
      if (p.protocols && !p.protocols.has(req.def.id)) continue
      // Bans stay bans, except for static peers: the operator chose them and they stay connected whatever their
      // score, so a ban leaves them a last choice, like any low score. A sentry's own beacon node banned for a burst
      // of bad answers would otherwise leave it no upstream until the score decays. A peer past the disconnect
      // threshold that is still connected is a last choice too: refusing it could leave no upstream at all.
      if (this.modules.scores.state(id) === 'ban' && !this.modules.isPreferred(id)) continue
      if (req.range && (this.headSlot(p) < req.range.startSlot || p.status.earliestAvailableSlot > req.range.startSlot))
        continue
      out.push(p)
    }
    return out
  }

  /**
   * Whether a peer that may serve `req` is still in its handshake: connected within handshakeGraceMs, not excluded. A
   * request pinned to chosen upstreams (columns by custody) waits for none: its plan was made from handshaken peers.
   */
  private handshaking(req: RelayRequest, exclude: ReadonlySet<string>): boolean {
    if (req.upstreams) return false
    const since = this.modules.clock.nowMs() - this.opts.handshakeGraceMs
    for (const p of this.modules.peerStore.all()) {
      if (!p.handshaken && p.connectedAtMs > since && !exclude.has(p.peerId.toString())) return true
    }
    return false
  }

  /**
   * The peer's head now. Statuses are re-exchanged only every few minutes, so a peer that was in sync when it
   * sent its Status is taken to have followed the chain since; a peer that was behind keeps its reported head.
   */
  private headSlot(peer: PeerData): number {
    const status = peer.status!
    const { clock } = this.modules
    // Without the Status's time there is no telling whether the peer was in sync: take its head as reported.
    if (peer.statusAtMs === undefined) return status.headSlot
    if (status.headSlot < clock.slotAtMs(peer.statusAtMs) - this.opts.inSyncSlots) return status.headSlot
    return Math.max(status.headSlot, clock.currentSlot)
  }

  private pickOfTwo(peers: PeerData[]): PeerData {
    const a = peers[Math.floor(this.random() * peers.length)]
    if (peers.length === 1) return a
    let b = peers[Math.floor(this.random() * (peers.length - 1))]
    if (b === a) b = peers[peers.length - 1] // the second draw skips the first pick
    return this.rank(b) > this.rank(a) ? b : a
  }

  rank(peer: PeerData): number {
    const id = peer.peerId.toString()
    const latency = this.latencyMs.get(id) ?? peer.pingRttMs ?? 0
    const open = this.modules.limiter.openTo(id) + (this.modules.fleetLoad?.(id) ?? 0)
    return (
      this.modules.scores.score(id) -
      (latency / 1000) * this.opts.scorePerLatencySecond -
      open * this.opts.scorePerOpenRequest
    )
  }
}
