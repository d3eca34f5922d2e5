import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { BanList } from './banList.js'
import { CLIENTS, type PeerStore } from './peerStore.js'

export type PeerMetrics = ReturnType<typeof createPeerMetrics>
export type PeerManagerMetrics = ReturnType<typeof createPeerManagerMetrics>

/** Ping round trips: a healthy peer answers in milliseconds; the spec's 5 s time to first byte is the cap. */
const PING_RTT_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/**
 * Peer-level metrics: handshakes, goodbyes, penalties, cool-downs, ping round trips; peers by client and by
 * direction computed at scrape time.
 */
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
  new Gauge({
    name: 'contower_peers_by_direction',
    help: 'Connected peers by the direction of their first connection (inbound: they dialled us)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const counts = { inbound: 0, outbound: 0 }
      for (const p of peerStore.all()) counts[p.direction]++
      for (const [direction, n] of Object.entries(counts)) this.set({ direction }, n)
    },
  })
  return {
    handshakes: new Counter({
      name: 'contower_handshakes_total',
      help: 'Status handshakes by result: success, failed, or the irrelevance reason',
      labelNames: ['direction', 'result'],
      registers: [registry],
    }),
    statusUpdates: new Counter({
      name: 'contower_status_updates_total',
      help: 'Status requests sent to a peer whose head is several slots behind ours, so that it starts to sync',
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
    coolDowns: new Counter({
      name: 'contower_peer_cool_downs_total',
      help: 'Peers refused for a while (kind ban or cool_down), by the Goodbye sent or received and its reason code',
      labelNames: ['kind', 'direction', 'reason'],
      registers: [registry],
    }),
    pingRtt: new Histogram({
      name: 'contower_peer_ping_rtt_seconds',
      help: 'Round trip of the Pings Contower sends to its peers',
      buckets: PING_RTT_BUCKETS_SECONDS,
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

export interface PeerManagerMetricSources {
  bans: BanList
  /** Candidates waiting in the dial queue. */
  queueLength: () => number
}

/** The peer manager's metrics: dials, prunes, refused inbound connections, candidates; ban list and queue sizes. */
export function createPeerManagerMetrics(registry: Registry, sources: PeerManagerMetricSources) {
  new Gauge({
    name: 'contower_peer_ban_list_size',
    help: 'Peers refused in both directions right now, by kind: ban (misbehaviour) or cool_down (after a Goodbye)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const [kind, n] of Object.entries(sources.bans.counts())) this.set({ kind }, n)
    },
  })
  new Gauge({
    name: 'contower_peer_dial_queue_length',
    help: 'Dial candidates waiting in the peer manager queue',
    registers: [registry],
    collect() {
      this.set(sources.queueLength())
    },
  })
  return {
    dials: new Counter({
      name: 'contower_peer_dials_total',
      help: 'Outbound dial attempts by the peer manager, by outcome (success, timeout, refused (gater), error, aborted) and transport (quic is tried first, tcp after a failed quic)',
      labelNames: ['outcome', 'transport'],
      registers: [registry],
    }),
    candidates: new Counter({
      name: 'contower_peer_candidates_total',
      help: 'Dial candidates offered to the peer manager, by verdict (queued, or why not)',
      labelNames: ['verdict'],
      registers: [registry],
    }),
    prunes: new Counter({
      name: 'contower_peer_prunes_total',
      help: 'Peers disconnected by the heartbeat to get back to the target, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    inboundRefused: new Counter({
      name: 'contower_peer_inbound_refused_total',
      help: 'Inbound peers sent Goodbye(129) on arrival, by reason: max_peers or ip_limit',
      labelNames: ['reason'],
      registers: [registry],
    }),
    discoveryRequests: new Counter({
      name: 'contower_peer_discovery_requests_total',
      help: 'Times the peer manager asked discovery for more peers',
      registers: [registry],
    }),
  }
}
