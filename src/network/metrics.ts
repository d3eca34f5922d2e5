import type { Libp2p } from '@libp2p/interface'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export type NetworkMetrics = ReturnType<typeof createNetworkMetrics>

/** From a connection refused at once to a peer kept for hours: flapping shows up in the first buckets. */
const LIFETIME_BUCKETS_SECONDS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600]

/** Muxer label of a connection: its protocol without the slashes and version (yamux, mplex), or none. */
export function muxerLabel(multiplexer: string | undefined): string {
  return multiplexer?.split('/')[1] ?? 'none'
}

/**
 * Connection-level metrics: open connections by muxer and direction (at scrape time), lifetimes of closed ones,
 * why they closed, and dials and inbound upgrades that failed, by reason.
 */
export function createNetworkMetrics(registry: Registry, host: () => Libp2p | null) {
  new Gauge({
    name: 'contower_connections',
    help: 'Open connections by stream muxer and direction (inbound: the peer dialled)',
    labelNames: ['muxer', 'direction'],
    registers: [registry],
    collect() {
      this.reset()
      for (const c of host()?.getConnections() ?? [])
        this.inc({ muxer: muxerLabel(c.multiplexer), direction: c.direction })
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
