/**
 * @libp2p/gossipsub options for the beacon network (phase0 p2p-interface.md "The gossip domain: gossipsub"):
 * the spec's mesh parameters, StrictNoSign, the Altair message id, the spec's size limits, peer scoring, and the
 * topic allow-list of this chain's digests.
 */
import { type GossipsubOpts, StrictNoSign } from '@libp2p/gossipsub'
import type { MetricsRegister } from '@libp2p/gossipsub/metrics'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import { MAX_PAYLOAD_SIZE_BYTES } from '../wire/constants.js'
import { maxCompressedLength } from '../wire/snappyFrames.js'
import type { GossipCodec } from './gossipCodec.js'
import { computeScoreParams, SCORE_THRESHOLDS } from './scoreParams.js'

/** phase0 p2p-interface.md gossipsub parameters. */
export const GOSSIPSUB_SPEC = {
  D: 8,
  Dlo: 6,
  Dhi: 12,
  Dlazy: 6,
  heartbeatIntervalMs: 700,
  fanoutTtlMs: 60_000,
  mcacheLength: 6,
  mcacheGossip: 3,
} as const

/** phase0 p2p-interface.md max_message_size(): the largest encoded RPC a peer may send (12,234,442 bytes). */
export const MAX_GOSSIP_RPC_BYTES = Math.max(maxCompressedLength(MAX_PAYLOAD_SIZE_BYTES) + 1024, 1024 * 1024)

export const GOSSIPSUB_PARAMS_DEFAULTS = {
  /** ≈ mainnet's active validators (2025): sets the expected attestation/aggregate rates, which only scale P2. */
  activeValidatorCount: 1_000_000,
  /** No IP is exempt from the colocation penalty; a devnet on one host passes ['127.0.0.1']. */
  ipColocationWhitelist: [] as readonly string[],
  /** Contower validates every message before gossipsub forwards it (reportMessageValidationResult). */
  asyncValidation: true,
}

export type GossipsubParamsOpts = typeof GOSSIPSUB_PARAMS_DEFAULTS

export interface GossipsubParamsModules {
  forkSchedule: ForkSchedule
  codec: GossipCodec
  /** gossipsub's internal metrics sink (see gossipsubMetrics.ts); null = none. */
  metricsRegister?: MetricsRegister | null
}

/** The options for `gossipsub()` from @libp2p/gossipsub. */
export function gossipsubOptions(
  modules: GossipsubParamsModules,
  opts: Partial<GossipsubParamsOpts> = {},
): Partial<GossipsubOpts> {
  const o = { ...GOSSIPSUB_PARAMS_DEFAULTS, ...opts }
  const { config } = modules.forkSchedule
  const topics = modules.codec.allTopics()
  return {
    D: GOSSIPSUB_SPEC.D,
    Dlo: GOSSIPSUB_SPEC.Dlo,
    Dhi: GOSSIPSUB_SPEC.Dhi,
    Dlazy: GOSSIPSUB_SPEC.Dlazy,
    heartbeatInterval: GOSSIPSUB_SPEC.heartbeatIntervalMs,
    fanoutTTL: GOSSIPSUB_SPEC.fanoutTtlMs,
    mcacheLength: GOSSIPSUB_SPEC.mcacheLength,
    mcacheGossip: GOSSIPSUB_SPEC.mcacheGossip,
    // seen_ttl = SLOT_DURATION_MS * SLOTS_PER_EPOCH * 2 (768 s on mainnet): attestations live about an epoch.
    seenTTL: config.slotDurationMs * config.slotsPerEpoch * 2,
    globalSignaturePolicy: StrictNoSign,
    msgIdFn: modules.codec.msgIdFn,
    msgIdToStrFn: modules.codec.msgIdToStrFn,
    asyncValidation: o.asyncValidation,
    maxInboundDataLength: MAX_GOSSIP_RPC_BYTES,
    // Only this chain's topics: messages and subscriptions on any other topic are dropped before any work, which
    // also bounds gossipsub's per-topic state and the metric labels.
    allowedTopics: [...topics.keys()],
    // Beacon nodes speak meshsub only; floodsub peers would bypass the mesh and its scoring.
    fallbackToFloodsub: false,
    // Flood-publish our own messages to every subscribed peer (gossipsub v1.1 default; Lodestar too).
    floodPublish: true,
    // Peer exchange helps bootstrap nodes; Contower finds peers through discv5.
    doPX: false,
    scoreParams: computeScoreParams(config, topics, {
      activeValidatorCount: o.activeValidatorCount,
      ipColocationWhitelist: o.ipColocationWhitelist,
    }),
    scoreThresholds: SCORE_THRESHOLDS,
    metricsRegister: modules.metricsRegister ?? null,
    metricsTopicStrToLabel: topics,
  }
}
