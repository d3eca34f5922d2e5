import { Counter, Gauge, type Registry } from 'prom-client'
import { CLIENTS, type PeerStore } from './peerStore.js'

export type PeerMetrics = ReturnType<typeof createPeerMetrics>

/** Peer-level metrics: handshakes, goodbyes, penalties; peers by client computed at scrape time. */
export function createPeerMetrics(registry: Registry, peerStore: PeerStore) {
  new Gauge({
    name: 'contower_peers_by_client',
    help: 'Connected peers by client (from their identify agent string)',
    labelNames: ['client'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(CLIENTS.map((c) => [c, 0]))
      for (const p of peerStore.all()) counts.set(p.client, (counts.get(p.client) ?? 0) + 1)
      for (const [client, n] of counts) this.set({ client }, n)
    },
  })
  return {
    handshakes: new Counter({
      name: 'contower_handshakes_total',
      help: 'Status handshakes by result: success, failed, or the irrelevance reason',
      labelNames: ['direction', 'result'],
      registers: [registry],
    }),
    goodbyes: new Counter({
      name: 'contower_goodbyes_total',
      help: 'Goodbye messages sent and received, by reason code',
      labelNames: ['direction', 'reason'],
      registers: [registry],
    }),
    penalties: new Counter({
      name: 'contower_peer_penalties_total',
      help: 'Penalties applied to peers, by action and reason',
      labelNames: ['action', 'reason'],
      registers: [registry],
    }),
    pingRttSeconds: new Gauge({
      name: 'contower_peer_ping_rtt_seconds_max',
      help: 'Largest ping round-trip among connected peers',
      registers: [registry],
      collect() {
        let max = 0
        for (const p of peerStore.all()) max = Math.max(max, (p.pingRttMs ?? 0) / 1000)
        this.set(max)
      },
    }),
  }
}
