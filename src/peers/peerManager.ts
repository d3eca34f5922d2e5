import { ContowerError } from '../errors.js'
import { LRUCache } from 'lru-cache'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import type { ClosedConnection, ConnectionMonitor } from '../network/connectionMonitor.js'
import { transportOf } from '../network/transport.js'
import { Admission, ipOf } from './admission.js'
import type { BanList } from './banList.js'
import { type CandidateFacts, type CandidateVerdict, candidateVerdict, type DialCandidate } from './candidates.js'
import { DialQueue } from './dialQueue.js'
import { GoodbyeReason } from './goodbye.js'
import type { HandshakeService } from './handshake.js'
import { createPeerManagerMetrics, type PeerManagerMetrics } from './metrics.js'
import type { PeerStore } from './peerStore.js'
import { type PruneCandidate, selectPeersToPrune, setBits } from './prune.js'
import type { PeerScores } from './score.js'

export const PEER_MANAGER_DEFAULTS = {
  /** Lodestar's peer manager heartbeat: prune, ask discovery for more, dial. */
  heartbeatMs: 30_000,
  /** Dials at once: enough to fill 50 slots in seconds, few enough not to look like a scan. */
  dialConcurrency: 5,
  /** Lodestar gives a dial 5 s (the host's own dial timeout is the same). */
  dialTimeoutMs: 5_000,
  /**
   * A QUIC dial gets less before the next address (TCP) is tried: its handshake takes one round trip where TCP with
   * noise and multistream takes about four, and a `quic` ENR entry whose UDP port is filtered (Lighthouse advertises
   * one by default; not every operator forwards it) times out rather than fails. It then holds a dial slot 2 s, not 5.
   */
  quicDialTimeoutMs: 2_000,
  /**
   * A peer whose QUIC dial failed and whose TCP dial then worked is dialled TCP first (QUIC last) for this long, so
   * each redial does not spend quicDialTimeoutMs on the same filtered port; after it, QUIC is tried first once more
   * (the operator may have opened the port). A QUIC dial that works clears it at once.
   */
  quicFailureMemoryMs: 60 * 60_000,
  /** Candidates waiting at most; discovery keeps offering fresh ones, so an old backlog is worth little. */
  maxQueued: 500,
  /** A queued candidate older than this is dropped: its ENR address may be stale. */
  candidateMaxAgeMs: 10 * 60_000,
  /**
   * A peer whose dial failed is not tried again for 5 s, however often discovery offers it; each further failure in
   * a row doubles that, up to a minute. A connection that drops soon after opening (ConnectionMonitor's
   * shortLivedMs) counts as a failed dial; one that lasted longer starts the peer's count again.
   */
  dialFailureBackoffMs: 5_000,
  dialFailureBackoffMaxMs: 60_000,
  /** Inbound peers per IP address: one host cannot take many slots (Lighthouse and Prysm limit this too). */
  maxInboundPerIp: 3,
  /** Loopback is exempt from the per-IP limit: local peers (devnet, tests, a co-located client) share 127.0.0.1. */
  exemptLoopbackFromIpLimit: true,
  /** Lodestar keeps at least 10% of its peers outbound when pruning (ours: 10% of the target). */
  outboundRatio: 0.1,
  /** Lodestar's LOW_SCORE_TO_PRUNE_IF_TOO_MANY_PEERS: a single timeout (-1) is not enough to go first. */
  pruneScoreBelow: -2,
  /** Lodestar asks discovery for 3x the missing peers: fewer than a third of dials succeed. */
  discoveryOvershoot: 3,
  /** Discovery is asked at most this often outside the heartbeat (when the queue runs dry below target). */
  minDiscoveryRequestIntervalMs: 5_000,
}

export type PeerManagerTuning = typeof PEER_MANAGER_DEFAULTS

/**
 * The libp2p `maxConnections` (createHost's `maxPeers`) for a node whose peer manager enforces `maxPeers`. libp2p
 * refuses sockets at its limit without a word, so it gets headroom above ours: excess inbound peers then reach
 * the peer manager and get Goodbye(129) (and a cool-down), while libp2p still bounds a flood.
 */
export function hostConnectionLimit(maxPeers: number): number {
  return maxPeers + Math.max(8, Math.ceil(maxPeers / 10))
}

export interface PeerManagerOptions extends Partial<PeerManagerTuning> {
  /** `--target-peers`: dial until this many; prune back to it. */
  targetPeers: number
  /** `--max-peers`: inbound peers beyond this get Goodbye(129) on arrival. */
  maxPeers: number
}

export interface PeerManagerModules {
  host: Libp2p
  /** Goodbye + hang up, starting the reason's cool-down (HandshakeService.disconnect). */
  handshake: Pick<HandshakeService, 'disconnect'>
  peerStore: PeerStore
  scores: PeerScores
  bans: BanList
  /** `--static-peers` (StaticPeers.isStatic): always admitted, never pruned, never dialled from the queue. */
  isStatic: (peer: PeerId | string) => boolean
  /** Asks discovery for about `count` more candidates (they come back through addCandidates); null: none. */
  requestMorePeers: ((count: number) => void) | null
  /** How connections end (a short-lived one puts its peer in dial backoff) and why dials fail; null: not watched. */
  connections: Pick<ConnectionMonitor, 'onClose' | 'dialFailed'> | null
  /** Whether the candidate (by its node id and ENR cgc) custodies a column no connected peer does: dialled first. */
  addsCustody?: (candidate: DialCandidate) => boolean
  registry: Registry | null
  logger: Logger
}

export enum PeerManagerErrorCode {
  INVALID_OPTION = 'PEER_MANAGER_INVALID_OPTION',
}

export class PeerManagerError extends ContowerError<PeerManagerErrorCode> {
  constructor(
    code: PeerManagerErrorCode,
    readonly detail: Readonly<Record<string, number | string>>,
  ) {
    super(code, `${code}: ${JSON.stringify(detail)}`)
  }
}

export type DialOutcome = 'success' | 'timeout' | 'refused' | 'error' | 'aborted'

/**
 * Keeps Contower at `targetPeers`: dials candidates (from discovery) from a bounded queue with bounded
 * concurrency, admits inbound peers up to `maxPeers` and a per-IP limit (Goodbye 129 beyond), and every
 * heartbeat prunes back to the target (prune.ts). Handshakes, score disconnects and bans stay with
 * HandshakeService; cool-downs are the ban list's (goodbye.ts), which both the gater and the queue consult.
 */
export class PeerManager {
  private readonly tuning: PeerManagerTuning
  private readonly admission: Admission
  private readonly queue: DialQueue
  private readonly metrics: PeerManagerMetrics | null
  /** Dials under way, by peer id, each abortable (by its timeout or by stop). */
  private readonly dialling = new Map<string, AbortController>()
  /** Peers given Goodbye (pruned or refused) whose connection has not closed yet. */
  private readonly leaving = new Set<string>()
  private heartbeatTimer: NodeJS.Timeout | null = null
  private running = false
  private lastDiscoveryRequestMs = -Infinity
  private unsubscribeCloses: (() => void) | null = null
  private deferredDiscoveryRequest: NodeJS.Timeout | null = null
  /** ENR `cgc` of candidates, for the custody of those that connect (bounded: discovery offers many). */
  private readonly enrCgc = new LRUCache<string, number>({ max: 4096 })
  /** When each peer's QUIC dial last failed before its TCP dial worked (quicFailureMemoryMs; bounded). */
  private readonly quicFailedAt = new LRUCache<string, number>({ max: 4096 })

  constructor(
    private readonly modules: PeerManagerModules,
    private readonly opts: PeerManagerOptions,
  ) {
    const { targetPeers, maxPeers, ...tuning } = opts
    this.tuning = { ...PEER_MANAGER_DEFAULTS, ...dropUndefined(tuning) }
    if (!(Number.isInteger(targetPeers) && targetPeers >= 1)) this.invalid({ targetPeers })
    if (!(Number.isInteger(maxPeers) && maxPeers >= targetPeers)) this.invalid({ maxPeers, targetPeers })
    if (!(Number.isInteger(this.tuning.dialConcurrency) && this.tuning.dialConcurrency >= 1)) {
      this.invalid({ dialConcurrency: this.tuning.dialConcurrency })
    }
    if (!(this.tuning.heartbeatMs > 0)) this.invalid({ heartbeatMs: this.tuning.heartbeatMs })
    this.admission = new Admission({
      maxPeers,
      maxInboundPerIp: this.tuning.maxInboundPerIp,
      exemptLoopbackFromIpLimit: this.tuning.exemptLoopbackFromIpLimit,
    })
    this.queue = new DialQueue(
      {},
      {
        maxQueued: this.tuning.maxQueued,
        maxAgeMs: this.tuning.candidateMaxAgeMs,
        failureBackoffMs: this.tuning.dialFailureBackoffMs,
        maxFailureBackoffMs: this.tuning.dialFailureBackoffMaxMs,
      },
    )
    this.metrics = modules.registry
      ? createPeerManagerMetrics(modules.registry, { bans: modules.bans, queueLength: () => this.queue.length })
      : null
  }

  /** Peers counted towards the target: admitted and not on their way out. */
  get peerCount(): number {
    return this.live()
  }

  get queueLength(): number {
    return this.queue.length
  }

  get dialsInFlight(): number {
    return this.dialling.size
  }

  start(): void {
    if (this.running) return
    this.running = true
    const { host } = this.modules
    host.addEventListener('connection:open', this.onConnectionOpen)
    host.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.unsubscribeCloses = this.modules.connections?.onClose(this.onConnectionClose) ?? null
    for (const connection of host.getConnections()) this.onConnection(connection, true)
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.tuning.heartbeatMs)
    this.heartbeatTimer.unref()
    this.drain() // candidates offered before start
    this.requestMorePeers(true)
  }

  /** Stops dialling (in-flight dials are aborted) and pruning; idempotent. Call before HandshakeService.stop. */
  stop(): void {
    if (!this.running) return
    this.running = false
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = null
    if (this.deferredDiscoveryRequest) clearTimeout(this.deferredDiscoveryRequest)
    this.deferredDiscoveryRequest = null
    for (const dial of this.dialling.values()) dial.abort()
    const { host } = this.modules
    host.removeEventListener('connection:open', this.onConnectionOpen)
    host.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    this.unsubscribeCloses?.()
    this.unsubscribeCloses = null
    this.queue.clear()
    this.admission.clear()
    this.leaving.clear()
  }

  /**
   * Offers peers to dial (discovery calls this). Each is filtered (candidates.ts) and, if worth it, queued; the
   * verdicts come back in order, for the caller's own metrics.
   */
  addCandidates(candidates: readonly DialCandidate[]): CandidateVerdict[] {
    const facts = this.candidateFacts()
    const verdicts = candidates.map((candidate) => {
      const verdict = candidateVerdict(candidate, facts)
      if (verdict === 'queued') this.queue.push(candidate, this.modules.addsCustody?.(candidate) ?? false)
      if (candidate.custodyGroupCount != null) this.enrCgc.set(candidate.peerId.toString(), candidate.custodyGroupCount)
      this.metrics?.candidates.inc({ verdict })
      return verdict
    })
    this.refill()
    return verdicts
  }

  /** The `cgc` of the ENR a candidate was offered with, if any. */
  enrCustodyGroupCount(peer: string): number | undefined {
    return this.enrCgc.get(peer)
  }

  /** Prune above target, ask discovery for more below it, dial. Runs on its timer; public for tests. */
  heartbeat(): void {
    if (!this.running) return
    this.queue.prune()
    this.modules.bans.prune()
    this.prune()
    this.drain()
    this.requestMorePeers(true)
  }

  // --- admission ---

  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    this.onConnection(evt.detail, false)
  }

  private onConnection(connection: Connection, existing: boolean): void {
    if (!this.running || connection.status !== 'open') return
    const peerId = connection.remotePeer
    const peer = peerId.toString()
    if (this.admission.has(peer) || this.leaving.has(peer)) return // a second connection to a known peer
    const verdict = this.admission.admit(peer, {
      direction: connection.direction,
      ip: ipOf(connection.remoteAddr),
      // Connections found at start were accepted before the manager was in charge: they stay.
      exempt: existing || this.modules.isStatic(peerId),
    })
    if (verdict === 'admitted') return
    this.leaving.add(peer)
    this.metrics?.inboundRefused.inc({ reason: verdict })
    this.modules.logger.debug(
      { peer, reason: verdict, peers: this.admission.size, addr: connection.remoteAddr.toString() },
      'inbound peer refused',
    )
    void this.modules.handshake.disconnect(peerId, GoodbyeReason.TooManyPeers)
  }

  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    this.admission.release(peer)
    this.leaving.delete(peer)
    this.refill()
  }

  /**
   * A peer whose connection (either way) drops within seconds of opening is not dialled again until its backoff
   * ends; one whose connection lasted is forgiven its earlier failures. A Goodbye either way (pruned, refused,
   * irrelevant, banned) has started a cool-down of its own already.
   */
  private readonly onConnectionClose = (closed: ClosedConnection): void => {
    const peer = closed.peer.toString()
    if (!closed.shortLived) return this.queue.forgive(peer)
    if (this.modules.isStatic(closed.peer) || this.modules.bans.kindOf(peer)) return
    if (this.modules.host.getConnections(closed.peer).length > 0) return
    if (!this.queue.inBackoff(peer)) {
      this.modules.logger.debug(
        { peer, reason: closed.reason, lifetimeMs: closed.lifetimeMs, direction: closed.direction },
        'peer dropped soon after connecting: dial backoff',
      )
    }
    this.queue.markFailed(peer)
  }

  // --- pruning ---

  private prune(): void {
    const { scores, peerStore, isStatic } = this.modules
    const now = Date.now()
    const candidates: PruneCandidate[] = []
    for (const peer of this.admission.peers()) {
      // Peers being disconnected for their score are HandshakeService's; they are on their way out.
      if (this.leaving.has(peer) || scores.state(peer) !== 'healthy') continue
      const data = peerStore.get(peer)
      candidates.push({
        peer,
        direction: this.admission.direction(peer)!,
        score: scores.score(peer),
        attnets: setBits(data?.metadata?.attnets),
        syncnets: setBits(data?.metadata?.syncnets),
        columns: [...(data?.custody?.columns ?? [])],
        isStatic: isStatic(peer),
        connectedAtMs: data?.connectedAtMs ?? now,
      })
    }
    const decisions = selectPeersToPrune(candidates, {
      targetPeers: this.opts.targetPeers,
      minOutbound: this.minOutbound,
      lowScoreBelow: this.tuning.pruneScoreBelow,
    })
    for (const { peer, reason } of decisions) {
      this.leaving.add(peer)
      this.metrics?.prunes.inc({ reason })
      this.modules.logger.debug({ peer, reason }, 'pruning peer')
      void this.modules.handshake.disconnect(peerIdFromString(peer), GoodbyeReason.TooManyPeers)
    }
  }

  // --- dialling ---

  /** Admitted peers that are not leaving (in one direction, or both). */
  private live(direction?: 'inbound' | 'outbound'): number {
    let n = 0
    for (const peer of this.admission.peers()) {
      if (!this.leaving.has(peer) && (!direction || this.admission.direction(peer) === direction)) n++
    }
    return n
  }

  private get minOutbound(): number {
    return Math.ceil(this.tuning.outboundRatio * this.opts.targetPeers)
  }

  /**
   * Below the target, dial. At it, dial still while outbound peers (dials included) are under the outbound quota,
   * up to maxPeers: a node whose peers all dialled it is easy to eclipse. The heartbeat then prunes an inbound peer.
   */
  private wantsDial(): boolean {
    const committed = this.live() + this.dialling.size
    if (committed < this.opts.targetPeers) return true
    return this.live('outbound') + this.dialling.size < this.minOutbound && committed < this.opts.maxPeers
  }

  /** After a change outside the heartbeat: dial what is queued, and ask discovery (throttled) when it runs dry. */
  private refill(): void {
    this.drain()
    if (this.queue.length === 0) this.requestMorePeers(false)
  }

  private drain(): void {
    if (!this.running) return
    const facts: CandidateFacts = { ...this.candidateFacts(), isQueued: () => false, queueFull: () => false }
    while (this.dialling.size < this.tuning.dialConcurrency && this.wantsDial()) {
      const candidate = this.queue.shift()
      if (!candidate) break
      // Re-checked: it may have connected, been banned or cooled down while it waited.
      if (candidateVerdict(candidate, facts) !== 'queued') continue
      void this.dial(candidate)
    }
  }

  /**
   * Tries the candidate's addresses in order (QUIC first, then TCP), each with its dial timeout, until one
   * connects. A refusal (the gater) or an abort ends it; any other failure falls back to the next address.
   */
  private async dial(candidate: DialCandidate): Promise<void> {
    const peer = candidate.peerId.toString()
    const controller = new AbortController()
    this.dialling.set(peer, controller)
    let outcome: DialOutcome = 'error'
    try {
      const { dialTimeoutMs, quicDialTimeoutMs } = this.tuning
      const addrs = this.dialOrder(peer, candidate.multiaddrs)
      let quicFailed = false
      for (const [i, addr] of addrs.entries()) {
        const transport = transportOf(addr)
        // A QUIC attempt is cut short only when another address follows: a QUIC-only peer gets the whole timeout.
        const last = i === addrs.length - 1
        const timeoutMs = transport === 'quic' && !last ? Math.min(quicDialTimeoutMs, dialTimeoutMs) : dialTimeoutMs
        outcome = await this.dialOnce(withPeerId(addr, peer), timeoutMs, controller.signal)
        this.metrics?.dials.inc({ outcome, transport })
        if (outcome === 'success' && transport === 'quic') this.quicFailedAt.delete(peer)
        if (outcome === 'success' && transport !== 'quic' && quicFailed) this.quicFailedAt.set(peer, Date.now())
        if (outcome === 'success' || outcome === 'refused' || outcome === 'aborted') break
        if (transport === 'quic') quicFailed = true
      }
    } finally {
      this.dialling.delete(peer)
    }
    if (outcome !== 'success' && outcome !== 'aborted') this.queue.markFailed(peer)
    this.refill()
  }

  /**
   * The candidate's dialable addresses in the order to try them: as given (QUIC first), or TCP first while the peer's
   * QUIC is remembered as failing (a stable sort keeps IPv6 before IPv4 within each transport).
   */
  private dialOrder(peer: string, multiaddrs: readonly Multiaddr[]): Multiaddr[] {
    const addrs = multiaddrs.filter((addr) => transportOf(addr) !== 'other')
    const failedAt = this.quicFailedAt.get(peer)
    if (failedAt === undefined) return addrs
    if (Date.now() - failedAt >= this.tuning.quicFailureMemoryMs) {
      this.quicFailedAt.delete(peer)
      return addrs
    }
    const quicLast = (addr: Multiaddr) => (transportOf(addr) === 'quic' ? 1 : 0)
    return addrs.sort((a, b) => quicLast(a) - quicLast(b))
  }

  private async dialOnce(addr: Multiaddr, timeoutMs: number, stop: AbortSignal): Promise<DialOutcome> {
    const attempt = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      attempt.abort()
    }, timeoutMs)
    const onStop = () => attempt.abort()
    stop.addEventListener('abort', onStop, { once: true })
    try {
      await this.modules.host.dial(addr, { signal: attempt.signal })
      return 'success'
    } catch (e) {
      const outcome = stop.aborted ? 'aborted' : timedOut ? 'timeout' : dialFailure(e)
      const reason = outcome === 'aborted' ? undefined : this.modules.connections?.dialFailed(e)
      this.modules.logger.debug({ addr: addr.toString(), outcome, reason, err: (e as Error).message }, 'dial failed')
      return outcome
    } finally {
      clearTimeout(timer)
      stop.removeEventListener('abort', onStop)
    }
  }

  private requestMorePeers(fromHeartbeat: boolean): void {
    const request = this.modules.requestMorePeers
    if (!request || !this.running) return
    const have = this.live()
    const missing = Math.max(this.opts.targetPeers - have, this.minOutbound - this.live('outbound'))
    if (missing <= 0) return
    const now = Date.now()
    const waitMs = this.lastDiscoveryRequestMs + this.tuning.minDiscoveryRequestIntervalMs - now
    if (!fromHeartbeat && waitMs > 0) {
      // Too soon after the last request: ask again once the interval has passed, rather than at the next heartbeat.
      this.deferredDiscoveryRequest ??= setTimeout(() => {
        this.deferredDiscoveryRequest = null
        this.requestMorePeers(false)
      }, waitMs)
      this.deferredDiscoveryRequest.unref()
      return
    }
    const wanted = Math.min(this.tuning.discoveryOvershoot * missing, this.opts.maxPeers - have)
    const count = wanted - this.queue.length - this.dialling.size
    if (count <= 0) return
    this.lastDiscoveryRequestMs = now
    this.metrics?.discoveryRequests.inc()
    try {
      request(count)
    } catch (e) {
      this.modules.logger.warn({ err: (e as Error).message }, 'discovery request failed')
    }
  }

  private candidateFacts(): CandidateFacts {
    const { host, bans, scores, isStatic } = this.modules
    return {
      selfId: host.peerId.toString(),
      isConnected: (peer) => this.admission.has(peer) || this.leaving.has(peer) || this.dialling.has(peer),
      isStatic: (peer) => isStatic(peer),
      refusal: (peer) => bans.kindOf(peer),
      scoreState: (peer) => scores.state(peer),
      inDialBackoff: (peer) => this.queue.inBackoff(peer),
      isQueued: (peer) => this.queue.has(peer),
      queueFull: () => this.queue.full,
    }
  }

  private invalid(detail: Record<string, number | string>): never {
    throw new PeerManagerError(PeerManagerErrorCode.INVALID_OPTION, detail)
  }
}

/** libp2p checks the identity of a peer dialled by a multiaddr that names it. */
function withPeerId(addr: Multiaddr, peer: string): Multiaddr {
  return addr.getComponents().some((c) => c.name === 'p2p') ? addr : addr.encapsulate(`/p2p/${peer}`)
}

function dialFailure(e: unknown): DialOutcome {
  const name = (e as Error).name
  if (name === 'DialDeniedError') return 'refused' // the gater: banned or cooling down meanwhile
  if (name === 'TimeoutError') return 'timeout' // the host's own dial timeout
  return 'error'
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
