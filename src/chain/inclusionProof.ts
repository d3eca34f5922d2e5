/**
 * The KZG commitment inclusion proofs of sidecars (deneb and fulu p2p-interface.md): shared by gossip validation and
 * the relay's response checks, so both judge a sidecar the same way.
 */
import { createHash } from 'node:crypto'
import {
  type ForkName,
  KZG_COMMITMENT_INCLUSION_PROOF_DEPTH,
  KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH,
} from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'

/**
 * fulu verify_data_column_sidecar_inclusion_proof: is_valid_merkle_branch(hash_tree_root(kzg_commitments), proof,
 * KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH, subtree index of blob_kzg_commitments in BeaconBlockBody, body_root).
 */
export function verifyCommitmentsInclusionProof(
  fork: string,
  commitments: Uint8Array[],
  proof: readonly Uint8Array[],
  bodyRoot: Uint8Array,
): boolean {
  const { depth, index } = position(fork, 'list')
  const leaf = ssz.deneb.BlobKzgCommitments.hashTreeRoot(commitments)
  return isValidMerkleBranch(leaf, proof, depth, index, bodyRoot)
}

/**
 * deneb verify_blob_sidecar_inclusion_proof: is_valid_merkle_branch(hash_tree_root(kzg_commitment), proof,
 * KZG_COMMITMENT_INCLUSION_PROOF_DEPTH, subtree index of blob_kzg_commitments[index], body_root).
 */
export function verifyBlobInclusionProof(
  fork: string,
  blobIndex: number,
  commitment: Uint8Array,
  proof: readonly Uint8Array[],
  bodyRoot: Uint8Array,
): boolean {
  const { depth, index } = position(fork, 'element')
  const leaf = ssz.deneb.KZGCommitment.hashTreeRoot(commitment)
  return isValidMerkleBranch(leaf, proof, depth, index + blobIndex, bodyRoot)
}

const positions = new Map<string, { depth: number; index: number }>()

/**
 * Depth and subtree index in the fork's BeaconBlockBody of blob_kzg_commitments (the list: gindex 27, depth 4) or of
 * its element 0 (depth 4 + 1 for the length mix-in + log2(MAX_BLOB_COMMITMENTS_PER_BLOCK)).
 */
function position(fork: string, of: 'list' | 'element'): { depth: number; index: number } {
  const key = `${fork}:${of}`
  let pos = positions.get(key)
  if (!pos) {
    const body = sszTypesFor(fork as ForkName).BeaconBlockBody
    const gindex =
      of === 'list' ? body.getPropertyGindex('blobKzgCommitments') : body.getPathInfo(['blobKzgCommitments', 0]).gindex
    if (gindex === null) throw new Error(`${fork} BeaconBlockBody has no blob_kzg_commitments`)
    const depth = gindex.toString(2).length - 1
    const expected = of === 'list' ? KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH : KZG_COMMITMENT_INCLUSION_PROOF_DEPTH
    if (depth !== expected) throw new Error(`${fork} blob_kzg_commitments ${of} at depth ${depth}, not ${expected}`)
    pos = { depth, index: Number(gindex - (1n << BigInt(depth))) }
    positions.set(key, pos)
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
