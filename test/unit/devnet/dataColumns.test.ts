import { createHash } from 'node:crypto'
import { KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH, NUMBER_OF_COLUMNS } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'

const network = devnetNetwork({ genesisTime: 1_700_000_000 })
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** phase0 beacon-chain.md is_valid_merkle_branch, written out as the spec does. */
function isValidMerkleBranch(leaf: Uint8Array, branch: Uint8Array[], depth: number, index: number, root: Uint8Array) {
  let value = Buffer.from(leaf)
  for (let i = 0; i < depth; i++) {
    const sibling = Buffer.from(branch[i]!)
    const pair = Math.floor(index / 2 ** i) % 2 === 1 ? [sibling, value] : [value, sibling]
    value = createHash('sha256').update(pair[0]!).update(pair[1]!).digest()
  }
  return value.equals(Buffer.from(root))
}

describe('SyntheticChain.dataColumnSidecar', () => {
  const chain = new SyntheticChain({ network }, { payloadBytes: 20_000, blobsPerBlock: 3 })

  it('is null without commitments: by default, for the genesis block, for skipped slots and unknown columns', () => {
    const plain = new SyntheticChain({ network }, { payloadBytes: 1000, skipSlotEvery: 2 })
    expect(plain.dataColumnSidecar(1, 0)).toBeNull()
    expect(plain.dataColumnSidecar(2, 0)).toBeNull()
    expect(chain.dataColumnSidecar(0, 0)).toBeNull()
    expect(chain.dataColumnSidecar(1, NUMBER_OF_COLUMNS)).toBeNull()
    expect(() => chain.dataColumnSidecar(1, -1)).toThrow(RangeError)
  })

  it('serializes a Fulu DataColumnSidecar of the block: header, commitments, one cell per blob', () => {
    const block = chain.blockAt(4)!
    const body = ssz.fulu.SignedBeaconBlock.deserialize(block.ssz).message.body
    expect(body.blobKzgCommitments).toHaveLength(3)
    expect(body.executionPayload.blobGasUsed).toBe(3n * 131_072n)
    for (const index of [0, 77, NUMBER_OF_COLUMNS - 1]) {
      const sidecar = ssz.fulu.DataColumnSidecar.deserialize(chain.dataColumnSidecar(4, index)!)
      expect(sidecar.index).toBe(index)
      expect(sidecar.column).toHaveLength(3)
      expect(sidecar.kzgProofs).toHaveLength(3)
      expect(sidecar.kzgCommitments).toEqual(body.blobKzgCommitments)
      // The header's root is the block's root: same slot, proposer, parents, state and body root.
      expect(hex(ssz.phase0.BeaconBlockHeader.hashTreeRoot(sidecar.signedBlockHeader.message))).toBe(hex(block.root))
      expect(hex(sidecar.signedBlockHeader.message.bodyRoot)).toBe(hex(ssz.fulu.BeaconBlockBody.hashTreeRoot(body)))
    }
  })

  it('carries a valid kzg_commitments inclusion proof (fulu verify_data_column_sidecar_inclusion_proof)', () => {
    const sidecar = ssz.fulu.DataColumnSidecar.deserialize(chain.dataColumnSidecar(5, 9)!)
    const gindex = Number(ssz.fulu.BeaconBlockBody.getPropertyGindex('blobKzgCommitments'))
    const depth = KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH
    const leaf = ssz.deneb.BlobKzgCommitments.hashTreeRoot(sidecar.kzgCommitments)
    const { bodyRoot } = sidecar.signedBlockHeader.message
    expect(isValidMerkleBranch(leaf, sidecar.kzgCommitmentsInclusionProof, depth, gindex - 2 ** depth, bodyRoot)).toBe(
      true,
    )
    const tampered = sidecar.kzgCommitmentsInclusionProof.map((node) => Uint8Array.from(node))
    tampered[1]![0]! ^= 1
    expect(isValidMerkleBranch(leaf, tampered, depth, gindex - 2 ** depth, bodyRoot)).toBe(false)
  })

  it('is deterministic and differs between columns and slots', () => {
    const again = new SyntheticChain({ network }, { payloadBytes: 20_000, blobsPerBlock: 3 })
    expect(hex(again.dataColumnSidecar(6, 3)!)).toBe(hex(chain.dataColumnSidecar(6, 3)!))
    expect(hex(chain.dataColumnSidecar(6, 4)!)).not.toBe(hex(chain.dataColumnSidecar(6, 3)!))
    const cellAt = (slot: number) =>
      ssz.fulu.DataColumnSidecar.deserialize(chain.dataColumnSidecar(slot, 3)!).column[0]!
    expect(hex(cellAt(6))).not.toBe(hex(cellAt(7)))
  })
})
