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
  ForkName.gloas,
]

describe('beaconBlockRoot', () => {
  it.each(FORKS)('equals hash_tree_root of an empty %s block', (fork) => {
    const type = sszTypesFor(fork).BeaconBlock
    const block = type.defaultValue()
    expect(hex(beaconBlockRoot(fork, type.serialize(block)))).toBe(hex(type.hashTreeRoot(block)))
  })

  it('equals hash_tree_root of a gloas block with a bid, commitments and attestations (progressive lists)', () => {
    const block = ssz.gloas.BeaconBlock.defaultValue()
    block.slot = 11_296_800
    block.body.graffiti = new Uint8Array(32).fill(7)
    const bid = block.body.signedExecutionPayloadBid.message
    bid.blobKzgCommitments = Array.from({ length: 5 }, (_, i) => new Uint8Array(48).fill(i + 1))
    bid.value = 123
    block.body.attestations = Array.from({ length: 3 }, (_, i) => {
      const att = ssz.gloas.Attestation.defaultValue()
      att.data.slot = 11_296_799 - i
      return att
    })
    const bytes = ssz.gloas.BeaconBlock.serialize(block)
    expect(hex(beaconBlockRoot(ForkName.gloas, bytes))).toBe(hex(ssz.gloas.BeaconBlock.hashTreeRoot(block)))
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

  it("throws where the library's deserialize throws, and equals its root where not, on 300 corrupted blocks", () => {
    // 200 short transactions: their offsets are a third of the bytes, so most corruptions land in what is read in place.
    const block = ssz.fulu.BeaconBlock.defaultValue()
    block.body.executionPayload.transactions = Array.from({ length: 200 }, (_, n) => Uint8Array.from([n, n >> 8, 7, 9]))
    const clean = ssz.fulu.BeaconBlock.serialize(block)
    let seed = 12345 // xorshift32: a fixed sequence, so a failure names a trial that can be re-run
    const random = (below: number) => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) % below
    }
    let threw = 0
    for (let trial = 0; trial < 300; trial++) {
      const bytes = clean.slice()
      const at = random(bytes.length - 4)
      new DataView(bytes.buffer).setUint32(at, random(2) === 0 ? random(2 ** 31) : random(bytes.length + 64), true)
      let expected: string
      try {
        expected = hex(ssz.fulu.BeaconBlock.hashTreeRoot(ssz.fulu.BeaconBlock.deserialize(bytes)))
      } catch {
        expected = 'throws'
      }
      let actual: string
      try {
        actual = hex(beaconBlockRoot(ForkName.fulu, bytes))
      } catch {
        actual = 'throws'
      }
      expect(actual, `corruption at byte ${at}`).toBe(expected)
      if (expected === 'throws') threw++
    }
    expect(threw).toBeGreaterThan(30) // the corruptions did reach offsets
  })
})
