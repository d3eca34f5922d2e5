import { ForkName } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { beaconBlockRoot } from '../../../src/chain/blockRoot.js'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'

// The batched root must equal the library's hash_tree_root for every fork and every transaction shape.
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const FORKS = [
  ForkName.phase0,
  ForkName.altair,
  ForkName.bellatrix,
  ForkName.capella,
  ForkName.deneb,
  ForkName.electra,
  ForkName.fulu,
]

describe('beaconBlockRoot', () => {
  it.each(FORKS)('equals hash_tree_root of an empty %s block', (fork) => {
    const type = sszTypesFor(fork).BeaconBlock
    const block = type.defaultValue()
    expect(hex(beaconBlockRoot(fork, type.serialize(block)))).toBe(hex(type.hashTreeRoot(block)))
  })

  it('equals hash_tree_root with transactions of 0, 1, 31, 32, 33, 64 and 1000 bytes', () => {
    const block = ssz.fulu.BeaconBlock.defaultValue()
    block.slot = 12345
    block.body.executionPayload.transactions = [0, 1, 31, 32, 33, 64, 1000].map((n) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff),
    )
    const bytes = ssz.fulu.BeaconBlock.serialize(block)
    expect(hex(beaconBlockRoot(ForkName.fulu, bytes))).toBe(hex(ssz.fulu.BeaconBlock.hashTreeRoot(block)))
  })

  it('equals the devnet chain roots (blocks of ~150 transactions)', () => {
    const network = devnetNetwork({ genesisTime: 1_700_000_000 })
    const chain = new SyntheticChain({ network }, { payloadBytes: 50_000 })
    for (const block of chain.blocksInRange(1, 4, 4)) {
      expect(hex(beaconBlockRoot(ForkName.fulu, block.ssz.subarray(100)))).toBe(hex(block.root))
    }
  })
})
