import type { Libp2p } from '@libp2p/interface'
import { Gauge, type Registry } from 'prom-client'
import { TRANSPORTS, type TransportName, transportOf } from './transport.js'

/** A peer's transports: one of them, or both when it holds a TCP and a QUIC connection at once. */
export type PeerTransports = TransportName | 'tcp+quic'

/** Open connections and connected peers counted by transport (a peer on two transports is one `tcp+quic` peer). */
export function peersByTransport(host: Pick<Libp2p, 'getConnections'>): Map<PeerTransports, number> {
  const byPeer = new Map<string, Set<TransportName>>()
  for (const c of host.getConnections()) {
    const peer = c.remotePeer.toString()
    const set = byPeer.get(peer) ?? new Set()
    set.add(transportOf(c.remoteAddr))
    byPeer.set(peer, set)
  }
  const counts = new Map<PeerTransports, number>()
  for (const set of byPeer.values()) {
    const key: PeerTransports = set.size === 1 ? [...set][0]! : set.has('tcp') && set.has('quic') ? 'tcp+quic' : 'other'
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** Connection metrics read from the host at scrape time; labels are transport and direction, never a peer id. */
export function registerNetworkMetrics(registry: Registry, host: () => Pick<Libp2p, 'getConnections'> | null): void {
  new Gauge({
    name: 'contower_connections',
    help: 'Open libp2p connections, by transport (tcp, quic, other) and direction',
    labelNames: ['transport', 'direction'],
    registers: [registry],
    collect() {
      this.reset()
      for (const t of TRANSPORTS) for (const d of ['inbound', 'outbound']) this.set({ transport: t, direction: d }, 0)
      for (const c of host()?.getConnections() ?? []) {
        this.inc({ transport: transportOf(c.remoteAddr), direction: c.direction })
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
}
