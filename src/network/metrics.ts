import type { Libp2p } from '@libp2p/interface'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { TRANSPORTS, type TransportName, transportOf } from './transport.js'

export type NetworkMetrics = ReturnType<typeof createNetworkMetrics>

/** From a connection refused at once to a peer kept for hours: flapping shows up in the first buckets. */
const LIFETIME_BUCKETS_SECONDS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600]

/** Muxer label of a connection: its protocol without the slashes and version (yamux, mplex), or none (QUIC's own). */
export function muxerLabel(multiplexer: string | undefined): string {
  return multiplexer?.split('/')[1] ?? 'none'
}

/** A peer's transports: one of them, or both when it holds a TCP and a QUIC connection at once. */
export type PeerTransports = TransportName | 'tcp+quic'

/** Each connected peer's transports, by peer id (a peer on TCP and QUIC at once is `tcp+quic`). */
export function transportsByPeer(host: Pick<Libp2p, 'getConnections'>): Map<string, PeerTransports> {
  const byPeer = new Map<string, Set<TransportName>>()
  for (const c of host.getConnections()) {
    const peer = c.remotePeer.toString()
    const set = byPeer.get(peer) ?? new Set()
    set.add(transportOf(c.remoteAddr))
    byPeer.set(peer, set)
  }
  const out = new Map<string, PeerTransports>()
  for (const [peer, set] of byPeer) {
    out.set(peer, set.size === 1 ? [...set][0]! : set.has('tcp') && set.has('quic') ? 'tcp+quic' : 'other')
  }
  return out
}

/** Connected peers counted by transport (a peer on two transports is one `tcp+quic` peer). */
export function peersByTransport(host: Pick<Libp2p, 'getConnections'>): Map<PeerTransports, number> {
  const counts = new Map<PeerTransports, number>()
  for (const key of transportsByPeer(host).values()) counts.set(key, (counts.get(key) ?? 0) + 1)
  return counts
}

/**
 * Connection-level metrics: open connections by transport, muxer and direction and connected peers by transport
 * (both at scrape time), lifetimes of closed connections, why they closed, and dials and inbound upgrades that
 * failed, by reason. Labels never carry a peer id.
 */
export function createNetworkMetrics(registry: Registry, host: () => Libp2p | null) {
  new Gauge({
    name: 'contower_connections',
    help: 'Open connections by transport (tcp, quic, other), stream muxer (yamux, mplex; none: QUIC multiplexes itself) and direction (inbound: the peer dialled)',
    labelNames: ['transport', 'muxer', 'direction'],
    registers: [registry],
    collect() {
      this.reset()
      for (const t of TRANSPORTS)
        for (const d of ['inbound', 'outbound']) this.inc({ transport: t, muxer: 'none', direction: d }, 0)
      for (const c of host()?.getConnections() ?? []) {
        this.inc({ transport: transportOf(c.remoteAddr), muxer: muxerLabel(c.multiplexer), direction: c.direction })
      }
    },
  })
  new Gauge({
    name: 'contower_peers_by_transport',
    help: 'Connected peers by the transports of their connections (tcp, quic, or tcp+quic for a peer on both)',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset()
      const h = host()
      if (!h) return
      for (const [t, n] of peersByTransport(h)) this.set({ transport: t }, n)
    },
  })
  return {
    lifetime: new Histogram({
      name: 'contower_connection_lifetime_seconds',
      help: 'How long closed connections were open, by stream muxer and direction',
      labelNames: ['muxer', 'direction'],
      buckets: LIFETIME_BUCKETS_SECONDS,
      registers: [registry],
    }),
    closes: new Counter({
      name: 'contower_connection_closes_total',
      help: 'Connections closed, by direction, reason, and whether they were short-lived (counted as a failed dial)',
      labelNames: ['direction', 'reason', 'short_lived'],
      registers: [registry],
    }),
    dialFailures: new Counter({
      name: 'contower_dial_failures_total',
      help: 'Dials by Contower (static peers and the peer manager) that failed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    inboundUpgradeFailures: new Counter({
      name: 'contower_inbound_upgrade_failures_total',
      help: 'Inbound sockets that closed before becoming connections, by the step they failed at: encryption, muxer or denied',
      labelNames: ['stage'],
      registers: [registry],
    }),
  }
}
