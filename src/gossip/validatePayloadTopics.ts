/**
 * The topics Gloas adds for the payload that travels apart from its block (gloas p2p-interface.md, EIP-7732), the
 * checks that need no state, each in the spec's order:
 * - execution_payload (SignedExecutionPayloadEnvelope): [REJECT] verify_execution_requests_limits; [REJECT] at most
 *   MAX_WITHDRAWALS_PER_PAYLOAD withdrawals. Before them, an IGNORE of ours: a payload.slot_number in the future
 *   (is_future_slot). The spec has no time rule here, but its first one, "the envelope's block has been seen", can
 *   only fail for it: no store holds a block from a future slot (fork-choice on_block), and a block of another slot
 *   would be a REJECT (block.slot = payload.slot_number) that only a node holding it can make.
 * - payload_attestation_message: [IGNORE] data.slot is the current slot (is_current_slot).
 * - execution_payload_bid: [IGNORE] bid.slot is the current or the next slot (is_current_or_next_slot); [REJECT]
 *   execution_payment is 0; [REJECT] at most get_blob_parameters(epoch of bid.slot).max_blobs_per_block
 *   blob_kzg_commitments.
 * - proposer_preferences: [IGNORE] the proposal slot has started (is_past_slot); [IGNORE] the lookahead epoch
 *   (proposal epoch − MIN_SEED_LOOKAHEAD) has not started, so its proposer is not known yet (is_future_slot). The
 *   topic opens MIN_SEED_LOOKAHEAD epochs before its fork (validation.ts): proposers send preferences for the first
 *   Gloas slots in the epoch before it.
 * Not judged (state): the block, bid and builder behind each message, first-seen and best-bid caches (Contower keeps
 * none: a bid it cannot verify must not shut out the honest ones), PTC membership, proposer lookahead, dependent
 * roots, gas limits, randao, every signature.
 */
import { MAX_WITHDRAWALS_PER_PAYLOAD, MIN_SEED_LOOKAHEAD } from '@lodestar/params'
import { type ExecutionRequestsLike, withinExecutionRequestsLimits } from './gloasLimits.js'
import { maxBlobsPerBlock, type ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

export interface SignedEnvelopeLike {
  message: {
    payload: { slotNumber: number; withdrawals: unknown[] }
    executionRequests: ExecutionRequestsLike
  }
}

export interface PayloadAttestationMessageLike {
  data: { slot: number }
}

export interface SignedBidLike {
  message: { slot: number; executionPayment: bigint; blobKzgCommitments: unknown[] }
}

export interface SignedProposerPreferencesLike {
  message: { proposalSlot: number }
}

export function validateExecutionPayloadEnvelope(ctx: ValidationContext, signed: SignedEnvelopeLike): Verdict {
  const { payload, executionRequests } = signed.message
  if (ctx.windows.isFutureSlot(payload.slotNumber, ctx.nowMs)) return ignore('future_slot')
  if (!withinExecutionRequestsLimits(executionRequests)) return reject('execution_request_limits')
  if (payload.withdrawals.length > MAX_WITHDRAWALS_PER_PAYLOAD) return reject('too_many_withdrawals')
  return ACCEPT
}

export function validatePayloadAttestationMessage(ctx: ValidationContext, msg: PayloadAttestationMessageLike): Verdict {
  return ctx.windows.isCurrentSlot(msg.data.slot, ctx.nowMs) ? ACCEPT : ignore('not_current_slot')
}

export function validateExecutionPayloadBid(ctx: ValidationContext, signed: SignedBidLike): Verdict {
  const bid = signed.message
  if (!ctx.windows.isCurrentOrNextSlot(bid.slot, ctx.nowMs)) return ignore('not_current_or_next_slot')
  // A non-zero execution_payment is a trusted execution-layer payment, never broadcast (gloas builder.md).
  if (bid.executionPayment !== 0n) return reject('nonzero_execution_payment')
  if (bid.blobKzgCommitments.length > maxBlobsPerBlock(ctx, ctx.windows.epochAtSlot(bid.slot))) {
    return reject('too_many_blobs')
  }
  return ACCEPT
}

export function validateProposerPreferences(ctx: ValidationContext, signed: SignedProposerPreferencesLike): Verdict {
  const { windows, nowMs } = ctx
  const slot = signed.message.proposalSlot
  if (windows.isPastSlot(slot, nowMs)) return ignore('past_slot')
  const lookaheadEpoch = windows.epochAtSlot(slot) - MIN_SEED_LOOKAHEAD
  if (windows.isFutureSlot(lookaheadEpoch * windows.slotsPerEpoch, nowMs)) return ignore('proposer_unknown')
  return ACCEPT
}
