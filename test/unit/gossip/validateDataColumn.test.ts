import { createHash } from 'node:crypto'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { isValidMerkleBranch } from '../../../src/chain/inclusionProof.js'
import { Harness, msAt } from './fixtures.js'

type Sidecar = ReturnType<typeof ssz.fulu.DataColumnSidecar.deserialize>

describe('data_column_sidecar_{subnet}', () => {
  const h = new Harness()
  const chain = new SyntheticChain({ network: h.network }, { payloadBytes: 2000, blobsPerBlock: 3 })
  const SLOT = 6
  const sidecar = chain.dataColumnSidecar(SLOT, 7)!
  const edit = (change: (s: Sidecar) => void) => {
    const value = ssz.fulu.DataColumnSidecar.deserialize(sidecar)
    change(value)
    return ssz.fulu.DataColumnSidecar.serialize(value)
  }
  const on = (subnet: number) => h.topic('data_column_sidecar', subnet)
  h.nowMs = msAt(SLOT)

  it('accepts a real sidecar (real inclusion proof) on its subnet', () => {
    expect(h.validate(on(7), sidecar)).toEqual({ result: 'accept', reason: 'valid' })
    expect(h.validate(on(127), chain.dataColumnSidecar(SLOT, 127)!)).toEqual({ result: 'accept', reason: 'valid' })
  })

  it('rejects a sidecar on another subnet than index % 128', () => {
    expect(h.validate(on(8), sidecar)).toEqual({ result: 'reject', reason: 'wrong_subnet' })
    expect(h.validate(on(0), sidecar)).toEqual({ result: 'reject', reason: 'wrong_subnet' })
  })

  it('rejects the structure verify_data_column_sidecar refuses', () => {
    expect(
      h.validate(
        on(0),
        edit((s) => (s.index = 128)),
      ),
    ).toEqual({
      result: 'reject',
      reason: 'column_index_out_of_range',
    })
    const empty = edit((s) => {
      s.kzgCommitments = []
      s.column = []
      s.kzgProofs = []
    })
    expect(h.validate(on(7), empty)).toEqual({ result: 'reject', reason: 'no_commitments' })
    expect(
      h.validate(
        on(7),
        edit((s) => s.column.pop()),
      ),
    ).toEqual({ result: 'reject', reason: 'column_length_mismatch' })
    expect(
      h.validate(
        on(7),
        edit((s) => s.kzgProofs.pop()),
      ),
    ).toEqual({
      result: 'reject',
      reason: 'column_length_mismatch',
    })
    const ten = edit((s) => {
      s.kzgCommitments = Array.from({ length: 10 }, () => new Uint8Array(48))
      s.column = Array.from({ length: 10 }, () => s.column[0]!)
      s.kzgProofs = Array.from({ length: 10 }, () => new Uint8Array(48))
    })
    expect(h.validate(on(7), ten)).toEqual({ result: 'reject', reason: 'too_many_blobs' })
  })

  it('rejects a wrong inclusion proof: any branch node, the body root or a commitment changed', () => {
    for (let level = 0; level < 4; level++) {
      const bad = edit((s) => {
        const node = s.kzgCommitmentsInclusionProof[level]!.slice()
        node[level] ^= 0x01
        s.kzgCommitmentsInclusionProof[level] = node
      })
      expect(h.validate(on(7), bad), `level ${level}`).toEqual({ result: 'reject', reason: 'inclusion_proof' })
    }
    const otherBody = edit((s) => (s.signedBlockHeader.message.bodyRoot = new Uint8Array(32).fill(1)))
    expect(h.validate(on(7), otherBody)).toEqual({ result: 'reject', reason: 'inclusion_proof' })
    const otherCommitment = edit((s) => {
      const c = s.kzgCommitments[1]!.slice()
      c[0] ^= 0x80
      s.kzgCommitments[1] = c
    })
    expect(h.validate(on(7), otherCommitment)).toEqual({ result: 'reject', reason: 'inclusion_proof' })
  })

  it('ignores a sidecar from a future slot', () => {
    h.nowMs = msAt(SLOT - 1)
    expect(h.validate(on(7), sidecar)).toEqual({ result: 'ignore', reason: 'future_slot' })
    h.nowMs = msAt(SLOT)
  })

  it('is_valid_merkle_branch follows the spec (left/right by the index bits)', () => {
    const sha = (a: Uint8Array, b: Uint8Array) => createHash('sha256').update(a).update(b).digest()
    const leaf = new Uint8Array(32).fill(7)
    const s0 = new Uint8Array(32).fill(1)
    const s1 = new Uint8Array(32).fill(2)
    // index 2 = 0b10: level 0 the leaf is a left child, level 1 a right child.
    const root = sha(s1, sha(leaf, s0))
    expect(isValidMerkleBranch(leaf, [s0, s1], 2, 2, root)).toBe(true)
    expect(isValidMerkleBranch(leaf, [s0, s1], 2, 1, root)).toBe(false)
    expect(isValidMerkleBranch(leaf, [s0], 2, 2, root)).toBe(false)
  })
})
