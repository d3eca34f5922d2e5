import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../logger.js'
import type { ClosedConnection, ConnectionMonitor } from '../network/connectionMonitor.js'

export const STATIC_PEER_DEFAULTS = {
  /**
   * First redial delay after a failed dial or a dropped connection; doubles up to the cap, and never gives up. A
   * connection that drops soon after opening (ConnectionMonitor's shortLivedMs) counts as a failed dial: only one
   * that lasted resets the delay.
   */
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  /** libp2p's pruner closes the lowest-valued connections first: this tag keeps static peers out of reach. */
  tagValue: 100,
}

interface StaticPeer {
  peerId: PeerId
  addr: Multiaddr
  backoffMs: number
  timer: NodeJS.Timeout | null
}

export interface StaticPeersModules {
  host: Libp2p
  /** Tells how each connection ended, and classifies failed dials. */
  connections: Pick<ConnectionMonitor, 'onClose' | 'dialFailed'>
  logger: Logger
}

/** `--static-peers`: dialled at start, redialled with backoff whenever they drop, never pruned. */
export class StaticPeers {
  private readonly peers = new Map<string, StaticPeer>()
  private running = false
  private unsubscribe: (() => void) | null = null

  private readonly opts: typeof STATIC_PEER_DEFAULTS

  constructor(
    private readonly modules: StaticPeersModules,
    addrs: readonly string[],
    opts: Partial<typeof STATIC_PEER_DEFAULTS> = {},
  ) {
    this.opts = { ...STATIC_PEER_DEFAULTS, ...opts }
    for (const text of addrs) {
      const addr = multiaddr(text)
      const id = addr.getComponents().find((c) => c.name === 'p2p')!.value! // checked by the config schema
      this.peers.set(id, { peerId: peerIdFromString(id), addr, backoffMs: this.opts.initialBackoffMs, timer: null })
    }
  }

  isStatic(peer: PeerId | string): boolean {
    return this.peers.has(peer.toString())
  }

  async start(): Promise<void> {
    this.running = true
    this.unsubscribe = this.modules.connections.onClose(this.onClose)
    for (const peer of this.peers.values()) {
      await this.modules.host.peerStore.merge(peer.peerId, {
        multiaddrs: [peer.addr],
        tags: { static: { value: this.opts.tagValue } },
      })
      void this.dial(peer)
    }
  }

  stop(): void {
    this.running = false
    this.unsubscribe?.()
    this.unsubscribe = null
    for (const peer of this.peers.values()) {
      if (peer.timer) clearTimeout(peer.timer)
      peer.timer = null
    }
  }

  private async dial(peer: StaticPeer): Promise<void> {
    peer.timer = null
    if (!this.running || this.modules.host.getConnections(peer.peerId).length > 0) return
    try {
      const connection = await this.modules.host.dial(peer.addr)
      this.modules.logger.info({ peer: peer.peerId.toString(), muxer: connection.multiplexer }, 'static peer connected')
    } catch (e) {
      const reason = this.modules.connections.dialFailed(e)
      this.modules.logger.info(
        { peer: peer.peerId.toString(), reason, err: (e as Error).message, retryMs: peer.backoffMs },
        'static peer dial failed',
      )
      this.schedule(peer)
    }
  }

  private schedule(peer: StaticPeer): void {
    if (!this.running || peer.timer) return
    peer.timer = setTimeout(() => void this.dial(peer), peer.backoffMs)
    peer.timer.unref()
    peer.backoffMs = Math.min(peer.backoffMs * 2, this.opts.maxBackoffMs)
  }

  /** A static peer's last connection closed: redial, at once-ish after a lasting connection, backing off after a flap. */
  private readonly onClose = (closed: ClosedConnection): void => {
    const peer = this.peers.get(closed.peer.toString())
    if (!peer || !this.running || this.modules.host.getConnections(peer.peerId).length > 0) return
    if (!closed.shortLived) peer.backoffMs = this.opts.initialBackoffMs
    this.modules.logger.info(
      {
        peer: peer.peerId.toString(),
        reason: closed.reason,
        lifetimeMs: closed.lifetimeMs,
        muxer: closed.muxer,
        retryMs: peer.backoffMs,
      },
      closed.shortLived ? 'static peer dropped soon after connecting' : 'static peer disconnected',
    )
    this.schedule(peer)
  }
}
