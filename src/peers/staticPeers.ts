import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../logger.js'

export const STATIC_PEER_DEFAULTS = {
  /** First redial delay after a disconnect or failed dial; doubles up to the cap, and never gives up. */
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

/** `--static-peers`: dialled at start, redialled with backoff whenever they drop, never pruned. */
export class StaticPeers {
  private readonly peers = new Map<string, StaticPeer>()
  private running = false

  constructor(
    private readonly modules: { host: Libp2p; logger: Logger },
    addrs: readonly string[],
    private readonly opts = STATIC_PEER_DEFAULTS,
  ) {
    for (const text of addrs) {
      const addr = multiaddr(text)
      const id = addr.getComponents().find((c) => c.name === 'p2p')!.value! // checked by the config schema
      this.peers.set(id, { peerId: peerIdFromString(id), addr, backoffMs: opts.initialBackoffMs, timer: null })
    }
  }

  isStatic(peer: PeerId | string): boolean {
    return this.peers.has(peer.toString())
  }

  async start(): Promise<void> {
    this.running = true
    this.modules.host.addEventListener('peer:disconnect', this.onDisconnect)
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
    this.modules.host.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const peer of this.peers.values()) {
      if (peer.timer) clearTimeout(peer.timer)
      peer.timer = null
    }
  }

  private async dial(peer: StaticPeer): Promise<void> {
    peer.timer = null
    if (!this.running || this.modules.host.getConnections(peer.peerId).length > 0) return
    try {
      await this.modules.host.dial(peer.addr)
      peer.backoffMs = this.opts.initialBackoffMs
      this.modules.logger.info({ peer: peer.peerId.toString() }, 'static peer connected')
    } catch (e) {
      this.modules.logger.debug(
        { peer: peer.peerId.toString(), err: (e as Error).message, retryMs: peer.backoffMs },
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

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = this.peers.get(evt.detail.toString())
    if (peer) this.schedule(peer)
  }
}
