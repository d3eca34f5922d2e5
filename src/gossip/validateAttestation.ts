/**
 * beacon_attestation_{subnet} and beacon_aggregate_and_proof, the checks that need no state (phase0, deneb,
 * electra, gloas p2p-interface.md), in the spec's order: data.index is 0 in Electra and Fulu, 0 or 1 from Gloas
 * (EIP-7732: the payload status; whether 1 is allowed for the block voted for needs the block); committee index below
 * MAX_COMMITTEES_PER_SLOT (the real bound, the slot's committee count, needs state); slot/epoch window → IGNORE;
 * target epoch = epoch of slot; participants. Not judged: subnet mapping (needs the committee count), committee
 * membership, first-seen caches, signatures, the block voted for.
 */
import { ForkSeq } from '@lodestar/params'
import { popcount } from '../chain/bits.js'
import {
  ATTESTATION_PROPAGATION_SLOT_RANGE,
  MAX_COMMITTEES_PER_SLOT,
  type ValidationContext,
} from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

interface AttestationDataLike {
  slot: number
  index: number
  target: { epoch: number }
}

interface BitsLike {
  uint8Array: Uint8Array
}

/** Electra SingleAttestation, or a pre-Electra (unaggregated) Attestation. */
export interface SubnetAttestationLike {
  data: AttestationDataLike
  committeeIndex?: number
  aggregationBits?: BitsLike
}

export interface SignedAggregateLike {
  message: { aggregate: { data: AttestationDataLike; aggregationBits: BitsLike; committeeBits?: BitsLike } }
}

export function validateSubnetAttestation(ctx: ValidationContext, att: SubnetAttestationLike): Verdict {
  const electra = ctx.forkSeq >= ForkSeq.electra
  if (electra) {
    const index = dataIndexFault(ctx, att.data.index)
    if (index) return index
    if (!(att.committeeIndex! < MAX_COMMITTEES_PER_SLOT)) return reject('committee_index_out_of_range')
  } else if (!(att.data.index < MAX_COMMITTEES_PER_SLOT)) {
    return reject('committee_index_out_of_range')
  }
  const window = checkWindow(ctx, att.data)
  if (window) return window
  // Before Electra the subnet carries Attestations that must be unaggregated: exactly one bit set.
  if (!electra && popcount(att.aggregationBits!.uint8Array) !== 1) return reject('not_single_participant')
  return ACCEPT
}

export function validateAggregate(ctx: ValidationContext, signed: SignedAggregateLike): Verdict {
  const aggregate = signed.message.aggregate
  if (ctx.forkSeq >= ForkSeq.electra) {
    const index = dataIndexFault(ctx, aggregate.data.index)
    if (index) return index
    if (popcount(aggregate.committeeBits!.uint8Array) !== 1) return reject('committee_bits')
  } else if (!(aggregate.data.index < MAX_COMMITTEES_PER_SLOT)) {
    return reject('committee_index_out_of_range')
  }
  const window = checkWindow(ctx, aggregate.data)
  if (window) return window
  if (popcount(aggregate.aggregationBits.uint8Array) === 0) return reject('no_participants')
  return ACCEPT
}

/** Electra and Fulu: data.index is 0 (EIP-7549); Gloas: 0 or 1, whether the slot's payload was present. */
function dataIndexFault(ctx: ValidationContext, index: number): Verdict | null {
  if (ctx.forkSeq >= ForkSeq.gloas) return index > 1 ? reject('data_index_out_of_range') : null
  return index !== 0 ? reject('nonzero_data_index') : null
}

/** The slot/epoch window (IGNORE) and the target epoch (REJECT); null when both pass. */
function checkWindow(ctx: ValidationContext, data: AttestationDataLike): Verdict | null {
  const { windows, nowMs } = ctx
  const epoch = windows.epochAtSlot(data.slot)
  if (ctx.forkSeq >= ForkSeq.deneb) {
    if (windows.isFutureSlot(data.slot, nowMs)) return ignore('future_slot')
    if (!windows.isCurrentOrPreviousEpoch(epoch, nowMs)) return ignore('epoch_out_of_range')
  } else if (!windows.isWithinSlotRange(data.slot, ATTESTATION_PROPAGATION_SLOT_RANGE, nowMs)) {
    return ignore('slot_out_of_range')
  }
  if (data.target.epoch !== epoch) return reject('target_epoch_mismatch')
  return null
}
