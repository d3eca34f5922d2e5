/**
 * beacon_block, the checks that need no state (phase0, bellatrix, deneb, electra, fulu p2p-interface.md):
 * not from a future slot; the execution payload timestamp matches the slot; the blob commitments fit the limit.
 * Not judged: finalized slot, first block per proposer, signature, parent, proposer index.
 */
import { ForkSeq } from '@lodestar/params'
import { maxBlobsPerBlock, timeAtSlot, type ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

export interface SignedBlockLike {
  message: {
    slot: number
    body: { executionPayload?: { timestamp: number }; blobKzgCommitments?: unknown[] }
  }
}

export function validateBeaconBlock(ctx: ValidationContext, signed: SignedBlockLike): Verdict {
  const block = signed.message
  if (ctx.windows.isFutureSlot(block.slot, ctx.nowMs)) return ignore('future_slot')
  // From Capella the execution payload is always present (before it, a pre-merge Bellatrix block has an empty one).
  const payload = block.body.executionPayload
  if (ctx.forkSeq >= ForkSeq.capella && payload && payload.timestamp !== timeAtSlot(ctx, block.slot)) {
    return reject('payload_timestamp')
  }
  const commitments = block.body.blobKzgCommitments
  if (ctx.forkSeq >= ForkSeq.deneb && commitments) {
    if (commitments.length > maxBlobsPerBlock(ctx, ctx.windows.epochAtSlot(block.slot))) return reject('too_many_blobs')
  }
  return ACCEPT
}
