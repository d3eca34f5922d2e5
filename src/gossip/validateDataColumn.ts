/**
 * data_column_sidecar_{subnet}, the checks that need no state (fulu p2p-interface.md), in the spec's order:
 * verify_data_column_sidecar (index < NUMBER_OF_COLUMNS, commitments non-empty and within the epoch's blob limit,
 * column and proofs as long as the commitments) → REJECT; subnet = index % DATA_COLUMN_SIDECAR_SUBNET_COUNT →
 * REJECT; not from a future slot → IGNORE; verify_data_column_sidecar_inclusion_proof → REJECT.
 * Not judged: finalized slot, first-seen tuple, proposer signature, parent, KZG cell proofs (no KZG library here).
 */
import { createHash } from 'node:crypto'
import { type ForkName, KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH, NUMBER_OF_COLUMNS } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import { DATA_COLUMN_SIDECAR_SUBNET_COUNT } from './topics.js'
import { maxBlobsPerBlock, type ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

export interface DataColumnSidecarLike {
  index: number
  column: unknown[]
  kzgCommitments: Uint8Array[]
  kzgProofs: unknown[]
  signedBlockHeader: { message: { slot: number; bodyRoot: Uint8Array } }
  kzgCommitmentsInclusionProof: Uint8Array[]
}

export function validateDataColumnSidecar(ctx: ValidationContext, sidecar: DataColumnSidecarLike): Verdict {
  const header = sidecar.signedBlockHeader.message
  if (!(sidecar.index < NUMBER_OF_COLUMNS)) return reject('column_index_out_of_range')
  const blobs = sidecar.kzgCommitments.length
  if (blobs === 0) return reject('no_commitments')
  if (blobs > maxBlobsPerBlock(ctx, ctx.windows.epochAtSlot(header.slot))) return reject('too_many_blobs')
  if (sidecar.column.length !== blobs || sidecar.kzgProofs.length !== blobs) return reject('column_length_mismatch')
  if (sidecar.index % DATA_COLUMN_SIDECAR_SUBNET_COUNT !== ctx.subnet) return reject('wrong_subnet')
  if (ctx.windows.isFutureSlot(header.slot, ctx.nowMs)) return ignore('future_slot')
  if (!verifyInclusionProof(ctx.fork, sidecar)) return reject('inclusion_proof')
  return ACCEPT
}

/**
 * verify_data_column_sidecar_inclusion_proof: is_valid_merkle_branch(hash_tree_root(kzg_commitments), proof,
 * KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH, subtree index of blob_kzg_commitments in BeaconBlockBody, body_root).
 */
export function verifyInclusionProof(fork: string, sidecar: DataColumnSidecarLike): boolean {
  const { depth, index } = commitmentsPosition(fork)
  const leaf = ssz.deneb.BlobKzgCommitments.hashTreeRoot(sidecar.kzgCommitments)
  const root = sidecar.signedBlockHeader.message.bodyRoot
  return isValidMerkleBranch(leaf, sidecar.kzgCommitmentsInclusionProof, depth, index, root)
}

const positions = new Map<string, { depth: number; index: number }>()

/** Depth and subtree index of blob_kzg_commitments in the fork's BeaconBlockBody (gindex 27: depth 4, index 11). */
function commitmentsPosition(fork: string): { depth: number; index: number } {
  let pos = positions.get(fork)
  if (!pos) {
    const gindex = sszTypesFor(fork as ForkName).BeaconBlockBody.getPropertyGindex('blobKzgCommitments')
    if (gindex === null) throw new Error(`${fork} BeaconBlockBody has no blob_kzg_commitments`)
    const depth = gindex.toString(2).length - 1
    if (depth !== KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH) {
      throw new Error(`${fork} blob_kzg_commitments at depth ${depth}, not ${KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH}`)
    }
    pos = { depth, index: Number(gindex - (1n << BigInt(depth))) }
    positions.set(fork, pos)
  }
  return pos
}

/** phase0 beacon-chain.md is_valid_merkle_branch. */
export function isValidMerkleBranch(
  leaf: Uint8Array,
  branch: readonly Uint8Array[],
  depth: number,
  index: number,
  root: Uint8Array,
): boolean {
  if (branch.length < depth) return false
  let value = leaf
  for (let i = 0; i < depth; i++) {
    const hash = createHash('sha256')
    if (Math.floor(index / 2 ** i) % 2 === 1) hash.update(branch[i]!).update(value)
    else hash.update(value).update(branch[i]!)
    value = hash.digest()
  }
  return Buffer.compare(value, root) === 0
}
