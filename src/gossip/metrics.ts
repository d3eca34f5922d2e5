import { Counter, Gauge, type Registry } from 'prom-client'
import type { TopicKind } from './topics.js'

export type GossipMetrics = ReturnType<typeof createGossipMetrics>

export interface GossipMetricsSources {
  /** Mesh peers of each subscribed global topic at the current digest, read at scrape time. */
  meshPeersPerMainTopic: () => Iterable<[TopicKind, number]>
}

/**
 * Gossip metrics by topic KIND (beacon_attestation, not beacon_attestation_17): subnets would multiply every series by
 * up to 128. Labels: kind, reason; never a peer or a full topic. `libp2p_pubsub_validation_failure_total` and
 * `gossipsub_mesh_peers_per_main_topic` are the names ethereum/beacon-metrics lists. @libp2p/gossipsub registers
 * nothing through libp2p's metrics service (only through its own `metricsRegister` option, which Contower taps
 * for duplicates and forwards, see gossipsubMetrics.ts), so none of these names collide with libp2p's.
 */
export function createGossipMetrics(registry: Registry, sources: GossipMetricsSources) {
  const counter = (name: string, help: string, labelNames: string[] = ['kind']) =>
    new Counter({ name, help, labelNames, registers: [registry] })
  new Gauge({
    name: 'gossipsub_mesh_peers_per_main_topic',
    help: 'Mesh peers of each subscribed global topic (current fork digest), by topic kind',
    labelNames: ['topic'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [topic, peers] of sources.meshPeersPerMainTopic()) this.set({ topic }, peers)
    },
  })
  return {
    received: counter(
      'contower_gossip_received_total',
      'Gossip messages received and validated (first copies only: duplicates are counted apart), by topic kind',
    ),
    accepted: counter(
      'contower_gossip_accepted_total',
      'Gossip messages ACCEPTed (forwarded to the mesh), by topic kind',
    ),
    ignored: counter(
      'contower_gossip_ignored_total',
      'Gossip messages IGNOREd (dropped without penalty), by topic kind and reason',
      ['kind', 'reason'],
    ),
    rejected: counter(
      'contower_gossip_rejected_total',
      'Gossip messages REJECTed (dropped and the sender penalised), by topic kind and reason',
      ['kind', 'reason'],
    ),
    duplicates: counter(
      'contower_gossip_duplicates_total',
      'Gossip messages dropped by gossipsub as already seen (same message id), by topic kind',
    ),
    published: counter('contower_gossip_published_total', 'Gossip messages Contower published itself, by topic kind'),
    publishErrors: counter(
      'contower_gossip_publish_errors_total',
      'Publishes that failed (no peer on the topic, duplicate, too large), by topic kind',
    ),
    forwarded: counter(
      'contower_gossip_forwarded_total',
      'Received gossip messages forwarded to mesh peers after validation, by topic kind',
    ),
    validationFailures: new Counter({
      name: 'libp2p_pubsub_validation_failure_total',
      help: 'Gossip messages that failed validation (REJECT)',
      registers: [registry],
    }),
  }
}
