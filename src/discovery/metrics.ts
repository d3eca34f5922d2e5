import { Counter, Gauge, type Registry } from 'prom-client'
import { ENR_OUTCOMES } from './filter.js'

export type DiscoveryMetrics = ReturnType<typeof createDiscoveryMetrics>

export interface DiscoveryMetricsSources {
  /** Records in the discv5 routing table, read at scrape time. */
  tableSize: () => number
  /** Our ENR's sequence number, read at scrape time. */
  enrSeq: () => number
}

/** Discovery metrics: filter outcomes and lookups as counters, table size and our seq as scrape-time gauges. */
export function createDiscoveryMetrics(registry: Registry, sources: DiscoveryMetricsSources) {
  new Gauge({
    name: 'contower_discv5_table_size',
    help: 'Records in the discv5 routing table',
    registers: [registry],
    collect() {
      this.set(sources.tableSize())
    },
  })
  new Gauge({
    name: 'contower_discovery_enr_seq',
    help: 'Sequence number of our ENR',
    registers: [registry],
    collect() {
      this.set(sources.enrSeq())
    },
  })
  const enrs = new Counter({
    name: 'contower_discovery_enrs_total',
    help: 'Discovered records by filter outcome (accepted, wrong_fork, no_tcp_or_quic, no_eth2, self, …); repeats within the dedupe window are not counted',
    labelNames: ['outcome'],
    registers: [registry],
  })
  for (const outcome of ENR_OUTCOMES) enrs.inc({ outcome }, 0)
  const lookups = new Counter({
    name: 'contower_discovery_lookups_total',
    help: 'discv5 random-node lookups by result',
    labelNames: ['result'],
    registers: [registry],
  })
  return { enrs, lookups }
}
