/**
 * The outcome of validating one gossip message, as gossipsub takes it (ACCEPT forwards, IGNORE drops, REJECT drops
 * and charges the sender the invalid-message penalty), with a reason label for metrics and logs.
 */

/** Why a message is dropped without blame: Contower cannot (or must not yet) judge it. */
export type IgnoreReason =
  /** No eth2 topic of this chain (gossipsub's allowedTopics normally stops these earlier). */
  | 'unknown_topic'
  /** A next-fork topic before the fork (altair p2p-interface.md "Transitioning the gossip"). */
  | 'pre_fork'
  /** An old-fork topic more than two epochs after the next fork. */
  | 'stale_digest'
  /** A fork whose gossip rules this code does not implement. */
  | 'unsupported_fork'
  | 'future_slot'
  /** Outside ATTESTATION_PROPAGATION_SLOT_RANGE (before Deneb). */
  | 'slot_out_of_range'
  /** Attestation epoch neither current nor previous (Deneb on). */
  | 'epoch_out_of_range'
  | 'not_current_slot'
  /** A light-client update before its signature slot's sync-message deadline. */
  | 'too_early'
  /** A light-client update no newer than one already forwarded. */
  | 'not_newer'
  /** A light-client update whose branches or slots fail (a full node would not have computed it). */
  | 'invalid_proof'
  /** An attester slashing whose two attestations share no validator. */
  | 'no_slashable_intersection'
  /** A bls_to_execution_change while the wall clock is before CAPELLA_FORK_EPOCH. */
  | 'pre_capella'
  /** Gloas bid for neither the current nor the next slot (is_current_or_next_slot). */
  | 'not_current_or_next_slot'
  /** Gloas proposer preferences whose proposal slot has started (is_past_slot). */
  | 'past_slot'
  /** Gloas proposer preferences before the proposal's lookahead epoch: the proposer is not known yet. */
  | 'proposer_unknown'
  /** The validator threw (a bug): never forward what was not checked. */
  | 'validator_error'

/** Why a message is provably invalid: whoever sent it is to blame. */
export type RejectReason =
  /** Compressed or declared uncompressed size above the spec's limits. */
  | 'too_large'
  | 'snappy_decode'
  /** Not the topic's SSZ type for its fork (size outside the type's bounds or malformed). */
  | 'ssz_decode'
  /** Electra: attestation.data.index must be 0. */
  | 'nonzero_data_index'
  /** Gloas: attestation.data.index (the payload status) must be 0 or 1. */
  | 'data_index_out_of_range'
  /** A committee index no slot can have (≥ MAX_COMMITTEES_PER_SLOT). */
  | 'committee_index_out_of_range'
  /** Electra aggregate whose committee_bits do not name exactly one committee. */
  | 'committee_bits'
  | 'target_epoch_mismatch'
  | 'no_participants'
  /** A pre-Electra subnet attestation with other than one aggregation bit set. */
  | 'not_single_participant'
  /** A non-default execution payload (Bellatrix on) whose timestamp is not the slot's time. */
  | 'payload_timestamp'
  /** More blob commitments than the epoch's blob limit. */
  | 'too_many_blobs'
  | 'column_index_out_of_range'
  /** A subnet message on a subnet its content does not map to. */
  | 'wrong_subnet'
  | 'no_commitments'
  | 'column_length_mismatch'
  | 'inclusion_proof'
  /** Gloas data column with no cell. */
  | 'empty_column'
  /** Gloas block body over a per-block operation limit, or with deposits (verify_block_body_operation_limits). */
  | 'operation_limits'
  /** Gloas execution requests over a per-payload limit (verify_execution_requests_limits). */
  | 'execution_request_limits'
  /** Gloas payload envelope with more than MAX_WITHDRAWALS_PER_PAYLOAD withdrawals. */
  | 'too_many_withdrawals'
  /** Gloas block whose bid names another parent block than the block's own. */
  | 'bid_parent_mismatch'
  /** Gloas bid on gossip with a non-zero execution payment. */
  | 'nonzero_execution_payment'
  | 'subcommittee_index_out_of_range'
  /** A slashing whose two messages are not a slashable pair. */
  | 'not_slashable'
  /** Indexed attestation indices empty, unsorted or repeated. */
  | 'bad_indices'
  /** A contribution whose selection proof does not select its aggregator (is_sync_committee_aggregator). */
  | 'not_aggregator'

export type Verdict =
  | { readonly result: 'accept'; readonly reason: 'valid' }
  | { readonly result: 'ignore'; readonly reason: IgnoreReason }
  | { readonly result: 'reject'; readonly reason: RejectReason }

export const ACCEPT: Verdict = { result: 'accept', reason: 'valid' }

const ignores = new Map<IgnoreReason, Verdict>()
const rejects = new Map<RejectReason, Verdict>()

/** Shared, frozen verdict objects: the hot path allocates nothing for them. */
export function ignore(reason: IgnoreReason): Verdict {
  let v = ignores.get(reason)
  if (!v) ignores.set(reason, (v = Object.freeze({ result: 'ignore', reason }) as Verdict))
  return v
}

export function reject(reason: RejectReason): Verdict {
  let v = rejects.get(reason)
  if (!v) rejects.set(reason, (v = Object.freeze({ result: 'reject', reason }) as Verdict))
  return v
}
