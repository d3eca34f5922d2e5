import { Gauge, Registry } from 'prom-client'

export interface NodeMetricsSources {
  version: string
  commit: string
  /** Number of distinct connected peers, read at scrape time. */
  peerCount: () => number
  /** The wall-clock slot, and the head slot our Status advertises (peers' heads and gossiped blocks). */
  slot: () => number
  headSlot: () => number
}

/**
 * The one registry every area registers into. Process and Node.js default metrics are added by the libp2p
 * Prometheus metrics service, which shares this registry.
 */
export function createRegistry(): Registry {
  return new Registry()
}

/** Node-wide metrics; gauges are computed at scrape time so nothing needs updating on the hot path. */
export function registerNodeMetrics(registry: Registry, sources: NodeMetricsSources): void {
  const buildInfo = new Gauge({
    name: 'contower_build_info',
    help: 'Build information: always 1, with the version and commit as labels',
    labelNames: ['version', 'commit'],
    registers: [registry],
  })
  buildInfo.set({ version: sources.version, commit: sources.commit }, 1)

  new Gauge({
    name: 'libp2p_peers',
    help: 'Number of connected peers',
    registers: [registry],
    collect() {
      this.set(sources.peerCount())
    },
  })

  new Gauge({
    name: 'beacon_clock_slot',
    help: 'The current slot by the wall clock (the name beacon-metrics gives it)',
    registers: [registry],
    collect() {
      this.set(sources.slot())
    },
  })
  new Gauge({
    name: 'beacon_head_slot',
    help: 'The head slot Contower advertises in its Status: the best of its peers’ heads and gossiped blocks',
    registers: [registry],
    collect() {
      this.set(sources.headSlot())
    },
  })
}
