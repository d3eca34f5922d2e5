/**
 * The remaining topics, checks that need no state (phase0 and altair p2p-interface.md; the REJECTs are the
 * state-free asserts of process_proposer_slashing / process_attester_slashing):
 * - proposer_slashing: same slot, same proposer, different headers.
 * - attester_slashing: the two attestations share a validator (else IGNORE: nothing left to slash), their data is
 *   slashable (double or surround vote), each index list is non-empty, sorted and unique.
 * - sync_committee_{subnet}: the message is for the current slot.
 * - sync_committee_contribution_and_proof: current slot; subcommittee index < 4; at least one participant.
 * - voluntary_exit, bls_to_execution_change: nothing beyond the SSZ decode.
 * Not judged: signatures, validator status, subnet membership, first-seen caches.
 */
import { type phase0, ssz } from '@lodestar/types'
import { SYNC_COMMITTEE_SUBNET_COUNT } from './topics.js'
import { popcount, type ValidationContext } from './validationContext.js'
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
  message: { contribution: { slot: number; subcommitteeIndex: number; aggregationBits: { uint8Array: Uint8Array } } }
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
  return ACCEPT
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
