/**
 * The SSZ type of each topic's messages for a fork (phase0 … gloas p2p-interface.md topic tables), and the size cap
 * its uncompressed payload must respect: the type's own bound (from Gloas, the "Type-specific SSZ bounds" table where
 * it names the type) or MAX_PAYLOAD_SIZE, whichever is lower.
 */
import type { Type } from '@chainsafe/ssz'
import {
  ForkName,
  ForkSeq,
  MAX_ATTESTER_SLASHING_SIZE,
  MAX_DATA_COLUMN_SIDECAR_SIZE,
  MAX_SIGNED_AGGREGATE_AND_PROOF_SIZE,
  MAX_SIGNED_EXECUTION_PAYLOAD_BID_SIZE,
} from '@lodestar/params'
import { sszTypesFor } from '@lodestar/types'
import { MAX_PAYLOAD_SIZE_BYTES } from '../wire/constants.js'
import type { TopicKind } from './topics.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one registry holds types of every shape
export type GossipSszType = Type<any>

/** Lodestar's type name per topic; beacon_attestation carries SingleAttestation from Electra (EIP-7549). */
const TYPE_NAMES: Record<TopicKind, string> = {
  beacon_block: 'SignedBeaconBlock',
  beacon_aggregate_and_proof: 'SignedAggregateAndProof',
  beacon_attestation: 'Attestation',
  voluntary_exit: 'SignedVoluntaryExit',
  proposer_slashing: 'ProposerSlashing',
  attester_slashing: 'AttesterSlashing',
  sync_committee_contribution_and_proof: 'SignedContributionAndProof',
  sync_committee: 'SyncCommitteeMessage',
  bls_to_execution_change: 'SignedBLSToExecutionChange',
  light_client_finality_update: 'LightClientFinalityUpdate',
  light_client_optimistic_update: 'LightClientOptimisticUpdate',
  data_column_sidecar: 'DataColumnSidecar',
  execution_payload: 'SignedExecutionPayloadEnvelope',
  payload_attestation_message: 'PayloadAttestationMessage',
  execution_payload_bid: 'SignedExecutionPayloadBid',
  proposer_preferences: 'SignedProposerPreferences',
}

/**
 * gloas p2p-interface.md "Type-specific SSZ bounds" (EIP-7688, preset values): progressive lists carry no limit of
 * their own, so these supersede the type's bound for the topics whose message is the named type.
 */
const GLOAS_SSZ_BOUNDS: Partial<Record<TopicKind, number>> = {
  beacon_aggregate_and_proof: MAX_SIGNED_AGGREGATE_AND_PROOF_SIZE,
  attester_slashing: MAX_ATTESTER_SLASHING_SIZE,
  data_column_sidecar: MAX_DATA_COLUMN_SIDECAR_SIZE,
  execution_payload_bid: MAX_SIGNED_EXECUTION_PAYLOAD_BID_SIZE,
}

/** Forks whose gossip rules this module implements; a later fork's messages are IGNOREd, never judged by old rules. */
export const SUPPORTED_FORKS: ReadonlySet<string> = new Set([
  ForkName.phase0,
  ForkName.altair,
  ForkName.bellatrix,
  ForkName.capella,
  ForkName.deneb,
  ForkName.electra,
  ForkName.fulu,
  ForkName.gloas,
])

const cache = new Map<string, GossipSszType | null>()

/** The message type of `kind` under `fork`, or null when the fork (or the topic in it) is unknown to @lodestar/types. */
export function gossipSszType(kind: TopicKind, fork: string): GossipSszType | null {
  const key = `${fork}/${kind}`
  let type = cache.get(key)
  if (type === undefined) {
    type = lookup(kind, fork)
    cache.set(key, type)
  }
  return type
}

function lookup(kind: TopicKind, fork: string): GossipSszType | null {
  const seq = ForkSeq[fork as keyof typeof ForkSeq]
  if (seq === undefined) return null
  const name = kind === 'beacon_attestation' && seq >= ForkSeq.electra ? 'SingleAttestation' : TYPE_NAMES[kind]
  const types = sszTypesFor(fork as ForkName) as unknown as Record<string, GossipSszType | undefined>
  return types[name] ?? null
}

/**
 * Largest uncompressed payload a message of `type` may have on a `kind` topic of `fork` (the spec's size limits,
 * phase0 p2p-interface.md; the Gloas table replaces the type's bound where it names one).
 */
export function maxUncompressedBytes(type: GossipSszType | null, kind?: TopicKind, fork?: string): number {
  if (type === null) return MAX_PAYLOAD_SIZE_BYTES
  const seq = fork === undefined ? undefined : ForkSeq[fork as keyof typeof ForkSeq]
  // Only Gloas: a later fork may supersede the table again (Heze does for bids), and its rules are not written here.
  const gloasBound = kind !== undefined && seq === ForkSeq.gloas ? GLOAS_SSZ_BOUNDS[kind] : undefined
  return Math.min(gloasBound ?? type.maxSize, MAX_PAYLOAD_SIZE_BYTES)
}
