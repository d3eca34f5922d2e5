/**
 * The remaining topics, checks that need no state, each in the spec's order:
 * - proposer_slashing (phase0 p2p-interface.md): [REJECT] header slots match, proposer indices match, headers differ.
 * - attester_slashing (phase0): [IGNORE] no index in the intersection (none left unseen); [REJECT] the data is
 *   slashable (is_slashable_attestation_data); [REJECT] each attestation is_valid_indexed_attestation, of which
 *   the stateless part: indices non-empty, sorted and unique.
 * - sync_committee_{subnet} (altair): [IGNORE] not for the current slot.
 * - sync_committee_contribution_and_proof (altair): [IGNORE] not for the current slot; [REJECT] subcommittee index
 *   ≥ SYNC_COMMITTEE_SUBNET_COUNT; [REJECT] no participants; [REJECT] is_sync_committee_aggregator(selection_proof)
 *   false (altair validator.md: a hash of the proof).
 * - bls_to_execution_change (capella): [IGNORE] the wall clock's epoch is before CAPELLA_FORK_EPOCH.
 * - voluntary_exit (phase0): every rule needs the state; nothing beyond the SSZ decode.
 * Not judged (state): validator indices and status, committees and subnet membership, signatures, first-seen caches.
 */
import { createHash } from 'node:crypto'
import {
  SYNC_COMMITTEE_SIZE,
  SYNC_COMMITTEE_SUBNET_COUNT as PRESET_SYNC_COMMITTEE_SUBNET_COUNT,
  TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE,
} from '@lodestar/params'
import { type phase0, ssz } from '@lodestar/types'
import { SYNC_COMMITTEE_SUBNET_COUNT } from './topics.js'
import { popcount } from '../chain/bits.js'
import type { ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

/** phase0 and Electra IndexedAttestation differ only in the index list's limit (Lodestar decodes slots as bigint). */
interface IndexedAttestationLike {
  attestingIndices: number[]
  data: phase0.AttestationDataBigint
}

export interface AttesterSlashingLike {
  attestation1: IndexedAttestationLike
  attestation2: IndexedAttestationLike
}

export interface SyncCommitteeMessageLike {
  slot: number
}

export interface SignedContributionLike {
  message: {
    contribution: { slot: number; subcommitteeIndex: number; aggregationBits: { uint8Array: Uint8Array } }
    selectionProof: Uint8Array
  }
}

export function validateProposerSlashing(_ctx: ValidationContext, slashing: phase0.ProposerSlashing): Verdict {
  const h1 = slashing.signedHeader1.message
  const h2 = slashing.signedHeader2.message
  if (h1.slot !== h2.slot || h1.proposerIndex !== h2.proposerIndex) return reject('not_slashable')
  if (ssz.phase0.BeaconBlockHeaderBigint.equals(h1, h2)) return reject('not_slashable')
  return ACCEPT
}

export function validateAttesterSlashing(_ctx: ValidationContext, slashing: AttesterSlashingLike): Verdict {
  const a1 = slashing.attestation1
  const a2 = slashing.attestation2
  const second = new Set(a2.attestingIndices)
  if (!a1.attestingIndices.some((i) => second.has(i))) return ignore('no_slashable_intersection')
  if (!isSlashableAttestationData(a1.data, a2.data)) return reject('not_slashable')
  if (!sortedUnique(a1.attestingIndices) || !sortedUnique(a2.attestingIndices)) return reject('bad_indices')
  return ACCEPT
}

export function validateSyncCommitteeMessage(ctx: ValidationContext, msg: SyncCommitteeMessageLike): Verdict {
  return ctx.windows.isCurrentSlot(msg.slot, ctx.nowMs) ? ACCEPT : ignore('not_current_slot')
}

export function validateContribution(ctx: ValidationContext, signed: SignedContributionLike): Verdict {
  const contribution = signed.message.contribution
  if (!ctx.windows.isCurrentSlot(contribution.slot, ctx.nowMs)) return ignore('not_current_slot')
  if (!(contribution.subcommitteeIndex < SYNC_COMMITTEE_SUBNET_COUNT)) return reject('subcommittee_index_out_of_range')
  if (popcount(contribution.aggregationBits.uint8Array) === 0) return reject('no_participants')
  if (!isSyncCommitteeAggregator(signed.message.selectionProof)) return reject('not_aggregator')
  return ACCEPT
}

/** capella p2p-interface.md: [IGNORE] current_epoch < CAPELLA_FORK_EPOCH, the epoch of the wall clock (no allowance). */
export function validateBlsToExecutionChange(ctx: ValidationContext): Verdict {
  const capella = ctx.config.forks.find((f) => f.name === 'capella')?.epoch ?? Infinity
  return ctx.windows.currentEpoch(ctx.nowMs) < capella ? ignore('pre_capella') : ACCEPT
}

/** altair validator.md: the preset's modulo (mainnet 8, minimal 1: every member aggregates). */
const SYNC_AGGREGATOR_MODULO = BigInt(
  Math.max(
    1,
    Math.floor(SYNC_COMMITTEE_SIZE / PRESET_SYNC_COMMITTEE_SUBNET_COUNT / TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE),
  ),
)

/** altair validator.md is_sync_committee_aggregator: bytes_to_uint64(hash(signature)[0:8]) % modulo == 0. */
export function isSyncCommitteeAggregator(selectionProof: Uint8Array): boolean {
  if (SYNC_AGGREGATOR_MODULO === 1n) return true
  return createHash('sha256').update(selectionProof).digest().readBigUInt64LE(0) % SYNC_AGGREGATOR_MODULO === 0n
}

/** phase0 beacon-chain.md is_slashable_attestation_data: a double vote or a surround vote. */
function isSlashableAttestationData(d1: phase0.AttestationDataBigint, d2: phase0.AttestationDataBigint): boolean {
  const doubleVote = !ssz.phase0.AttestationDataBigint.equals(d1, d2) && d1.target.epoch === d2.target.epoch
  const surround = d1.source.epoch < d2.source.epoch && d2.target.epoch < d1.target.epoch
  return doubleVote || surround
}

/** is_valid_indexed_attestation's state-free part: indices non-empty, strictly ascending. */
function sortedUnique(indices: readonly number[]): boolean {
  if (indices.length === 0) return false
  for (let i = 1; i < indices.length; i++) if (!(indices[i]! > indices[i - 1]!)) return false
  return true
}
