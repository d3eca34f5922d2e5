import type { HandshakeEvents } from '../reqresp/localHandlers.js'
import type { Connection, IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import { ForkSeq } from '@lodestar/params'
import type { ChainView } from '../chain/chainView.js'
import type { Logger } from '../logger.js'
import type { ReqRespClient } from '../reqresp/client.js'
import {
  decodeMetadata,
  decodeStatus,
  decodeUint64,
  encodeStatus,
  encodeUint64,
  type LocalMetadata,
} from '../reqresp/messages.js'
import { getProtocol, type ProtocolDef } from '../reqresp/protocols.js'
import type { ResponseTypes } from '../reqresp/responseTypes.js'
import type { BanList } from './banList.js'
import { updateCustody } from './custody.js'
import { COOL_DOWN_DEFAULTS, coolDownFor, GoodbyeReason, type RefusalKind } from './goodbye.js'
import type { PeerMetrics } from './metrics.js'
import type { PeerStatus } from '../chain/chainView.js'
import type { PeerData, PeerStore } from './peerStore.js'
import { isRequestError, penaltyForRequestError } from './penalties.js'
import { type PeerScores, type ScoreState } from './score.js'
import { PeerAction } from '../reqresp/peerAction.js'

export { GoodbyeReason } from './goodbye.js'

export const HANDSHAKE_DEFAULTS = {
  /** Lodestar waits this long for an inbound peer's Status before sending its own. */
  inboundStatusWaitMs: 15_000,
  /** Lodestar re-exchanges Status every 5 minutes. */
  statusIntervalMs: 5 * 60_000,
  /**
   * A peer whose last Status is more than this many slots behind our head, told a head at least this much older
   * than ours, gets our Status now: a peer cut off from gossip learns there is something to sync (issue 14).
   */
  statusLeadSlots: 4,
  /**
   * Least time between two Status requests we send one peer for a head update: Lodestar's quota is 5 per 15 s
   * (one per 3 s); 5 s leaves room for the 5-minute exchange on top.
   */
  statusResendMinGapMs: 5_000,
  /** Lodestar pings inbound peers every 15 s and outbound peers every 20 s. */
  pingIntervalInboundMs: 15_000,
  pingIntervalOutboundMs: 20_000,
  /** How often due Status/Ping exchanges are looked for. */
  heartbeatMs: 1_000,
  /** A Goodbye is a courtesy: never let it hold up a disconnect or shutdown for long. */
  goodbyeTimeoutMs: 1_000,
  /**
   * A failed exchange is judged this long after it failed, unless the peer disconnects sooner: a peer closing its
   * connection ends our streams before the close reaches us, and that is no fault worth a penalty or Goodbye.
   */
  failureGraceMs: 2_000,
  /** How long a Goodbye (sent or received) keeps a peer out, by reason; bans included (see goodbye.ts). */
  coolDowns: COOL_DOWN_DEFAULTS,
}

export interface HandshakeModules {
  host: Libp2p
  client: ReqRespClient
  peerStore: PeerStore
  chainView: ChainView
  scores: PeerScores
  bans: BanList
  responseTypes: ResponseTypes
  metadata: LocalMetadata
  /** The `cgc` of the ENR the peer was discovered by (the peer manager remembers it), for its custody until MetaData. */
  enrCustodyGroupCount?: (peer: string) => number | undefined
  /**
   * Whether the peer gets every block Contower relays by gossip (it is in the beacon_block mesh): while our head is
   * such a block, the peer learns of it without a Status from us.
   */
  receivesBlocks?: (peer: string) => boolean
  /** Told when a peer's first Status is accepted: it can serve from now on. */
  onHandshaken?: (peer: string) => void
  /** `--static-peers`: kept connected whatever their score (the relay asks them last while it is low). */
  isStatic?: (peer: string) => boolean
  metrics: PeerMetrics | null
  logger: Logger
}

/**
 * Makes Contower behave like a beacon node towards each peer: Status (and Ping) on connect, re-Status and
 * Ping on schedule, MetaData when a Ping shows a new sequence number, Goodbye and disconnect for peers on
 * another chain or with a score too low (static peers are kept), Goodbye(1) to everyone on shutdown.
 */
export class HandshakeService implements HandshakeEvents {
  private heartbeat: NodeJS.Timeout | null = null
  private readonly inboundTimers = new Map<string, NodeJS.Timeout>()
  private readonly inFlight = new Set<string>()
  /** What each connected peer last heard from us: the head slot of our last Status (sent or answered), and when. */
  private readonly told = new Map<string, { headSlot: number; atMs: number }>()
  private stopping = false

  private readonly opts: typeof HANDSHAKE_DEFAULTS

  constructor(
    private readonly modules: HandshakeModules,
    opts: Partial<typeof HANDSHAKE_DEFAULTS> = {},
  ) {
    this.opts = { ...HANDSHAKE_DEFAULTS, ...opts }
  }

  start(): void {
    const { host, scores } = this.modules
    host.addEventListener('connection:open', this.onConnectionOpen)
    host.addEventListener('peer:disconnect', this.onPeerDisconnect)
    host.addEventListener('peer:identify', this.onIdentify)
    scores.onAction(this.onScoreAction)
    this.heartbeat = setInterval(() => this.onHeartbeat(), this.opts.heartbeatMs)
  }

  /** Says Goodbye(1) to every peer (bounded by goodbyeTimeoutMs), then stops listening. */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    for (const t of this.inboundTimers.values()) clearTimeout(t)
    this.inboundTimers.clear()
    const peers = [...this.modules.peerStore.all()].map((p) => p.peerId)
    await Promise.allSettled(peers.map((p) => this.sendGoodbye(p, GoodbyeReason.ClientShutdown)))
    const { host } = this.modules
    host.removeEventListener('connection:open', this.onConnectionOpen)
    host.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    host.removeEventListener('peer:identify', this.onIdentify)
  }

  // --- called by the local request handlers ---

  /** A peer sent us its Status: record it, and disconnect it after our answer if it is irrelevant. */
  onStatusRequest(peerId: PeerId, status: PeerStatus): void {
    this.acceptStatus(peerId, status, 'inbound')
  }

  /** Our answer to a peer's Status carried this head: the peer knows it now. */
  onStatusAnswered(peerId: PeerId, headSlot: number): void {
    if (this.modules.peerStore.get(peerId)) this.noteTold(peerId.toString(), headSlot)
  }

  onPingRequest(peerId: PeerId, seq: bigint): void {
    const peer = this.modules.peerStore.get(peerId)
    if (!peer) return
    this.notePingSeq(peer, seq)
  }

  onGoodbyeRequest(peerId: PeerId, reason: bigint): void {
    this.modules.metrics?.goodbyes.inc({ direction: 'received', reason: reasonLabel(reason) })
    this.modules.logger.debug({ peer: peerId.toString(), reason: Number(reason) }, 'goodbye received')
    this.coolDown(peerId.toString(), Number(reason), 'received')
    // Answer first, then close: the handler's response is written before this timer fires.
    setTimeout(() => void this.modules.host.hangUp(peerId).catch(() => {}), 100).unref()
  }

  // --- outbound exchanges ---

  statusProtocol(): ProtocolDef {
    return getProtocol('status', this.isFulu() ? 2 : 1)
  }

  metadataProtocol(): ProtocolDef {
    return getProtocol('metadata', this.isFulu() ? 3 : 2)
  }

  private isFulu(): boolean {
    return ForkSeq[this.modules.responseTypes.currentFork()] >= ForkSeq.fulu
  }

  async requestStatus(peerId: PeerId): Promise<void> {
    const def = this.statusProtocol()
    await this.exchange(peerId, 'status', async () => {
      const status = this.modules.chainView.status()
      const ours = encodeStatus(def, status)
      this.noteTold(peerId.toString(), status.headSlot)
      const chunk = await this.modules.client.requestOne(peerId, def, ours)
      this.acceptStatus(
        peerId,
        this.decodeOrPenalise(peerId, () => decodeStatus(def, chunk.ssz!)),
        'outbound',
      )
    })
  }

  async ping(peerId: PeerId): Promise<void> {
    await this.exchange(peerId, 'ping', async () => {
      const started = performance.now()
      const chunk = await this.modules.client.requestOne(
        peerId,
        getProtocol('ping', 1),
        encodeUint64(this.modules.metadata.seqNumber),
      )
      const peer = this.modules.peerStore.get(peerId)
      if (!peer) return
      peer.pingRttMs = performance.now() - started
      this.modules.metrics?.pingRtt.observe(peer.pingRttMs / 1000)
      this.notePingSeq(
        peer,
        this.decodeOrPenalise(peerId, () => decodeUint64(chunk.ssz!)),
      )
    })
  }

  async requestMetadata(peerId: PeerId): Promise<void> {
    const def = this.metadataProtocol()
    await this.exchange(peerId, 'metadata', async () => {
      const chunk = await this.modules.client.requestOne(peerId, def, null)
      const peer = this.modules.peerStore.get(peerId)
      if (!peer) return
      peer.metadata = this.decodeOrPenalise(peerId, () => decodeMetadata(def, chunk.ssz!))
      updateCustody(peer) // a new seq may carry a new custody group count
    })
  }

  /** Goodbye with a reason, then hang up; bounded, never throws. The reason's cool-down starts at once. */
  async disconnect(peerId: PeerId, reason: GoodbyeReason): Promise<void> {
    this.coolDown(peerId.toString(), reason, 'sent')
    await this.sendGoodbye(peerId, reason)
    await this.modules.host.hangUp(peerId).catch(() => {})
  }

  // --- internals ---

  private acceptStatus(peerId: PeerId, status: PeerStatus, direction: 'inbound' | 'outbound'): void {
    const peer = this.modules.peerStore.get(peerId)
    if (!peer) return
    const verdict = this.modules.chainView.relevance(status)
    if (!verdict.relevant) {
      this.modules.metrics?.handshakes.inc({ direction, result: `irrelevant_${verdict.reason}` })
      this.modules.logger.debug({ peer: peerId.toString(), reason: verdict.reason }, 'irrelevant peer')
      this.coolDown(peerId.toString(), GoodbyeReason.IrrelevantNetwork, 'sent') // now, not after the Goodbye
      // Inbound: let our Status answer go out first.
      setTimeout(() => void this.disconnect(peerId, GoodbyeReason.IrrelevantNetwork), 0).unref()
      return
    }
    const first = !peer.handshaken
    peer.status = status
    peer.statusAtMs = Date.now()
    if (first) {
      peer.enrCustodyGroupCount ??= this.modules.enrCustodyGroupCount?.(peerId.toString())
      updateCustody(peer) // ENR or default custody until its MetaData says
    }
    peer.handshaken = true
    this.clearInboundTimer(peerId)
    if (first) {
      const now = Date.now()
      peer.nextStatusAtMs = now + this.opts.statusIntervalMs
      peer.nextPingAtMs = now + this.pingInterval(peer)
      this.modules.metrics?.handshakes.inc({ direction, result: 'success' })
      this.modules.logger.debug(
        { peer: peerId.toString(), headSlot: status.headSlot, client: peer.client },
        'peer handshaken',
      )
      if (!peer.metadata) void this.requestMetadata(peerId)
      this.modules.onHandshaken?.(peerId.toString())
    }
  }

  private noteTold(peer: string, headSlot: number): void {
    this.told.set(peer, { headSlot, atMs: Date.now() })
  }

  /**
   * Our head has moved well past what the peer last told us and what we last told it, the peer did not get our head
   * block by gossip, the last Status we sent it is old enough for its quota, and no fork boundary is a slot away (a
   * Status across one looks like another network).
   */
  private shouldUpdateStatus(peer: PeerData, ourHeadSlot: number, now: number): boolean {
    if (!peer.status || ourHeadSlot - peer.status.headSlot <= this.opts.statusLeadSlots) return false
    const id = peer.peerId.toString()
    if (this.modules.chainView.headIsRelayed(ourHeadSlot) && this.modules.receivesBlocks?.(id)) return false
    if (this.modules.chainView.nearDigestBoundary()) return false
    const told = this.told.get(id)
    if (!told) return true
    return ourHeadSlot - told.headSlot > this.opts.statusLeadSlots && now - told.atMs >= this.opts.statusResendMinGapMs
  }

  private notePingSeq(peer: PeerData, seq: bigint): void {
    peer.pingSeq = peer.pingSeq === undefined || seq > peer.pingSeq ? seq : peer.pingSeq
    if (peer.handshaken && (peer.metadata === undefined || seq > peer.metadata.seqNumber)) {
      void this.requestMetadata(peer.peerId)
    }
  }

  /** Runs one request kind per peer at a time; failures are penalised through the one mapping. */
  private async exchange(peerId: PeerId, kind: string, run: () => Promise<void>): Promise<void> {
    const key = `${peerId.toString()}/${kind}`
    if (this.inFlight.has(key) || this.stopping) return
    this.inFlight.add(key)
    try {
      await run()
    } catch (e) {
      // A peer closing its connection ends its streams first, so a failure is judged once the close had time to
      // arrive: a connection that drops is nobody's fault (the peer manager's dial backoff deals with it).
      if (!this.modules.peerStore.get(peerId) || (await this.goneWithin(peerId, this.opts.failureGraceMs))) return
      const action = isRequestError(e) ? penaltyForRequestError(e) : null
      this.modules.logger.debug({ peer: peerId.toString(), kind, err: (e as Error).message }, 'exchange failed')
      if (action)
        this.modules.scores.apply(peerId.toString(), action, `${kind}_${isRequestError(e) ? e.code : 'error'}`)
      if (kind === 'status' && !this.modules.peerStore.get(peerId)?.handshaken) {
        this.modules.metrics?.handshakes.inc({ direction: 'outbound', result: 'failed' })
        await this.disconnect(peerId, GoodbyeReason.Fault)
      }
    } finally {
      this.inFlight.delete(key)
    }
  }

  /** Whether the peer has no open connection left within `ms`; resolves as soon as it disconnects. */
  private goneWithin(peerId: PeerId, ms: number): Promise<boolean> {
    const { host } = this.modules
    const isOpen = () => host.getConnections(peerId).some((c) => c.status === 'open')
    if (!isOpen()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = (gone: boolean) => {
        clearTimeout(timer)
        host.removeEventListener('peer:disconnect', onDisconnect)
        resolve(gone)
      }
      const onDisconnect = (evt: CustomEvent<PeerId>) => {
        if (evt.detail.equals(peerId)) done(true)
      }
      const timer = setTimeout(() => done(!isOpen()), ms).unref()
      host.addEventListener('peer:disconnect', onDisconnect)
    })
  }

  private decodeOrPenalise<T>(peerId: PeerId, decode: () => T): T {
    try {
      return decode()
    } catch (e) {
      this.modules.scores.apply(peerId.toString(), PeerAction.LowToleranceError, 'undecodable_response')
      throw e
    }
  }

  private async sendGoodbye(peerId: PeerId, reason: GoodbyeReason): Promise<void> {
    this.modules.metrics?.goodbyes.inc({ direction: 'sent', reason: String(reason) })
    const signal = AbortSignal.timeout(this.opts.goodbyeTimeoutMs)
    await this.modules.client
      .requestOne(peerId, getProtocol('goodbye', 1), encodeUint64(BigInt(reason)), signal)
      .catch(() => {}) // peers often close without answering a Goodbye
  }

  /** Starts the cool-down a Goodbye earns (goodbye.ts); refused in both directions by the connection gater. */
  private coolDown(peer: string, reason: number, direction: 'sent' | 'received'): void {
    const coolDown = coolDownFor(reason, direction, this.opts.coolDowns)
    if (coolDown) this.refuse(peer, coolDown.ms, coolDown.kind, direction, reason)
  }

  private refuse(peer: string, ms: number, kind: RefusalKind, direction: 'sent' | 'received', reason: number): void {
    if (this.modules.bans.ban(peer, ms, kind)) {
      this.modules.metrics?.coolDowns.inc({ kind, direction, reason: reasonLabel(BigInt(reason)) })
    }
  }

  private clearInboundTimer(peerId: PeerId): void {
    const key = peerId.toString()
    const timer = this.inboundTimers.get(key)
    if (timer) clearTimeout(timer)
    this.inboundTimers.delete(key)
  }

  private pingInterval(peer: PeerData): number {
    return peer.direction === 'inbound' ? this.opts.pingIntervalInboundMs : this.opts.pingIntervalOutboundMs
  }

  /** Fires the exchanges that are due; the next one is scheduled from the attempt, so failures do not spin. */
  private onHeartbeat(): void {
    const now = Date.now()
    let ourHeadSlot: number | null = null
    for (const peer of this.modules.peerStore.all()) {
      if (!peer.handshaken) continue
      ourHeadSlot ??= this.modules.chainView.status().headSlot
      if (now >= (peer.nextStatusAtMs ?? 0)) {
        peer.nextStatusAtMs = now + this.opts.statusIntervalMs
        void this.requestStatus(peer.peerId)
      } else if (this.shouldUpdateStatus(peer, ourHeadSlot, now)) {
        this.modules.logger.debug(
          { peer: peer.peerId.toString(), peerHeadSlot: peer.status!.headSlot, headSlot: ourHeadSlot },
          'peer behind our head: Status sent',
        )
        this.modules.metrics?.statusUpdates.inc()
        void this.requestStatus(peer.peerId)
      }
      if (now >= (peer.nextPingAtMs ?? 0)) {
        peer.nextPingAtMs = now + this.pingInterval(peer)
        void this.ping(peer.peerId)
      }
    }
  }

  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    if (this.stopping) return
    const connection = evt.detail
    const peerId = connection.remotePeer
    if (this.modules.peerStore.get(peerId)) return // a second connection to a known peer
    const direction = connection.direction
    this.modules.peerStore.add(peerId, direction)
    if (direction === 'outbound') {
      void this.requestStatus(peerId)
      void this.ping(peerId)
    } else {
      const timer = setTimeout(() => {
        this.inboundTimers.delete(peerId.toString())
        if (!this.modules.peerStore.get(peerId)?.handshaken) void this.requestStatus(peerId)
      }, this.opts.inboundStatusWaitMs)
      timer.unref()
      this.inboundTimers.set(peerId.toString(), timer)
    }
  }

  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.clearInboundTimer(evt.detail)
    this.told.delete(evt.detail.toString())
    this.modules.peerStore.delete(evt.detail)
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, agentVersion, protocols } = evt.detail
    if (agentVersion) this.modules.peerStore.setAgent(peerId, agentVersion)
    this.modules.peerStore.setProtocols(peerId, protocols)
  }

  private readonly onScoreAction = (peer: string, action: PeerAction, reason: string, state: ScoreState): void => {
    this.modules.metrics?.penalties.inc({ action, reason })
    // A static peer would be dialled straight back (the gater lets it in): a Goodbye only churns its connection.
    if (state === 'healthy' || this.stopping || this.modules.isStatic?.(peer)) return
    const data = this.modules.peerStore.get(peer)
    if (state === 'ban') this.refuse(peer, this.opts.coolDowns.bannedMs, 'ban', 'sent', GoodbyeReason.Banned)
    if (data) void this.disconnect(data.peerId, state === 'ban' ? GoodbyeReason.Banned : GoodbyeReason.ScoreTooLow)
  }
}

function reasonLabel(reason: bigint): string {
  return Object.values(GoodbyeReason).includes(Number(reason)) ? String(reason) : 'other'
}
