import { ForkName } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { ItemFormatError, itemBytesRead, itemFacts } from '../../../src/relay/items.js'
import type { ProtocolName } from '../../../src/reqresp/protocols.js'
import { blobSidecar, columnSidecar, gloasColumnSidecar, hex, payloadEnvelope, signedBlock } from './fixtures.js'

const PRE_GLOAS_FORKS = [
  ForkName.phase0,
  ForkName.altair,
  ForkName.bellatrix,
  ForkName.capella,
  ForkName.deneb,
  ForkName.electra,
  ForkName.fulu,
]
const BLOCK_PROTOCOLS: ProtocolName[] = ['beacon_blocks_by_range', 'beacon_blocks_by_root']
const COLUMN_PROTOCOLS: ProtocolName[] = ['data_column_sidecars_by_range', 'data_column_sidecars_by_root']
const BLOB_PROTOCOLS: ProtocolName[] = ['blob_sidecars_by_range', 'blob_sidecars_by_root']

function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice()
  new DataView(copy.buffer).setUint32(at, value, true)
  return copy
}

function withU64(bytes: Uint8Array, at: number, value: bigint): Uint8Array {
  const copy = bytes.slice()
  new DataView(copy.buffer).setBigUint64(at, value, true)
  return copy
}

describe('itemFacts: blocks', () => {
  it.each(PRE_GLOAS_FORKS)('reads the slot and block root of a %s SignedBeaconBlock', (fork) => {
    const slot = 9_000_001
    const { bytes, messageRoot } = signedBlock(fork, slot)
    for (const protocol of BLOCK_PROTOCOLS) {
      const facts = itemFacts(protocol, fork, bytes)!
      expect(facts.slot).toBe(slot)
      expect(facts.index).toBeNull()
      expect(hex(facts.blockRoot())).toBe(hex(messageRoot))
    }
  })

  it('gives the root of real Fulu blocks of the synthetic chain', () => {
    const chain = new SyntheticChain({ network: devnetNetwork({ genesisTime: 1_700_000_000 }) }, { payloadBytes: 3000 })
    for (const block of chain.blocksInRange(0, 5, 4)) {
      const facts = itemFacts('beacon_blocks_by_range', ForkName.fulu, block.ssz)!
      expect(facts.slot).toBe(block.slot)
      expect(hex(facts.blockRoot())).toBe(hex(block.root))
      const signed = ssz.fulu.SignedBeaconBlock.deserialize(block.ssz)
      expect(hex(facts.blockRoot())).toBe(hex(ssz.fulu.BeaconBlock.hashTreeRoot(signed.message)))
    }
  })

  it('reads the slot without decoding the body: the root is only computed on demand', () => {
    const { bytes } = signedBlock(ForkName.fulu, 5)
    // Cut the body short: the slot is still readable, the root is not.
    const cut = bytes.subarray(0, 100 + 84)
    const facts = itemFacts('beacon_blocks_by_range', ForkName.fulu, cut)!
    expect(facts.slot).toBe(5)
    expect(() => facts.blockRoot()).toThrow()
  })

  it.each([
    ['offset 99', (b: Uint8Array) => withU32(b, 0, 99)],
    ['offset 101', (b: Uint8Array) => withU32(b, 0, 101)],
    ['offset 0', (b: Uint8Array) => withU32(b, 0, 0)],
    ['offset past the end', (b: Uint8Array) => withU32(b, 0, b.length + 1)],
    ['3 bytes', (b: Uint8Array) => b.subarray(0, 3)],
    ['no bytes', () => new Uint8Array(0)],
    ['the signature only', (b: Uint8Array) => b.subarray(0, 100)],
    ['7 bytes of message', (b: Uint8Array) => b.subarray(0, 107)],
    ['a slot above 2^53', (b: Uint8Array) => withU64(b, 100, 2n ** 53n)],
  ])('throws ItemFormatError for a block with %s', (_, corrupt) => {
    const { bytes } = signedBlock(ForkName.fulu, 5)
    expect(() => itemFacts('beacon_blocks_by_range', ForkName.fulu, corrupt(bytes))).toThrow(ItemFormatError)
  })

  it('reads slot and parent root from the first 48 bytes of the message; refuses fewer; the largest safe slot', () => {
    const { bytes } = signedBlock(ForkName.fulu, 5)
    const facts = itemFacts('beacon_blocks_by_range', ForkName.fulu, bytes.subarray(0, 148))!
    expect(facts.slot).toBe(5)
    const message = ssz.fulu.SignedBeaconBlock.deserialize(bytes).message
    expect(hex(facts.parentRoot!)).toBe(hex(message.parentRoot))
    expect(() => itemFacts('beacon_blocks_by_range', ForkName.fulu, bytes.subarray(0, 147))).toThrow(ItemFormatError)
    const max = withU64(bytes, 100, BigInt(Number.MAX_SAFE_INTEGER))
    expect(itemFacts('beacon_blocks_by_range', ForkName.fulu, max)!.slot).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('reads a view into a larger buffer at its own offset', () => {
    const { bytes, messageRoot } = signedBlock(ForkName.electra, 123)
    const padded = new Uint8Array(bytes.length + 13)
    padded.set(bytes, 13)
    const facts = itemFacts('beacon_blocks_by_root', ForkName.electra, padded.subarray(13))!
    expect(facts.slot).toBe(123)
    expect(hex(facts.blockRoot())).toBe(hex(messageRoot))
  })
})

describe('itemBytesRead', () => {
  it('is the whole item for blocks and sidecars (roots and proofs hash all of it)', () => {
    for (const protocol of [...BLOCK_PROTOCOLS, ...COLUMN_PROTOCOLS, ...BLOB_PROTOCOLS]) {
      expect(itemBytesRead(protocol)).toBe(Infinity)
    }
  })

  it('is the whole item for light-client data (its branches hash all of it), nothing for a Status', () => {
    expect(itemBytesRead('light_client_bootstrap')).toBe(Infinity)
    expect(itemBytesRead('light_client_updates_by_range')).toBe(Infinity)
    expect(itemBytesRead('status')).toBe(0)
  })
})

describe('itemFacts: data column sidecars', () => {
  it('reads slot, column index and the header root', () => {
    const { value, bytes } = columnSidecar(13_164_545, 77)
    for (const protocol of COLUMN_PROTOCOLS) {
      const facts = itemFacts(protocol, ForkName.fulu, bytes)!
      expect(facts.slot).toBe(13_164_545)
      expect(facts.index).toBe(77)
      const root = ssz.phase0.BeaconBlockHeader.hashTreeRoot(value.signedBlockHeader.message)
      expect(hex(facts.blockRoot())).toBe(hex(root))
    }
  })

  it('gives a default sidecar slot 0, index 0', () => {
    const bytes = ssz.fulu.DataColumnSidecar.serialize(ssz.fulu.DataColumnSidecar.defaultValue())
    const facts = itemFacts('data_column_sidecars_by_range', ForkName.fulu, bytes)!
    expect([facts.slot, facts.index]).toEqual([0, 0])
  })

  it('gives a synthetic chain sidecar the root of its block', () => {
    const network = devnetNetwork({ genesisTime: 1_700_000_000 })
    const chain = new SyntheticChain({ network }, { payloadBytes: 1000, blobsPerBlock: 2 })
    for (const slot of [1, 4]) {
      for (const index of [0, 127]) {
        const facts = itemFacts('data_column_sidecars_by_root', ForkName.fulu, chain.dataColumnSidecar(slot, index)!)!
        expect(facts.slot).toBe(slot)
        expect(facts.index).toBe(index)
        expect(hex(facts.blockRoot())).toBe(hex(chain.blockAt(slot)!.root))
      }
    }
  })

  it('throws ItemFormatError when the header is cut short, an index above 2^53 or a slot above it', () => {
    const { bytes } = columnSidecar(100, 3)
    // index (8) + three offsets (12) + BeaconBlockHeader (112): one byte less has no full header.
    expect(itemFacts('data_column_sidecars_by_range', ForkName.fulu, bytes.subarray(0, 132))!.slot).toBe(100)
    for (const short of [bytes.subarray(0, 131), bytes.subarray(0, 20), bytes.subarray(0, 0)]) {
      expect(() => itemFacts('data_column_sidecars_by_range', ForkName.fulu, short)).toThrow(ItemFormatError)
    }
    expect(() => itemFacts('data_column_sidecars_by_root', ForkName.fulu, withU64(bytes, 0, 2n ** 60n))).toThrow(
      ItemFormatError,
    )
    expect(() => itemFacts('data_column_sidecars_by_root', ForkName.fulu, withU64(bytes, 20, 2n ** 63n))).toThrow(
      ItemFormatError,
    )
  })
})

describe('itemFacts: blob sidecars', () => {
  it('reads slot, blob index and the header root', () => {
    const { value, bytes } = blobSidecar(9_500_000, 5)
    for (const protocol of BLOB_PROTOCOLS) {
      for (const fork of [ForkName.deneb, ForkName.electra, ForkName.fulu]) {
        const facts = itemFacts(protocol, fork, bytes)!
        expect(facts.slot).toBe(9_500_000)
        expect(facts.index).toBe(5)
        const root = ssz.phase0.BeaconBlockHeader.hashTreeRoot(value.signedBlockHeader.message)
        expect(hex(facts.blockRoot())).toBe(hex(root))
      }
    }
  })

  it('throws ItemFormatError for a sidecar without a full header', () => {
    const { bytes } = blobSidecar(1, 0)
    // index + blob + commitment + proof = 131176 bytes before the header.
    const headerEnd = 131_176 + 112
    expect(itemFacts('blob_sidecars_by_root', ForkName.deneb, bytes.subarray(0, headerEnd))!.slot).toBe(1)
    expect(() => itemFacts('blob_sidecars_by_root', ForkName.deneb, bytes.subarray(0, headerEnd - 1))).toThrow(
      ItemFormatError,
    )
    // A data column sidecar read as a blob sidecar is far too short.
    expect(() => itemFacts('blob_sidecars_by_range', ForkName.deneb, columnSidecar(1, 0).bytes)).toThrow(
      ItemFormatError,
    )
  })
})

describe('itemFacts: items without facts', () => {
  it.each([
    ['light_client_bootstrap', ssz.fulu.LightClientBootstrap],
    ['light_client_updates_by_range', ssz.fulu.LightClientUpdate],
    ['light_client_finality_update', ssz.fulu.LightClientFinalityUpdate],
    ['light_client_optimistic_update', ssz.fulu.LightClientOptimisticUpdate],
  ] as const)('%s items carry no slot the relay reads: null', (protocol, type) => {
    const bytes = type.serialize(type.defaultValue() as never)
    expect(itemFacts(protocol, ForkName.fulu, bytes)).toBeNull()
    expect(itemFacts(protocol, ForkName.deneb, bytes)).toBeNull()
  })

  it('handshake protocols give null', () => {
    expect(itemFacts('status', ForkName.fulu, ssz.fulu.Status.serialize(ssz.fulu.Status.defaultValue()))).toBeNull()
    expect(itemFacts('ping', ForkName.fulu, ssz.phase0.Ping.serialize(1n))).toBeNull()
  })

  it.each([ForkName.heze, 'zeta' as ForkName])(
    'a fork after Gloas (%s) may move the fields: null, not a misread',
    (fork) => {
      const block = signedBlock(ForkName.fulu, 77).bytes
      const column = columnSidecar(77, 1).bytes
      const blob = blobSidecar(77, 1).bytes
      for (const protocol of BLOCK_PROTOCOLS) expect(itemFacts(protocol, fork, block)).toBeNull()
      for (const protocol of COLUMN_PROTOCOLS) expect(itemFacts(protocol, fork, column)).toBeNull()
      for (const protocol of BLOB_PROTOCOLS) expect(itemFacts(protocol, fork, blob)).toBeNull()
      // Not even malformed bytes are read.
      expect(itemFacts('beacon_blocks_by_range', fork, new Uint8Array(2))).toBeNull()
    },
  )

  it('gloas blocks: slot and parent root read, the root hashed as the library hashes the block', () => {
    const { bytes, value, messageRoot } = signedBlock(ForkName.gloas, 11_296_800)
    for (const protocol of BLOCK_PROTOCOLS) {
      const facts = itemFacts(protocol, ForkName.gloas, bytes)!
      expect(facts.slot).toBe(11_296_800)
      expect(hex(facts.parentRoot!)).toBe(hex(value.message.parentRoot))
      expect(hex(facts.blockRoot())).toBe(hex(messageRoot))
    }
  })

  it('gloas sidecars: slot, index and block root read from the new shape; one proof per cell, at least one', () => {
    const root = new Uint8Array(32).fill(0xab)
    const { bytes } = gloasColumnSidecar(11_296_801, 93, root, 3)
    for (const protocol of COLUMN_PROTOCOLS) {
      const facts = itemFacts(protocol, ForkName.gloas, bytes)!
      expect([facts.slot, facts.index, facts.parentRoot]).toEqual([11_296_801, 93, null])
      expect(hex(facts.blockRoot())).toBe(hex(root))
      expect(facts.sidecarFault()).toBeNull()
    }
    const sidecar = gloasColumnSidecar(5, 1, root, 2).value
    const faultOf = (v: typeof sidecar) =>
      itemFacts(
        'data_column_sidecars_by_root',
        ForkName.gloas,
        ssz.gloas.DataColumnSidecar.serialize(v),
      )!.sidecarFault()
    expect(faultOf({ ...sidecar, column: [], kzgProofs: [] })).toMatch(/cells of 0 bytes/)
    expect(faultOf({ ...sidecar, kzgProofs: sidecar.kzgProofs.slice(1) })).toMatch(/not one per cell/)
    expect(() => itemFacts('data_column_sidecars_by_range', ForkName.gloas, bytes.subarray(0, 55))).toThrow(
      ItemFormatError,
    )
  })

  it('gloas payload envelopes: the slot is the payload slot_number, the block root the one the envelope names', () => {
    const root = new Uint8Array(32).fill(0xcd)
    const { bytes } = payloadEnvelope(11_296_802, root, 3)
    for (const protocol of ['execution_payload_envelopes_by_range', 'execution_payload_envelopes_by_root'] as const) {
      const facts = itemFacts(protocol, ForkName.gloas, bytes)!
      expect([facts.kind, facts.slot, facts.index, facts.parentRoot]).toEqual(['envelope', 11_296_802, null, null])
      expect(hex(facts.blockRoot())).toBe(hex(root))
      expect(itemFacts(protocol, ForkName.fulu, bytes)).toBeNull() // no envelopes before Gloas
    }
    expect(() => itemFacts('execution_payload_envelopes_by_range', ForkName.gloas, bytes.subarray(0, 600))).toThrow(
      ItemFormatError,
    )
    expect(() => itemFacts('execution_payload_envelopes_by_range', ForkName.gloas, withU32(bytes, 0, 96))).toThrow(
      /message offset 96/,
    )
  })
})
