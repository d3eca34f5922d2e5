/**
 * beacon_block, the checks that need no state (phase0, bellatrix, capella, deneb, electra, fulu p2p-interface.md,
 * "beacon_block"), in the spec's order:
 * - [IGNORE] not from a future slot (is_future_slot).
 * - [REJECT] the execution payload timestamp is compute_time_at_slot(block.slot), from Bellatrix, when the payload
 *   is not the default ExecutionPayload(). Bellatrix holds the check behind is_execution_enabled(state, body); a
 *   non-default payload makes it true in every state (is_merge_transition_block or is_merge_transition_complete).
 *   For a default payload it depends on the state: before the merge (a chain that never merged, as `lodestar dev`
 *   without an execution client, in Capella and later too) it is the block every proposer makes and every client
 *   accepts. Capella drops is_execution_enabled only because mainnet merged first; Contower cannot tell the two
 *   apart, so it never rejects a default payload.
 * - [REJECT] at most the epoch's blob limit of blob_kzg_commitments (deneb MAX_BLOBS_PER_BLOCK, electra
 *   MAX_BLOBS_PER_BLOCK_ELECTRA, fulu get_blob_parameters), for the block's own epoch as process_execution_payload
 *   asserts it.
 * Gloas (gloas p2p-interface.md "Modified beacon_block", EIP-7732/7688): the block carries a bid, no payload, so
 * the payload timestamp and the body's blob count are gone; after the future-slot IGNORE, in the spec's order:
 * - [REJECT] verify_block_body_operation_limits(body) and verify_execution_requests_limits(parent_execution_requests).
 * - [REJECT] at most get_blob_parameters(epoch).max_blobs_per_block of bid.blob_kzg_commitments (the block's epoch,
 *   as process_execution_payload_bid asserts it).
 * - [REJECT] bid.parent_block_root = block.parent_root.
 * Not judged (state): finalized slot, first block per proposer and slot, proposer index and signature, parent,
 * parent's payload status, expected proposer; Gloas: the bid's parent block hash (the parent state's latest hash).
 */
import { type ForkName, ForkSeq } from '@lodestar/params'
import { sszTypesFor } from '@lodestar/types'
import { equalBytes } from '../chain/chainView.js'
import {
  type ExecutionRequestsLike,
  type GloasBlockBodyLike,
  withinBlockBodyOperationLimits,
  withinExecutionRequestsLimits,
} from './gloasLimits.js'
import type { GossipSszType } from './topicTypes.js'
import { maxBlobsPerBlock, timeAtSlot, type ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

export interface SignedBlockLike {
  message: {
    slot: number
    parentRoot: Uint8Array
    body: { executionPayload?: { timestamp: number }; blobKzgCommitments?: unknown[] } & Partial<GloasBodyLike>
  }
}

interface GloasBodyLike extends GloasBlockBodyLike {
  signedExecutionPayloadBid: { message: { parentBlockRoot: Uint8Array; blobKzgCommitments: unknown[] } }
  parentExecutionRequests: ExecutionRequestsLike
}

export function validateBeaconBlock(ctx: ValidationContext, signed: SignedBlockLike): Verdict {
  const block = signed.message
  if (ctx.windows.isFutureSlot(block.slot, ctx.nowMs)) return ignore('future_slot')
  if (ctx.forkSeq >= ForkSeq.gloas)
    return validateGloasBlock(ctx, block.slot, block.parentRoot, block.body as GloasBodyLike)
  const payload = block.body.executionPayload
  if (ctx.forkSeq >= ForkSeq.bellatrix && payload && payload.timestamp !== timeAtSlot(ctx, block.slot)) {
    // The default payload's timestamp is 0, never a slot's time: only then is the full comparison needed.
    if (!isDefaultPayload(ctx.fork, payload)) return reject('payload_timestamp')
  }
  const commitments = block.body.blobKzgCommitments
  if (ctx.forkSeq >= ForkSeq.deneb && commitments) {
    if (commitments.length > maxBlobsPerBlock(ctx, ctx.windows.epochAtSlot(block.slot))) return reject('too_many_blobs')
  }
  return ACCEPT
}

function validateGloasBlock(
  ctx: ValidationContext,
  slot: number,
  parentRoot: Uint8Array,
  body: GloasBodyLike,
): Verdict {
  if (!withinBlockBodyOperationLimits(body)) return reject('operation_limits')
  if (!withinExecutionRequestsLimits(body.parentExecutionRequests)) return reject('execution_request_limits')
  const bid = body.signedExecutionPayloadBid.message
  if (bid.blobKzgCommitments.length > maxBlobsPerBlock(ctx, ctx.windows.epochAtSlot(slot))) {
    return reject('too_many_blobs')
  }
  if (!equalBytes(bid.parentBlockRoot, parentRoot)) return reject('bid_parent_mismatch')
  return ACCEPT
}

const defaultPayloads = new Map<string, { type: GossipSszType; value: unknown }>()

/** bellatrix beacon-chain.md `body.execution_payload == ExecutionPayload()`: the payload of a pre-merge block. */
export function isDefaultPayload(fork: string, payload: unknown): boolean {
  let empty = defaultPayloads.get(fork)
  if (empty === undefined) {
    const type = (sszTypesFor(fork as ForkName) as { ExecutionPayload?: GossipSszType }).ExecutionPayload
    if (!type) return false
    defaultPayloads.set(fork, (empty = { type, value: type.defaultValue() }))
  }
  return empty.type.equals(payload, empty.value)
}
