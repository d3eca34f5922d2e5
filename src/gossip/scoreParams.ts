/**
 * Gossipsub v1.1 peer scoring in the spirit of Lighthouse's and Lodestar's parameters (eth2-p2p.md §4): the same
 * thresholds, topic weights, decay and IP-colocation penalty. Two differences, both because Contower has no chain:
 * - P3/P3b (mesh message delivery deficits) are off: their expected rates need the active validator count, and a
 *   relay is not the one to punish a quiet mesh; they are also what makes a peer's score fall during missed slots.
 * - Topics the clients leave unscored (sync committee, light client, data columns) get P4 only, so a peer flooding
 *   them with invalid messages is graylisted like any other. So do Gloas's payload topics (execution_payload,
 *   payload_attestation_message, execution_payload_bid, proposer_preferences): their rates depend on builders and
 *   the PTC, which a relay cannot estimate.
 */
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import type { ChainConfig } from '../chain/chainConfig.js'
import { ATTESTATION_SUBNET_COUNT, type TopicKind } from './topics.js'

/** Lighthouse's and Lodestar's thresholds (eth2-p2p.md §4). */
export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -4000,
  publishThreshold: -8000,
  graylistThreshold: -16000,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 5,
}

/** Topic weights; beacon_attestation's is per subnet (1/64 each, 1 together). */
export const TOPIC_WEIGHTS: Partial<Record<TopicKind, number>> = {
  beacon_block: 0.5,
  beacon_aggregate_and_proof: 0.5,
  beacon_attestation: 1 / ATTESTATION_SUBNET_COUNT,
  voluntary_exit: 0.05,
  proposer_slashing: 0.05,
  attester_slashing: 0.05,
  bls_to_execution_change: 0.05,
}

/** P1 reaches its cap of 10 after an hour in the mesh; P2 is capped at 40 (Lighthouse's MAX_* constants). */
const MAX_IN_MESH_SCORE = 10
const MAX_FIRST_MESSAGE_DELIVERIES_SCORE = 40
/** gossipsub's least decay interval. */
const MIN_DECAY_INTERVAL_MS = 1_000
/** Counters decay to zero below this (eth2-p2p.md §4). */
const DECAY_TO_ZERO = 0.01
/** More than this many peers on one IP are penalised (eth2-p2p.md §4). */
const IP_COLOCATION_THRESHOLD = 3
/** Behaviour penalties (broken IWANT promises, early re-grafts) start counting after this many. */
const BEHAVIOUR_PENALTY_THRESHOLD = 6
/** Mesh target size, for the first-delivery cap (phase0 p2p-interface.md D). */
const GOSSIP_D = 8
/** Weight of the P4-only topics: small, and irrelevant to the penalty, which is scaled back by 1/weight. */
const P4_ONLY_WEIGHT = 0.05

/** Sum of the scored topics' weights × the most a topic yields: 110 with the weights above. */
export const MAX_POSITIVE_SCORE =
  (MAX_IN_MESH_SCORE + MAX_FIRST_MESSAGE_DELIVERIES_SCORE) *
  Object.entries(TOPIC_WEIGHTS).reduce(
    (sum, [kind, w]) => sum + w * (kind === 'beacon_attestation' ? ATTESTATION_SUBNET_COUNT : 1),
    0,
  )
/** Half of it: no topic mix can lift a peer further; also the IP-colocation weight (−55). */
export const TOPIC_SCORE_CAP = MAX_POSITIVE_SCORE / 2

export interface ScoreParamsOpts {
  /** Active validators assumed when estimating attestation and aggregate rates (only scales the positive P2). */
  activeValidatorCount: number
  /** IPs exempt from the colocation penalty (a devnet's 127.0.0.1). */
  ipColocationWhitelist: readonly string[]
}

/** Score parameters for every topic in `topics` (topic string → kind). */
export function computeScoreParams(
  config: ChainConfig,
  topics: ReadonlyMap<string, TopicKind>,
  opts: ScoreParamsOpts,
): Partial<PeerScoreParams> {
  const slotMs = config.slotDurationMs
  const epochMs = slotMs * config.slotsPerEpoch
  // Counters decay once per slot (gossipsub allows no interval under 1 s: a devnet's shorter slots decay per second)
  // and fall to DECAY_TO_ZERO after `ms`.
  const intervalMs = Math.max(slotMs, MIN_DECAY_INTERVAL_MS)
  const decay = (ms: number) => DECAY_TO_ZERO ** (1 / (ms / intervalMs))
  const behaviourPenaltyDecay = decay(epochMs * 10)
  const penaltiesPerInterval = (10 / config.slotsPerEpoch) * (intervalMs / slotMs)
  const target = convergence(behaviourPenaltyDecay, penaltiesPerInterval) - BEHAVIOUR_PENALTY_THRESHOLD

  const byKind = topicParamsByKind(config, opts.activeValidatorCount, decay)
  const topicParams: Record<string, TopicScoreParams> = {}
  for (const [topic, kind] of topics) topicParams[topic] = byKind[kind]
  return {
    topics: topicParams,
    topicScoreCap: TOPIC_SCORE_CAP,
    appSpecificScore: () => 0,
    appSpecificWeight: 1,
    decayInterval: intervalMs,
    decayToZero: DECAY_TO_ZERO,
    // A peer that reconnects within 100 epochs finds its score (and its penalties) where it left them.
    retainScore: epochMs * 100,
    IPColocationFactorWeight: -TOPIC_SCORE_CAP,
    IPColocationFactorThreshold: IP_COLOCATION_THRESHOLD,
    IPColocationFactorWhitelist: new Set(opts.ipColocationWhitelist),
    behaviourPenaltyDecay,
    behaviourPenaltyThreshold: BEHAVIOUR_PENALTY_THRESHOLD,
    behaviourPenaltyWeight: SCORE_THRESHOLDS.gossipThreshold / (target * target),
  }
}

function topicParamsByKind(
  config: ChainConfig,
  activeValidators: number,
  decay: (ms: number) => number,
): Record<TopicKind, TopicScoreParams> {
  const slotMs = config.slotDurationMs
  const epochMs = slotMs * config.slotsPerEpoch
  const perSlot = 1 / config.slotsPerEpoch
  const committeesPerSlot = Math.max(1, Math.min(64, Math.floor(activeValidators / config.slotsPerEpoch / 128)))
  // TARGET_AGGREGATORS_PER_COMMITTEE = 16 aggregators in each committee of the slot.
  const aggregatorsPerSlot = committeesPerSlot * 16
  const manyBursts = committeesPerSlot >= (2 * ATTESTATION_SUBNET_COUNT) / config.slotsPerEpoch
  const scored = (kind: TopicKind, expectedPerSlot: number, firstDecayMs: number): TopicScoreParams => {
    const topicWeight = TOPIC_WEIGHTS[kind]!
    const firstDecay = decay(firstDecayMs)
    const firstCap = convergence(firstDecay, (2 * expectedPerSlot) / GOSSIP_D)
    const timeInMeshCap = 3600 / (slotMs / 1000)
    return {
      ...p4Only(-MAX_POSITIVE_SCORE / topicWeight, decay(epochMs * 50), slotMs),
      topicWeight,
      timeInMeshQuantum: slotMs,
      timeInMeshCap,
      timeInMeshWeight: MAX_IN_MESH_SCORE / timeInMeshCap,
      firstMessageDeliveriesDecay: firstDecay,
      firstMessageDeliveriesCap: firstCap,
      firstMessageDeliveriesWeight: MAX_FIRST_MESSAGE_DELIVERIES_SCORE / firstCap,
    }
  }
  const invalidOnly = p4Only(-MAX_POSITIVE_SCORE / P4_ONLY_WEIGHT, decay(epochMs * 50), slotMs)
  return {
    beacon_block: scored('beacon_block', 1, epochMs * 20),
    beacon_aggregate_and_proof: scored('beacon_aggregate_and_proof', aggregatorsPerSlot, epochMs),
    beacon_attestation: scored(
      'beacon_attestation',
      activeValidators / ATTESTATION_SUBNET_COUNT / config.slotsPerEpoch,
      manyBursts ? epochMs : epochMs * 4,
    ),
    voluntary_exit: scored('voluntary_exit', 4 * perSlot, epochMs * 100),
    proposer_slashing: scored('proposer_slashing', perSlot / 5, epochMs * 100),
    attester_slashing: scored('attester_slashing', perSlot / 5, epochMs * 100),
    bls_to_execution_change: scored('bls_to_execution_change', 4 * perSlot, epochMs * 100),
    sync_committee: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    sync_committee_contribution_and_proof: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    light_client_finality_update: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    light_client_optimistic_update: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    data_column_sidecar: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    execution_payload: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    payload_attestation_message: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    execution_payload_bid: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
    proposer_preferences: { ...invalidOnly, topicWeight: P4_ONLY_WEIGHT },
  }
}

/** A topic scored on invalid messages only (P4); P1–P3b off. */
function p4Only(invalidWeight: number, invalidDecay: number, quantumMs: number): TopicScoreParams {
  return {
    topicWeight: P4_ONLY_WEIGHT,
    timeInMeshWeight: 0,
    timeInMeshQuantum: quantumMs,
    timeInMeshCap: 0,
    firstMessageDeliveriesWeight: 0,
    firstMessageDeliveriesDecay: 0.5,
    firstMessageDeliveriesCap: 0,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 0,
    meshMessageDeliveriesThreshold: 0,
    meshMessageDeliveriesWindow: 0,
    meshMessageDeliveriesActivation: 0,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: invalidWeight,
    invalidMessageDeliveriesDecay: invalidDecay,
  }
}

/** The value a counter decaying by `decay` per interval settles at when `rate` is added each interval. */
function convergence(decay: number, rate: number): number {
  return rate / (1 - decay)
}
