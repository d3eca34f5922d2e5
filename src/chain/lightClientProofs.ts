/**
 * The checks of light-client data (altair…gloas light-client/sync-protocol.md) open to a node without the chain or the
 * sync committee: each header's execution branch, the sync-committee and finality branches against the attested
 * state root, the slot order and a participant. What is not checked: the sync committee's signature (it needs the
 * committee, which only a light client following the chain holds), nor that the data is the canonical chain's.
 */
import {
  CURRENT_SYNC_COMMITTEE_GINDEX,
  CURRENT_SYNC_COMMITTEE_GINDEX_ELECTRA,
  CURRENT_SYNC_COMMITTEE_GINDEX_GLOAS,
  EXECUTION_BLOCK_HASH_GINDEX,
  EXECUTION_BLOCK_HASH_GINDEX_DENEB,
  EXECUTION_BLOCK_HASH_GINDEX_GLOAS,
  FINALIZED_ROOT_GINDEX,
  FINALIZED_ROOT_GINDEX_ELECTRA,
  FINALIZED_ROOT_GINDEX_GLOAS,
  type ForkName,
  ForkSeq,
  MIN_SYNC_COMMITTEE_PARTICIPANTS,
  NEXT_SYNC_COMMITTEE_GINDEX,
  NEXT_SYNC_COMMITTEE_GINDEX_ELECTRA,
  NEXT_SYNC_COMMITTEE_GINDEX_GLOAS,
} from '@lodestar/params'
import { type phase0, ssz } from '@lodestar/types'
import { popcount } from './bits.js'
import type { ForkSchedule } from './forkSchedule.js'
import { isValidMerkleBranch } from './inclusionProof.js'

/** BeaconBlockBody's execution_payload (capella sync-protocol.md EXECUTION_PAYLOAD_GINDEX). */
const EXECUTION_PAYLOAD_GINDEX = 25
const ZERO_ROOT = new Uint8Array(32)

export interface LightClientHeaderLike {
  beacon: phase0.BeaconBlockHeader
  /** Capella…Fulu containers: the execution payload header. */
  execution?: unknown
  /** Gloas containers: only the execution block hash (gloas sync-protocol.md "Modified LightClientHeader"). */
  executionBlockHash?: Uint8Array
  executionBranch?: Uint8Array[]
}

/** A generalized index into the state as each fork lays it out (Electra and Gloas move the fields). */
interface StateGindex {
  base: number
  electra: number
  gloas: number
}
const CURRENT_SYNC_COMMITTEE: StateGindex = {
  base: CURRENT_SYNC_COMMITTEE_GINDEX,
  electra: CURRENT_SYNC_COMMITTEE_GINDEX_ELECTRA,
  gloas: CURRENT_SYNC_COMMITTEE_GINDEX_GLOAS,
}
const NEXT_SYNC_COMMITTEE: StateGindex = {
  base: NEXT_SYNC_COMMITTEE_GINDEX,
  electra: NEXT_SYNC_COMMITTEE_GINDEX_ELECTRA,
  gloas: NEXT_SYNC_COMMITTEE_GINDEX_GLOAS,
}
const FINALIZED_ROOT: StateGindex = {
  base: FINALIZED_ROOT_GINDEX,
  electra: FINALIZED_ROOT_GINDEX_ELECTRA,
  gloas: FINALIZED_ROOT_GINDEX_GLOAS,
}

interface SyncCommitteeLike {
  pubkeys: Uint8Array[]
  aggregatePubkey: Uint8Array
}

export interface LightClientBootstrapLike {
  header: LightClientHeaderLike
  currentSyncCommittee: SyncCommitteeLike
  currentSyncCommitteeBranch: Uint8Array[]
}

/** LightClientUpdate, LightClientFinalityUpdate and LightClientOptimisticUpdate: the fields each one has. */
export interface LightClientUpdateLike {
  attestedHeader: LightClientHeaderLike
  finalizedHeader?: LightClientHeaderLike
  finalityBranch?: Uint8Array[]
  nextSyncCommittee?: SyncCommitteeLike
  nextSyncCommitteeBranch?: Uint8Array[]
  syncAggregate: { syncCommitteeBits: { uint8Array: Uint8Array; bitLen: number } }
  signatureSlot: number
}

/**
 * Why a bootstrap fails, or null: its header and its current sync committee's branch to the header's state root.
 * (That the header is the block asked for is the caller's check: hash_tree_root(header.beacon) is the request.)
 */
export function bootstrapFault(schedule: ForkSchedule, bootstrap: LightClientBootstrapLike): string | null {
  const { header } = bootstrap
  if (!knowsLightClientContainers(forkAtSlot(schedule, header.beacon.slot))) return null
  const fault = headerFault(schedule, header)
  if (fault) return `header: ${fault}`
  const leaf = ssz.altair.SyncCommittee.hashTreeRoot(bootstrap.currentSyncCommittee)
  const gindex = atSlot(schedule, header.beacon.slot, CURRENT_SYNC_COMMITTEE)
  if (!isValidNormalizedMerkleBranch(leaf, bootstrap.currentSyncCommitteeBranch, gindex, header.beacon.stateRoot)) {
    return 'current_sync_committee_branch does not prove the committee in the state'
  }
  return null
}

/**
 * Why an update (by range, or the finality or optimistic update) fails, or null: validate_light_client_update's
 * checks that need no light-client store (participants, slot order, headers, the finality and next sync committee
 * branches), for the fields the update's type has.
 */
export function updateFault(schedule: ForkSchedule, update: LightClientUpdateLike): string | null {
  if (!knowsLightClientContainers(forkAtSlot(schedule, update.attestedHeader.beacon.slot))) return null
  if (popcount(update.syncAggregate.syncCommitteeBits.uint8Array) < MIN_SYNC_COMMITTEE_PARTICIPANTS) {
    return 'too few sync committee participants'
  }
  const attested = update.attestedHeader
  const attestedSlot = attested.beacon.slot
  if (!(update.signatureSlot > attestedSlot)) return `signature slot ${update.signatureSlot} not after ${attestedSlot}`
  const fault = headerFault(schedule, attested)
  if (fault) return `attested header: ${fault}`
  const stateRoot = attested.beacon.stateRoot
  const { finalizedHeader, finalityBranch } = update
  if (finalizedHeader && finalityBranch) {
    const finalizedSlot = finalizedHeader.beacon.slot
    if (finalizedSlot > attestedSlot) return `finalized slot ${finalizedSlot} after attested slot ${attestedSlot}`
    const emptyHeader = isDefaultHeader(finalizedHeader)
    if (isZero(finalityBranch)) {
      if (!emptyHeader) return 'finalized header without a finality branch'
    } else {
      let finalizedRoot: Uint8Array = ZERO_ROOT // the genesis checkpoint's root is zero
      if (finalizedSlot !== 0) {
        const headerFailure = headerFault(schedule, finalizedHeader)
        if (headerFailure) return `finalized header: ${headerFailure}`
        finalizedRoot = ssz.phase0.BeaconBlockHeader.hashTreeRoot(finalizedHeader.beacon)
      } else if (!emptyHeader) {
        return 'a genesis finalized header that is not empty'
      }
      const gindex = atSlot(schedule, attestedSlot, FINALIZED_ROOT)
      if (!isValidNormalizedMerkleBranch(finalizedRoot, finalityBranch, gindex, stateRoot)) {
        return 'finality_branch does not prove the finalized header in the attested state'
      }
    }
  }
  const { nextSyncCommittee, nextSyncCommitteeBranch } = update
  if (nextSyncCommittee && nextSyncCommitteeBranch) {
    if (isZero(nextSyncCommitteeBranch)) {
      if (!ssz.altair.SyncCommittee.equals(nextSyncCommittee, ssz.altair.SyncCommittee.defaultValue())) {
        return 'next sync committee without a branch'
      }
    } else {
      const leaf = ssz.altair.SyncCommittee.hashTreeRoot(nextSyncCommittee)
      const gindex = atSlot(schedule, attestedSlot, NEXT_SYNC_COMMITTEE)
      if (!isValidNormalizedMerkleBranch(leaf, nextSyncCommitteeBranch, gindex, stateRoot)) {
        return 'next_sync_committee_branch does not prove the committee in the attested state'
      }
    }
  }
  return null
}

/** capella/deneb is_valid_light_client_header: the execution header is proven in the body (empty before Capella). */
function headerFault(schedule: ForkSchedule, header: LightClientHeaderLike): string | null {
  const fork = forkAtSlot(schedule, header.beacon.slot)
  if (header.executionBlockHash) return blockHashHeaderFault(fork, header)
  const { execution, executionBranch } = header
  if (execution === undefined || executionBranch === undefined) return null // an altair header: nothing to prove
  const blobGas = execution as { blobGasUsed?: bigint | number; excessBlobGas?: bigint | number }
  if (
    ForkSeq[fork] < ForkSeq.deneb &&
    (Number(blobGas.blobGasUsed ?? 0) !== 0 || Number(blobGas.excessBlobGas ?? 0) !== 0)
  ) {
    return 'blob gas before Deneb'
  }
  if (ForkSeq[fork] < ForkSeq.capella) {
    if (!isZero(executionBranch) || !isDefaultExecution(header)) return 'an execution header before Capella'
    return null
  }
  // get_lc_execution_root: the execution header as its own fork defines it (Capella's has no blob gas fields).
  const type = ForkSeq[fork] < ForkSeq.deneb ? ssz.capella.ExecutionPayloadHeader : ssz.deneb.ExecutionPayloadHeader
  const leaf = type.hashTreeRoot(execution as never)
  if (!isValidNormalizedMerkleBranch(leaf, executionBranch, EXECUTION_PAYLOAD_GINDEX, header.beacon.bodyRoot)) {
    return 'execution_branch does not prove the execution header in the body'
  }
  return null
}

/**
 * gloas is_valid_light_client_header: a Gloas container's header carries the execution block hash alone, proven in
 * the body where the header's own fork keeps it (the bid's parent_block_hash from Gloas, the payload's block_hash
 * from Capella), and zero with an empty branch before Capella.
 */
function blockHashHeaderFault(fork: ForkName, header: LightClientHeaderLike): string | null {
  const blockHash = header.executionBlockHash!
  const branch = header.executionBranch ?? []
  const seq = ForkSeq[fork]
  if (seq < ForkSeq.capella) {
    return isZero([blockHash]) && isZero(branch) ? null : 'an execution block hash before Capella'
  }
  const gindex =
    seq >= ForkSeq.gloas
      ? EXECUTION_BLOCK_HASH_GINDEX_GLOAS
      : seq >= ForkSeq.deneb
        ? EXECUTION_BLOCK_HASH_GINDEX_DENEB
        : EXECUTION_BLOCK_HASH_GINDEX
  if (!isValidNormalizedMerkleBranch(blockHash, branch, gindex, header.beacon.bodyRoot)) {
    return 'execution_branch does not prove the execution block hash in the body'
  }
  return null
}

/** altair is_valid_normalized_merkle_branch (electra): extra leading branch entries must be zero. */
export function isValidNormalizedMerkleBranch(
  leaf: Uint8Array,
  branch: readonly Uint8Array[],
  gindex: number,
  root: Uint8Array,
): boolean {
  const depth = Math.floor(Math.log2(gindex))
  const extra = branch.length - depth
  if (extra < 0) return false
  for (let i = 0; i < extra; i++) if (!isZero([branch[i]!])) return false
  return isValidMerkleBranch(leaf, branch.slice(extra), depth, gindex - 2 ** depth, root)
}

/** The forks whose light-client containers and state layouts are judged here: altair…gloas (and phase0, none). */
export function knowsLightClientContainers(fork: ForkName): boolean {
  return ForkSeq[fork] !== undefined && ForkSeq[fork] <= ForkSeq.gloas
}

function atSlot(schedule: ForkSchedule, slot: number, gindex: StateGindex): number {
  const seq = ForkSeq[forkAtSlot(schedule, slot)]
  return seq >= ForkSeq.gloas ? gindex.gloas : seq >= ForkSeq.electra ? gindex.electra : gindex.base
}

function forkAtSlot(schedule: ForkSchedule, slot: number): ForkName {
  return schedule.forkAtEpoch(Math.floor(slot / schedule.config.slotsPerEpoch)).name as ForkName
}

function isZero(roots: readonly Uint8Array[]): boolean {
  return roots.every((root) => root.every((b) => b === 0))
}

function isDefaultExecution(header: LightClientHeaderLike): boolean {
  const type = ssz.deneb.ExecutionPayloadHeader
  return type.equals({ ...type.defaultValue(), ...(header.execution as object) } as never, type.defaultValue())
}

/** LightClientHeader() of the update's own type: every field zero or empty. */
function isDefaultHeader(header: LightClientHeaderLike): boolean {
  const beaconEmpty = ssz.phase0.BeaconBlockHeader.equals(
    header.beacon as never,
    ssz.phase0.BeaconBlockHeader.defaultValue(),
  )
  if (!beaconEmpty) return false
  if (header.executionBranch === undefined) return true
  if (!isZero(header.executionBranch)) return false
  return header.executionBlockHash ? isZero([header.executionBlockHash]) : isDefaultExecution(header)
}
