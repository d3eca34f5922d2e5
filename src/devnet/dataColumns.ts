import { BYTES_PER_CELL, KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH } from '@lodestar/params'
import { type phase0, ssz } from '@lodestar/types'
import { chunk, KZG_BYTES, seededBytes } from './blockFactory.js'

/** The part every data column sidecar of one block shares (fulu p2p-interface.md DataColumnSidecar). */
export interface ColumnSidecarBase {
  readonly signedBlockHeader: phase0.SignedBeaconBlockHeader
  readonly kzgCommitments: Uint8Array[]
  readonly kzgCommitmentsInclusionProof: Uint8Array[]
}

/** The subset of a persistent-merkle-tree Node this file walks. */
interface MerkleNode {
  readonly left: MerkleNode
  readonly right: MerkleNode
  readonly root: Uint8Array
}

/**
 * Header, commitments and inclusion proof shared by the columns of a serialized Fulu SignedBeaconBlock, or null
 * when it has no blob commitments (no columns exist). The proof is real, so a stateless check of
 * verify_data_column_sidecar_inclusion_proof passes; building the body's tree hashes it once more.
 */
export function columnSidecarBase(signedBlockSsz: Uint8Array): ColumnSidecarBase | null {
  const signed = ssz.fulu.SignedBeaconBlock.deserialize(signedBlockSsz)
  const block = signed.message
  if (block.body.blobKzgCommitments.length === 0) return null
  const bodyType = ssz.fulu.BeaconBlockBody
  const bodyView = bodyType.toView(block.body)
  const gindex = bodyType.getPropertyGindex('blobKzgCommitments')!
  const proof = merkleBranch(bodyView.node, gindex)
  if (proof.length !== KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH) {
    throw new Error(`inclusion proof of depth ${proof.length}, expected ${KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH}`)
  }
  return {
    signedBlockHeader: {
      message: {
        slot: block.slot,
        proposerIndex: block.proposerIndex,
        parentRoot: block.parentRoot,
        stateRoot: block.stateRoot,
        bodyRoot: bodyView.hashTreeRoot(),
      },
      signature: signed.signature,
    },
    kzgCommitments: block.body.blobKzgCommitments,
    kzgCommitmentsInclusionProof: proof,
  }
}

/**
 * Serialized DataColumnSidecar `index` of the block at `slot`: one pseudo-random cell and KZG proof per blob,
 * fixed by (seed, slot, index). Cells and proofs are not real KZG data; the relay never checks them.
 */
export function columnSidecarSsz(seed: string, slot: number, base: ColumnSidecarBase, index: number): Uint8Array {
  const blobs = base.kzgCommitments.length
  const bytes = seededBytes(seed, slot, `data_column_${index}`, blobs * (BYTES_PER_CELL + KZG_BYTES))
  const cellBytes = blobs * BYTES_PER_CELL
  return ssz.fulu.DataColumnSidecar.serialize({
    index,
    column: chunk(bytes.subarray(0, cellBytes), BYTES_PER_CELL),
    kzgCommitments: base.kzgCommitments,
    kzgProofs: chunk(bytes.subarray(cellBytes), KZG_BYTES),
    signedBlockHeader: base.signedBlockHeader,
    kzgCommitmentsInclusionProof: base.kzgCommitmentsInclusionProof,
  })
}

/**
 * Sibling roots on the path from `root` down to generalized index `gindex`, leaf level first: the `branch`
 * order of phase0 is_valid_merkle_branch. Read off the library's own tree, so no merkleization is redone here.
 */
function merkleBranch(root: MerkleNode, gindex: bigint): Uint8Array[] {
  const branch: Uint8Array[] = []
  let node = root
  // The bits after the leading 1 spell the path from the root: 0 = left, 1 = right.
  for (const bit of gindex.toString(2).slice(1)) {
    branch.push(bit === '1' ? node.left.root : node.right.root)
    node = bit === '1' ? node.right : node.left
  }
  return branch.reverse()
}
