import { ForkName } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { BlockDecodeError } from '../../../src/chain/blockRootHasher.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { PayloadBids } from '../../../src/chain/payloadBids.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { ChunkValidator, InvalidChunkError, type InvalidChunkReason } from '../../../src/relay/chunkValidator.js'
import type { RelayRequest } from '../../../src/relay/relayRequest.js'
import type { ProtocolName } from '../../../src/reqresp/protocols.js'
import {
  asFinalityUpdate,
  asOptimisticUpdate,
  lightClientBootstrap,
  lightClientUpdate,
} from '../../helpers/lightClient.js'
import {
  blobSidecar,
  chunkOf,
  columnSidecar,
  filled,
  gloasColumnSidecar,
  hex,
  payloadEnvelope,
  relayRequest,
  signedBlock,
} from './fixtures.js'

// Devnet: one digest (every fork at genesis), real Fulu blocks and column sidecars from the synthetic chain.
const devnet = devnetNetwork({ genesisTime: 1_700_000_000 })
const devSchedule = new ForkSchedule(devnet.config, devnet.genesisValidatorsRoot)
const DEV_DIGEST = devSchedule.digestAtEpoch(0)
/** Slots 5, 10, 15… are empty; every block carries one blob, so it has 128 column sidecars. */
const chain = new SyntheticChain({ network: devnet }, { payloadBytes: 1000, blobsPerBlock: 1, skipSlotEvery: 5 })

// Mainnet: the digest changes at Deneb, Electra, Fulu and at each BLOB_SCHEDULE entry (BPO1, BPO2).
const mainnet = loadNetworkPreset('mainnet')
const mainSchedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
const SLOTS_PER_EPOCH = 32
const DENEB_SLOT = 269_568 * SLOTS_PER_EPOCH
const ELECTRA_SLOT = 364_032 * SLOTS_PER_EPOCH
const FULU_SLOT = 411_392 * SLOTS_PER_EPOCH
const BPO1_SLOT = 412_672 * SLOTS_PER_EPOCH
const BPO2_SLOT = 419_072 * SLOTS_PER_EPOCH
const digestAtSlot = (slot: number) => mainSchedule.digestAtEpoch(Math.floor(slot / SLOTS_PER_EPOCH))

function validator(req: RelayRequest, forkSchedule = devSchedule): ChunkValidator {
  return new ChunkValidator({ forkSchedule }, req)
}

async function expectInvalid(check: () => unknown, reason: InvalidChunkReason): Promise<InvalidChunkError> {
  let error: unknown
  try {
    await check()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(InvalidChunkError)
  expect((error as InvalidChunkError).code).toBe(reason)
  return error as InvalidChunkError
}

const devBlock = (slot: number, protocol: ProtocolName = 'beacon_blocks_by_range') =>
  chunkOf(protocol, chain.blockAt(slot)!.ssz, DEV_DIGEST, devSchedule)
const devColumn = (slot: number, index: number, protocol: ProtocolName = 'data_column_sidecars_by_range') =>
  chunkOf(protocol, chain.dataColumnSidecar(slot, index)!, DEV_DIGEST, devSchedule)
const mainBlock = (fork: ForkName, slot: number, digest = digestAtSlot(slot)) =>
  chunkOf('beacon_blocks_by_range', signedBlock(fork, slot).bytes, digest, mainSchedule)

describe('ChunkValidator: beacon_blocks_by_range', () => {
  it('accepts blocks in increasing slots inside the range, gaps and the last slot included', async () => {
    const v = validator(relayRequest('beacon_blocks_by_range', { startSlot: 2, count: 10, step: 1 }))
    const slots = [2, 3, 4, 6, 7, 8, 9, 11]
    const items = []
    for (const slot of slots) {
      const checked = await v.check(await devBlock(slot))
      expect(checked.slot).toBe(slot)
      expect(hex(checked.parentRoot!)).toBe(hex(chain.blockAt(slot)!.parentRoot))
      // A block's root is filled in when the next block is checked against it (or by settle()), not before.
      expect(checked.blockRoot).toBeNull()
      if (items.length > 0) expect(hex(items.at(-1)!.blockRoot!)).toBe(hex(chain.blockAt(items.at(-1)!.slot!)!.root))
      items.push(checked)
    }
    expect(hex((await v.settle())!)).toBe(hex(chain.blockAt(11)!.root))
    expect(items.map((i) => hex(i.blockRoot!))).toEqual(slots.map((slot) => hex(chain.blockAt(slot)!.root)))
  })

  it('accepts the genesis block as the first chunk', async () => {
    const v = validator(relayRequest('beacon_blocks_by_range', { startSlot: 0, count: 2, step: 1 }))
    expect((await v.check(await devBlock(0))).slot).toBe(0)
    expect((await v.check(await devBlock(1))).slot).toBe(1)
  })

  it('rejects a slot before startSlot or at startSlot + count', async () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 3, count: 4, step: 1 })
    const [at2, at6, at7] = await Promise.all([devBlock(2), devBlock(6), devBlock(7)])
    await expectInvalid(() => validator(req).check(at2), 'slot_out_of_range')
    await expectInvalid(() => validator(req).check(at7), 'slot_out_of_range')
    expect((await validator(req).check(at6)).slot).toBe(6)
  })

  it('rejects the clamped-off part of a range: count 1000 covers 128 slots', async () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 0, count: 1000, step: 1 })
    const [at127, at128] = await Promise.all([devBlock(127), devBlock(128)])
    expect((await validator(req).check(at127)).slot).toBe(127)
    await expectInvalid(() => validator(req).check(at128), 'slot_out_of_range')
  })

  it('rejects a repeated or decreasing block slot', async () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 0, count: 20, step: 1 })
    const [at3, at4] = await Promise.all([devBlock(3), devBlock(4)])
    const repeated = validator(req)
    await repeated.check(at3)
    await expectInvalid(() => repeated.check(at3), 'slot_not_increasing')
    const back = validator(req)
    await back.check(at4)
    await expectInvalid(() => back.check(at3), 'slot_not_increasing')
  })

  it('rejects a block whose message offset is wrong as item_format', async () => {
    const bytes = chain.blockAt(3)!.ssz.slice()
    new DataView(bytes.buffer).setUint32(0, 101, true)
    const chunk = await chunkOf('beacon_blocks_by_range', bytes, DEV_DIGEST, devSchedule)
    const v = validator(relayRequest('beacon_blocks_by_range', { startSlot: 0, count: 20, step: 1 }))
    await expectInvalid(() => v.check(chunk), 'item_format')
  })
})

describe('ChunkValidator: context bytes', () => {
  it('accepts each fork’s blocks under the digest of their epoch, across digest boundaries', async () => {
    const cases: Array<[ForkName, number]> = [
      [ForkName.deneb, DENEB_SLOT],
      [ForkName.deneb, ELECTRA_SLOT - 1],
      [ForkName.electra, ELECTRA_SLOT],
      [ForkName.electra, FULU_SLOT - 1],
      [ForkName.fulu, FULU_SLOT],
      [ForkName.fulu, BPO1_SLOT - 1],
      [ForkName.fulu, BPO1_SLOT],
      [ForkName.fulu, BPO2_SLOT],
    ]
    for (const [fork, slot] of cases) {
      expect(mainSchedule.forkAtEpoch(Math.floor(slot / SLOTS_PER_EPOCH)).name).toBe(fork)
      const v = validator(relayRequest('beacon_blocks_by_range', { startSlot: slot, count: 1, step: 1 }), mainSchedule)
      expect((await v.check(await mainBlock(fork, slot))).slot).toBe(slot)
    }
    // One response crossing the BPO1 boundary: two digests, both right for their slots.
    const v = validator(
      relayRequest('beacon_blocks_by_range', { startSlot: BPO1_SLOT - 2, count: 4, step: 1 }),
      mainSchedule,
    )
    let parent: Uint8Array | undefined
    for (const slot of [BPO1_SLOT - 2, BPO1_SLOT - 1, BPO1_SLOT, BPO1_SLOT + 1]) {
      const block = signedBlock(ForkName.fulu, slot, parent)
      parent = block.messageRoot
      const chunk = await chunkOf('beacon_blocks_by_range', block.bytes, digestAtSlot(slot), mainSchedule)
      expect((await v.check(chunk)).slot).toBe(slot)
    }
    expect(hex(digestAtSlot(BPO1_SLOT - 1))).not.toBe(hex(digestAtSlot(BPO1_SLOT)))
  })

  it('rejects the digest of another epoch, whether another fork or another blob-parameters boundary', async () => {
    const cases: Array<[string, ForkName, number, Uint8Array]> = [
      // An Electra block dated in Deneb, sent under Electra's digest (the type matches the digest, not the slot).
      ['electra digest, deneb slot', ForkName.electra, ELECTRA_SLOT - 1, digestAtSlot(ELECTRA_SLOT)],
      ['deneb digest, electra slot', ForkName.deneb, ELECTRA_SLOT, digestAtSlot(DENEB_SLOT)],
      ['fulu digest, electra slot', ForkName.fulu, FULU_SLOT - 1, digestAtSlot(FULU_SLOT)],
      // Same fork and type, only the blob parameters differ.
      ['fulu digest, BPO1 slot', ForkName.fulu, BPO1_SLOT, digestAtSlot(FULU_SLOT)],
      ['BPO2 digest, BPO1 slot', ForkName.fulu, BPO2_SLOT - 1, digestAtSlot(BPO2_SLOT)],
      ['BPO1 digest, BPO2 slot', ForkName.fulu, BPO2_SLOT + 5, digestAtSlot(BPO1_SLOT)],
    ]
    for (const [, fork, slot, digest] of cases) {
      const chunk = await mainBlock(fork, slot, digest)
      const v = validator(relayRequest('beacon_blocks_by_range', { startSlot: slot, count: 1, step: 1 }), mainSchedule)
      await expectInvalid(() => v.check(chunk), 'context_bytes_mismatch')
    }
  })

  it('checks by-root items and sidecars too', async () => {
    const block = signedBlock(ForkName.fulu, BPO1_SLOT)
    const wrongBlock = await chunkOf('beacon_blocks_by_root', block.bytes, digestAtSlot(FULU_SLOT), mainSchedule)
    const byRoot = validator(relayRequest('beacon_blocks_by_root', [block.messageRoot]), mainSchedule)
    await expectInvalid(() => byRoot.check(wrongBlock), 'context_bytes_mismatch')
    const rightBlock = await chunkOf('beacon_blocks_by_root', block.bytes, digestAtSlot(BPO1_SLOT), mainSchedule)
    expect(hex((await byRoot.check(rightBlock)).blockRoot!)).toBe(hex(block.messageRoot))

    const column = columnSidecar(ELECTRA_SLOT + 3, 9)
    const req = relayRequest('data_column_sidecars_by_range', { startSlot: ELECTRA_SLOT, count: 8, columns: [9] })
    const wrongColumn = await chunkOf(
      'data_column_sidecars_by_range',
      column.bytes,
      digestAtSlot(FULU_SLOT),
      mainSchedule,
    )
    await expectInvalid(() => validator(req, mainSchedule).check(wrongColumn), 'context_bytes_mismatch')
  })

  it('rejects context bytes that are no digest of this chain', async () => {
    const unknown = Uint8Array.of(0xde, 0xad, 0xbe, 0xef)
    const chunk = await chunkOf('beacon_blocks_by_range', chain.blockAt(1)!.ssz, unknown, devSchedule)
    const v = validator(relayRequest('beacon_blocks_by_range', { startSlot: 0, count: 5, step: 1 }))
    expect((await expectInvalid(() => v.check(chunk), 'context_bytes_mismatch')).message).toMatch(/unknown digest/)
    // Mainnet's Fulu digest is not the devnet's.
    const foreign = await chunkOf('beacon_blocks_by_range', chain.blockAt(1)!.ssz, digestAtSlot(FULU_SLOT), devSchedule)
    await expectInvalid(() => v.check(foreign), 'context_bytes_mismatch')
  })
})

describe('ChunkValidator: data_column_sidecars_by_range', () => {
  const req = () => relayRequest('data_column_sidecars_by_range', { startSlot: 1, count: 8, columns: [40, 3] })

  it('accepts several requested columns per slot, slots never going back', async () => {
    const v = validator(req())
    for (const [slot, index] of [
      [1, 3],
      [1, 40],
      [2, 3],
      [2, 40],
      [4, 40],
      [8, 3],
    ]) {
      expect(await v.check(await devColumn(slot!, index!))).toEqual({ slot, blockRoot: null, parentRoot: null })
    }
  })

  it('rejects a sidecar slot going back', async () => {
    const v = validator(req())
    v.check(await devColumn(3, 3))
    const back = await devColumn(2, 40)
    await expectInvalid(() => v.check(back), 'slot_not_increasing')
  })

  it('rejects a column not requested', async () => {
    const v = validator(req())
    const chunk = await devColumn(2, 4)
    expect((await expectInvalid(() => v.check(chunk), 'column_not_requested')).message).toMatch(/column 4/)
  })

  it('rejects a sidecar outside the range', async () => {
    const narrow = relayRequest('data_column_sidecars_by_range', { startSlot: 2, count: 7, columns: [3] })
    const [at1, at8, at9] = await Promise.all([devColumn(1, 3), devColumn(8, 3), devColumn(9, 3)])
    await expectInvalid(() => validator(narrow).check(at1), 'slot_out_of_range')
    await expectInvalid(() => validator(narrow).check(at9), 'slot_out_of_range')
    expect((await validator(narrow).check(at8)).slot).toBe(8)
  })

  it('rejects a sidecar whose index is no real u64 as item_format', async () => {
    const bytes = chain.dataColumnSidecar(2, 3)!.slice()
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true)
    const chunk = await chunkOf('data_column_sidecars_by_range', bytes, DEV_DIGEST, devSchedule)
    await expectInvalid(() => validator(req()).check(chunk), 'item_format')
  })
})

describe('ChunkValidator: blob_sidecars_by_range', () => {
  it('accepts several blobs of one slot, rejects a slot going back', async () => {
    const req = relayRequest('blob_sidecars_by_range', { startSlot: 10, count: 5 })
    const blob = (slot: number, index: number) =>
      chunkOf('blob_sidecars_by_range', blobSidecar(slot, index).bytes, DEV_DIGEST, devSchedule)
    const v = validator(req)
    for (const [slot, index] of [
      [10, 0],
      [10, 1],
      [12, 0],
    ]) {
      expect(await v.check(await blob(slot!, index!))).toEqual({ slot, blockRoot: null, parentRoot: null })
    }
    const back = await blob(11, 0)
    await expectInvalid(() => v.check(back), 'slot_not_increasing')
    const after = await blob(15, 0)
    await expectInvalid(() => validator(req).check(after), 'slot_out_of_range')
  })
})

describe('ChunkValidator: by-root requests', () => {
  it('beacon_blocks_by_root: accepts requested blocks in any order and returns their root', async () => {
    const roots = [chain.blockAt(8)!.root, chain.blockAt(3)!.root]
    const v = validator(relayRequest('beacon_blocks_by_root', roots))
    for (const slot of [8, 3]) {
      const checked = await v.check(await devBlock(slot, 'beacon_blocks_by_root'))
      expect(checked.slot).toBe(slot)
      expect(hex(checked.blockRoot!)).toBe(hex(chain.blockAt(slot)!.root))
    }
  })

  it('beacon_blocks_by_root: rejects a block whose root was not requested', async () => {
    const v = validator(relayRequest('beacon_blocks_by_root', [chain.blockAt(3)!.root]))
    const other = await devBlock(4, 'beacon_blocks_by_root')
    await expectInvalid(() => v.check(other), 'root_not_requested')
  })

  it('data_column_sidecars_by_root: accepts requested columns of requested roots; index and root are checked', async () => {
    const req = relayRequest('data_column_sidecars_by_root', [
      { blockRoot: chain.blockAt(6)!.root, columns: [0, 127] },
      { blockRoot: chain.blockAt(2)!.root, columns: [64] },
    ])
    const v = validator(req)
    for (const [slot, index] of [
      [6, 127],
      [2, 64],
      [6, 0],
    ]) {
      // Sidecars report their slot; the root is a block's only.
      expect(await v.check(await devColumn(slot!, index!, 'data_column_sidecars_by_root'))).toEqual({
        slot,
        blockRoot: null,
        parentRoot: null,
      })
    }
    const [otherIndex, otherRoot, columnOfOther] = await Promise.all([
      devColumn(6, 64, 'data_column_sidecars_by_root'),
      devColumn(7, 0, 'data_column_sidecars_by_root'),
      devColumn(2, 0, 'data_column_sidecars_by_root'),
    ])
    await expectInvalid(() => v.check(otherIndex), 'index_not_requested')
    await expectInvalid(() => v.check(columnOfOther), 'index_not_requested')
    await expectInvalid(() => v.check(otherRoot), 'root_not_requested')
  })

  it('blob_sidecars_by_root: index and root are checked', async () => {
    const a = blobSidecar(20, 1, 1)
    const b = blobSidecar(20, 2, 2)
    const req = relayRequest('blob_sidecars_by_root', [{ blockRoot: a.root, index: 1 }])
    const v = validator(req)
    const blob = (bytes: Uint8Array) => chunkOf('blob_sidecars_by_root', bytes, DEV_DIGEST, devSchedule)
    expect(await v.check(await blob(a.bytes))).toEqual({ slot: 20, blockRoot: null, parentRoot: null })
    const wrongIndex = await blob(blobSidecar(20, 2, 1).bytes)
    await expectInvalid(() => v.check(wrongIndex), 'index_not_requested')
    const wrongRoot = await blob(b.bytes)
    await expectInvalid(() => v.check(wrongRoot), 'root_not_requested')
  })

  it('beacon_blocks_by_root: a block whose body does not decode is item_format', async () => {
    const bytes = chain.blockAt(3)!.ssz.slice()
    // BeaconBlock: slot, proposer_index, parent_root, state_root, then the body's offset at message + 80.
    new DataView(bytes.buffer).setUint32(100 + 80, 0x00ff_ffff, true)
    const chunk = await chunkOf('beacon_blocks_by_root', bytes, DEV_DIGEST, devSchedule)
    const v = validator(relayRequest('beacon_blocks_by_root', [chain.blockAt(3)!.root]))
    await expectInvalid(() => v.check(chunk), 'item_format')
  })
})

describe('ChunkValidator: light-client data', () => {
  // Devnet slots are Fulu; a sync committee period is 256 epochs.
  const SLOTS_PER_PERIOD = 256 * devSchedule.config.slotsPerEpoch
  const lc = (protocol: ProtocolName, bytes: Uint8Array, schedule = devSchedule, digest = DEV_DIGEST) =>
    chunkOf(protocol, bytes, digest, schedule)

  it('light_client_bootstrap: passes the block asked for, with its proofs; another block or a changed committee fails', async () => {
    const { bytes, root, value, type } = lightClientBootstrap(ForkName.fulu, 3 * SLOTS_PER_PERIOD + 7)
    const asked = validator(relayRequest('light_client_bootstrap', root))
    // Its block's slot: a bootstrap of a finalized block is cached as finalized data is.
    expect(await asked.check(await lc('light_client_bootstrap', bytes))).toEqual({
      slot: 3 * SLOTS_PER_PERIOD + 7,
      blockRoot: null,
      parentRoot: null,
    })
    const other = validator(relayRequest('light_client_bootstrap', filled(32, 0x42)))
    await expectInvalid(async () => other.check(await lc('light_client_bootstrap', bytes)), 'root_not_requested')
    const changed = structuredClone(value)
    changed.currentSyncCommittee.pubkeys[100] = filled(48, 0xee)
    const err = await expectInvalid(
      async () => asked.check(await lc('light_client_bootstrap', type.serialize(changed))),
      'invalid_light_client',
    )
    expect(err.message).toMatch(/current_sync_committee_branch/)
  })

  it('light_client_bootstrap: the context bytes must be those of the header’s epoch', async () => {
    const { bytes, root } = lightClientBootstrap(ForkName.electra, ELECTRA_SLOT + 40)
    const v = validator(relayRequest('light_client_bootstrap', root), mainSchedule)
    const asElectra = await lc('light_client_bootstrap', bytes, mainSchedule, digestAtSlot(ELECTRA_SLOT + 40))
    expect((await v.check(asElectra)).slot).toBe(ELECTRA_SLOT + 40)
    // Electra and Fulu share the container: it decodes under Fulu's digest, which is not its epoch's.
    const asFulu = await lc('light_client_bootstrap', bytes, mainSchedule, digestAtSlot(FULU_SLOT))
    await expectInvalid(() => v.check(asFulu), 'context_bytes_mismatch')
  })

  it('light_client_updates_by_range: updates in the periods asked, in order, each with sound branches', async () => {
    const req = relayRequest('light_client_updates_by_range', { startPeriod: 4, count: 2 })
    const inPeriod = (period: number) =>
      lightClientUpdate(ForkName.fulu, period * SLOTS_PER_PERIOD + 100, period * SLOTS_PER_PERIOD + 36)
    const v = validator(req)
    await v.check(await lc('light_client_updates_by_range', inPeriod(4).bytes))
    await v.check(await lc('light_client_updates_by_range', inPeriod(5).bytes))
    await expectInvalid(
      async () => v.check(await lc('light_client_updates_by_range', inPeriod(6).bytes)),
      'period_out_of_range',
    )
    const w = validator(req)
    await w.check(await lc('light_client_updates_by_range', inPeriod(5).bytes))
    await expectInvalid(
      async () => w.check(await lc('light_client_updates_by_range', inPeriod(4).bytes)),
      'period_not_increasing',
    )
    await expectInvalid(
      async () => validator(req).check(await lc('light_client_updates_by_range', inPeriod(3).bytes)),
      'period_out_of_range',
    )
    const changed = inPeriod(4)
    changed.value.nextSyncCommittee.aggregatePubkey = filled(48, 0xee)
    await expectInvalid(
      async () =>
        validator(req).check(await lc('light_client_updates_by_range', changed.type.serialize(changed.value))),
      'invalid_light_client',
    )
  })

  it('light_client_finality_update and light_client_optimistic_update: sound ones pass, a moved header fails', async () => {
    const { value } = lightClientUpdate(ForkName.fulu, 900, 800)
    const finality = () => validator(relayRequest('light_client_finality_update', null))
    expect(
      (await finality().check(await lc('light_client_finality_update', asFinalityUpdate(ForkName.fulu, value)))).slot,
    ).toBeNull()
    const optimistic = () => validator(relayRequest('light_client_optimistic_update', null))
    const bytes = asOptimisticUpdate(ForkName.fulu, value)
    expect((await optimistic().check(await lc('light_client_optimistic_update', bytes))).slot).toBeNull()
    value.finalizedHeader.beacon.slot = 801
    await expectInvalid(
      async () => finality().check(await lc('light_client_finality_update', asFinalityUpdate(ForkName.fulu, value))),
      'invalid_light_client',
    )
    value.attestedHeader.beacon.bodyRoot = filled(32, 1)
    await expectInvalid(
      async () =>
        optimistic().check(await lc('light_client_optimistic_update', asOptimisticUpdate(ForkName.fulu, value))),
      'invalid_light_client',
    )
  })
})

describe('ChunkValidator: chunks it cannot place', () => {
  it('status chunks (no context bytes) pass, unverified (nothing to check them against: never cached)', async () => {
    const bytes = ssz.fulu.Status.serialize(ssz.fulu.Status.defaultValue())
    const chunk = await chunkOf('status', bytes, undefined, devSchedule)
    expect(chunk.contextBytes).toBeUndefined()
    const v = validator(relayRequest('status', ssz.fulu.Status.defaultValue()))
    expect(await v.check(chunk)).toEqual({ slot: null, blockRoot: null, parentRoot: null, unverified: true })
  })
})

describe('ChunkValidator: links, proofs and known roots', () => {
  const columnChunk = (value: ReturnType<typeof ssz.fulu.DataColumnSidecar.deserialize>) =>
    chunkOf('data_column_sidecars_by_range', ssz.fulu.DataColumnSidecar.serialize(value), DEV_DIGEST, devSchedule)

  it('rejects a range block that does not name the block before it (gaps are fine), and a changed block', async () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 2, count: 10, step: 1 })
    const [at4, at6, at8] = await Promise.all([devBlock(4), devBlock(6), devBlock(8)])
    const v = validator(req)
    await v.check(at4)
    await v.check(at6) // slot 5 is empty: slot 6 names slot 4's block
    await expectInvalid(() => v.check(at8), 'broken_link') // slot 7 is missing
    // A changed field in block 7 (valid SSZ) changes its root: block 8 no longer names it.
    const changed = ssz.fulu.SignedBeaconBlock.deserialize(chain.blockAt(7)!.ssz)
    changed.message.stateRoot = new Uint8Array(32).fill(0xee)
    const bytes = ssz.fulu.SignedBeaconBlock.serialize(changed)
    const w = validator(req)
    await w.check(await chunkOf('beacon_blocks_by_range', bytes, DEV_DIGEST, devSchedule))
    await expectInvalid(() => w.check(at8), 'broken_link')
  })

  it('going on after another upstream’s block: the first link is the join (fork_at_join), later ones broken_link', async () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 3, count: 4, step: 1 })
    const [at3, at4, at6] = await Promise.all([devBlock(3), devBlock(4), devBlock(6)])
    const after = (slot: number) => ({ slot, blockRoot: chain.blockAt(slot)!.root, parentRoot: null })
    const v = new ChunkValidator({ forkSchedule: devSchedule }, req, after(2))
    await v.check(at3) // names block 2: linked on
    await expectInvalid(() => v.check(at6), 'broken_link') // block 4 is missing: within this answer
    const w = new ChunkValidator({ forkSchedule: devSchedule }, req, after(2))
    await expectInvalid(() => w.check(at4), 'fork_at_join') // block 4 names block 3, not the 2 forwarded
    const oneSlot = relayRequest('beacon_blocks_by_range', { startSlot: 3, count: 1, step: 1 })
    const x = new ChunkValidator({ forkSchedule: devSchedule }, oneSlot, after(2))
    await expectInvalid(() => x.provesLastBlock(at4, 1), 'fork_at_join') // slot 3 came empty; 4 does not name 2
  })

  it('checks the block after the range against the last block of it', async () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 2, count: 2, step: 1 })
    const [at2, at3, at4, at6] = await Promise.all([devBlock(2), devBlock(3), devBlock(4), devBlock(6)])
    const v = validator(req)
    expect(await v.provesLastBlock(at2, 1)).toBe(false) // of the range: check()ed, forwarded
    await v.check(at2)
    const last = await v.check(at3)
    expect(await v.provesLastBlock(at4, 1)).toBe(true)
    expect(hex(last.blockRoot!)).toBe(hex(chain.blockAt(3)!.root)) // settled by the proof
    const w = validator(req)
    await w.check(at2)
    await expectInvalid(() => w.provesLastBlock(at4, 1), 'broken_link') // block 3 is missing: 4 does not name block 2
    const x = validator(req)
    await x.check(at2)
    await x.check(at3)
    await expectInvalid(() => x.provesLastBlock(at6, 2), 'slot_out_of_range') // slots 4 and 5 were asked after the range
  })

  it('rejects a sidecar whose inclusion proof or lists are wrong, and sidecars of one slot with two headers', async () => {
    const req = relayRequest('data_column_sidecars_by_range', { startSlot: 6, count: 4, columns: [1, 2] })
    const sidecar = ssz.fulu.DataColumnSidecar.deserialize(chain.dataColumnSidecar(7, 1)!)
    const [badProof, short, sound, other] = await Promise.all([
      columnChunk({
        ...sidecar,
        kzgCommitmentsInclusionProof: [new Uint8Array(32), ...sidecar.kzgCommitmentsInclusionProof.slice(1)],
      }),
      columnChunk({ ...sidecar, kzgProofs: [] }),
      devColumn(7, 1),
      // A sound sidecar (real proof) of another block at the same slot.
      chunkOf('data_column_sidecars_by_range', columnSidecar(7, 2).bytes, DEV_DIGEST, devSchedule),
    ])
    await expectInvalid(() => validator(req).check(badProof), 'invalid_sidecar')
    await expectInvalid(() => validator(req).check(short), 'invalid_sidecar')
    expect((await validator(req).check(other)).slot).toBe(7)
    const v = validator(req)
    await v.check(sound)
    await expectInvalid(() => v.check(other), 'header_mismatch')
  })

  it('rejects a block or sidecar whose root differs from one known for its slot', async () => {
    const known = new Map([[7, chain.blockAt(7)!.root]])
    const wrong = new Map([[7, new Uint8Array(32).fill(9)]])
    const knowing = (roots: Map<number, Uint8Array>, req: RelayRequest) =>
      new ChunkValidator({ forkSchedule: devSchedule, knownRoot: (slot) => roots.get(slot) }, req)
    const [block, column] = await Promise.all([devBlock(7), devColumn(7, 1)])
    const blocks = relayRequest('beacon_blocks_by_range', { startSlot: 7, count: 1, step: 1 })
    expect((await knowing(known, blocks).check(block)).slot).toBe(7)
    await expectInvalid(() => knowing(wrong, blocks).check(block), 'known_root_mismatch')
    const columns = relayRequest('data_column_sidecars_by_range', { startSlot: 7, count: 1, columns: [1] })
    expect((await knowing(known, columns).check(column)).slot).toBe(7)
    await expectInvalid(() => knowing(wrong, columns).check(column), 'known_root_mismatch')
  })
})

/** A block root hasher that answers only when told: what a worker busy with other blocks looks like. */
class HeldRoots {
  readonly asked: Array<{ bytes: Uint8Array; answer: (root: Uint8Array) => void; fail: (e: Error) => void }> = []
  root(_fork: ForkName, bytes: Uint8Array): Promise<Uint8Array> {
    return new Promise((answer, fail) => this.asked.push({ bytes, answer, fail }))
  }
}

/** Whether `promise` has settled after the microtasks and I/O callbacks queued now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('ChunkValidator: roots hashed elsewhere (the worker)', () => {
  const req = relayRequest('beacon_blocks_by_range', { startSlot: 2, count: 4, step: 1 })

  it("a block waits only for the previous block's root, never its own", async () => {
    const roots = new HeldRoots()
    const v = new ChunkValidator({ forkSchedule: devSchedule, blockRoots: roots }, req)
    const [at2, at3] = await Promise.all([devBlock(2), devBlock(3)])
    const first = await v.check(at2) // its root not hashed yet: the next chunk can be read meanwhile
    expect(roots.asked).toHaveLength(1)
    const second = v.check(at3)
    expect(await settled(second)).toBe(false) // it needs block 2's root
    roots.asked[0].answer(chain.blockAt(2)!.root)
    expect((await second).slot).toBe(3)
    expect(hex(first.blockRoot!)).toBe(hex(chain.blockAt(2)!.root))
    const last = v.settle()
    expect(await settled(last)).toBe(false)
    roots.asked[1].answer(chain.blockAt(3)!.root)
    expect(hex((await last)!)).toBe(hex(chain.blockAt(3)!.root))
  })

  it('a wrong root from the hasher is a broken link at the next block; a block that does not decode, item_format', async () => {
    const [at2, at3, at4] = await Promise.all([devBlock(2), devBlock(3), devBlock(4)])
    const roots = new HeldRoots()
    const v = new ChunkValidator({ forkSchedule: devSchedule, blockRoots: roots }, req)
    await v.check(at2)
    roots.asked[0].answer(new Uint8Array(32).fill(7))
    await expectInvalid(() => v.check(at3), 'broken_link')

    const wRoots = new HeldRoots()
    const w = new ChunkValidator({ forkSchedule: devSchedule, blockRoots: wRoots }, req)
    await w.check(at3)
    wRoots.asked[0].fail(new BlockDecodeError('truncated'))
    expect((await expectInvalid(() => w.check(at4), 'item_format')).message).toMatch(/does not decode: truncated/)
    const xRoots = new HeldRoots()
    const x = new ChunkValidator({ forkSchedule: devSchedule, blockRoots: xRoots }, req)
    await x.check(at4)
    xRoots.asked[0].fail(new BlockDecodeError('truncated'))
    await expectInvalid(() => x.settle(), 'item_format')
  })
})

// Sepolia: Fulu (BPO2) until epoch 353024, Gloas from then: blocks keep their layout, sidecars name their block by root.
describe('ChunkValidator at Gloas', () => {
  const sepolia = loadNetworkPreset('sepolia')
  const schedule = new ForkSchedule(sepolia.config, sepolia.genesisValidatorsRoot)
  const GLOAS_SLOT = 353_024 * SLOTS_PER_EPOCH
  const digestOf = (slot: number) => schedule.digestAtEpoch(Math.floor(slot / SLOTS_PER_EPOCH))
  const v = (req: RelayRequest, knownRoot?: (slot: number) => Uint8Array | undefined) =>
    new ChunkValidator({ forkSchedule: schedule, knownRoot }, req)

  it('links blocks across the Fulu→Gloas boundary and refuses a Gloas block that does not link', async () => {
    const last = signedBlock(ForkName.fulu, GLOAS_SLOT - 1)
    const first = signedBlock(ForkName.gloas, GLOAS_SLOT, last.messageRoot)
    const stranger = signedBlock(ForkName.gloas, GLOAS_SLOT + 1, filled(32, 0x99))
    const req = relayRequest('beacon_blocks_by_range', { startSlot: GLOAS_SLOT - 1, count: 4, step: 1 })
    const chunk = (b: { bytes: Uint8Array }, slot: number) =>
      chunkOf('beacon_blocks_by_range', b.bytes, digestOf(slot), schedule)
    const ok = v(req)
    expect((await ok.check(await chunk(last, GLOAS_SLOT - 1))).slot).toBe(GLOAS_SLOT - 1)
    expect((await ok.check(await chunk(first, GLOAS_SLOT))).slot).toBe(GLOAS_SLOT)
    expect(hex((await ok.settle())!)).toBe(hex(first.messageRoot))
    const strangerChunk = await chunk(stranger, GLOAS_SLOT + 1)
    await expectInvalid(() => ok.check(strangerChunk), 'broken_link')
  })

  it('data columns by root: the beacon_block_root names the requested block; the columns asked only', async () => {
    const root = filled(32, 0x5a)
    const req = relayRequest('data_column_sidecars_by_root', [{ blockRoot: root, columns: [3, 90] }])
    const column = (r: Uint8Array, index: number, cells = 2) =>
      chunkOf(
        'data_column_sidecars_by_root',
        gloasColumnSidecar(GLOAS_SLOT + 2, index, r, cells).bytes,
        digestOf(GLOAS_SLOT),
        schedule,
      )
    expect(await v(req).check(await column(root, 90))).toEqual({
      slot: GLOAS_SLOT + 2,
      blockRoot: null,
      parentRoot: null,
    })
    await expectInvalid(async () => v(req).check(await column(filled(32, 0x5b), 90)), 'root_not_requested')
    await expectInvalid(async () => v(req).check(await column(root, 4)), 'index_not_requested')
    await expectInvalid(async () => v(req).check(await column(root, 3, 0)), 'invalid_sidecar')
  })

  it('data columns by range: the sidecars of a slot name one block, the one known for the slot', async () => {
    const req = relayRequest('data_column_sidecars_by_range', { startSlot: GLOAS_SLOT, count: 4, columns: [1, 2] })
    const column = (r: Uint8Array, index: number) =>
      chunkOf(
        'data_column_sidecars_by_range',
        gloasColumnSidecar(GLOAS_SLOT + 1, index, r).bytes,
        digestOf(GLOAS_SLOT),
        schedule,
      )
    const root = filled(32, 0x61)
    const one = v(req)
    await one.check(await column(root, 1))
    await expectInvalid(async () => one.check(await column(filled(32, 0x62), 2)), 'header_mismatch')
    const known = (slot: number) => (slot === GLOAS_SLOT + 1 ? root : undefined)
    expect((await v(req, known).check(await column(root, 2))).slot).toBe(GLOAS_SLOT + 1)
    await expectInvalid(async () => v(req, known).check(await column(filled(32, 0x63), 2)), 'known_root_mismatch')
  })

  it('payload envelopes by range: in the range, one per slot in order, naming the block known for the slot', async () => {
    const req = relayRequest('execution_payload_envelopes_by_range', { startSlot: GLOAS_SLOT, count: 8 })
    const envelope = (slot: number, root = filled(32, slot % 256)) =>
      chunkOf('execution_payload_envelopes_by_range', payloadEnvelope(slot, root).bytes, digestOf(slot), schedule)
    const one = v(req)
    // Checked, but its payload is not bound to its block by anything Contower can check: never cached.
    expect(await one.check(await envelope(GLOAS_SLOT + 1))).toEqual({
      slot: GLOAS_SLOT + 1,
      blockRoot: null,
      parentRoot: null,
      unverified: true,
    })
    expect((await one.check(await envelope(GLOAS_SLOT + 3))).slot).toBe(GLOAS_SLOT + 3)
    await expectInvalid(async () => one.check(await envelope(GLOAS_SLOT + 3)), 'slot_not_increasing')
    await expectInvalid(async () => v(req).check(await envelope(GLOAS_SLOT + 8)), 'slot_out_of_range')
    const known = (slot: number) => (slot === GLOAS_SLOT + 2 ? filled(32, 0x77) : undefined)
    expect((await v(req, known).check(await envelope(GLOAS_SLOT + 2, filled(32, 0x77)))).slot).toBe(GLOAS_SLOT + 2)
    await expectInvalid(async () => v(req, known).check(await envelope(GLOAS_SLOT + 2)), 'known_root_mismatch')
    // The context bytes must be those of the envelope's own slot.
    await expectInvalid(
      async () =>
        v(req).check(
          await chunkOf(
            'execution_payload_envelopes_by_range',
            payloadEnvelope(GLOAS_SLOT + 40).bytes,
            digestOf(GLOAS_SLOT + 40),
            schedule,
          ),
        ),
      'slot_out_of_range',
    )
  })

  it('payload envelopes by root: only envelopes of the roots asked', async () => {
    const asked = filled(32, 0x44)
    const req = relayRequest('execution_payload_envelopes_by_root', [asked, filled(32, 0x45)])
    const envelope = (root: Uint8Array) =>
      chunkOf(
        'execution_payload_envelopes_by_root',
        payloadEnvelope(GLOAS_SLOT + 5, root).bytes,
        digestOf(GLOAS_SLOT),
        schedule,
      )
    expect((await v(req).check(await envelope(asked))).slot).toBe(GLOAS_SLOT + 5)
    await expectInvalid(async () => v(req).check(await envelope(filled(32, 0x46))), 'root_not_requested')
  })

  it('light-client data of Gloas: proven against the Gloas state layout and the bid in the body, or refused', async () => {
    const { value } = lightClientUpdate(ForkName.gloas, GLOAS_SLOT + 200, GLOAS_SLOT + 136)
    const finality = (bytes: Uint8Array) =>
      chunkOf('light_client_finality_update', bytes, digestOf(GLOAS_SLOT + 200), schedule)
    const checked = await v(relayRequest('light_client_finality_update', null)).check(
      await finality(asFinalityUpdate(ForkName.gloas, value)),
    )
    expect(checked.unverified).toBeUndefined()
    const moved = structuredClone(value)
    moved.finalizedHeader.executionBlockHash = filled(32, 0x5c)
    await expectInvalid(
      async () =>
        v(relayRequest('light_client_finality_update', null)).check(
          await finality(asFinalityUpdate(ForkName.gloas, moved)),
        ),
      'invalid_light_client',
    )
  })
})

// The devnet's Gloas chain: each block's bid and its envelope are consistent, as a builder makes them.
describe('payload envelopes against the bid of a block Contower holds', () => {
  const network = devnetNetwork({ genesisTime: 1_700_000_000, forkEpochs: { GLOAS: 1 } })
  const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
  const gloasChain = new SyntheticChain({ network }, { payloadBytes: 1_000 })
  const block = gloasChain.blockAt(33)!
  const bids = new PayloadBids()
  bids.noteBlock(ForkName.gloas, block.ssz.subarray(100), block.root)
  const EnvelopeType = ssz.gloas.SignedExecutionPayloadEnvelope
  const check = async (bytes: Uint8Array, root = block.root) => {
    const req = relayRequest('execution_payload_envelopes_by_root', [root])
    const chunk = await chunkOf('execution_payload_envelopes_by_root', bytes, schedule.digestAtEpoch(1), schedule)
    return new ChunkValidator({ forkSchedule: schedule, payloadBid: (r) => bids.get(r) }, req).check(chunk)
  }

  it('passes the envelope the bid committed to; refuses one with any field it compares changed', async () => {
    const good = gloasChain.envelopeAt(33)!
    expect((await check(good)).slot).toBe(33)
    type Envelope = ReturnType<typeof EnvelopeType.deserialize>
    const changes: Array<[string, (e: Envelope) => void]> = [
      ['parent_beacon_block_root', (e) => (e.message.parentBeaconBlockRoot = filled(32, 1))],
      ['builder_index', (e) => (e.message.builderIndex += 1)],
      ['prev_randao', (e) => (e.message.payload.prevRandao = filled(32, 2))],
      ['gas_limit', (e) => (e.message.payload.gasLimit += 1)],
      ['block_hash', (e) => (e.message.payload.blockHash = filled(32, 3))],
      [
        'execution_requests root',
        (e) => {
          const withdrawals = ssz.gloas.ExecutionRequests.fields.withdrawals
          e.message.executionRequests.withdrawals = [withdrawals.elementType.defaultValue()]
        },
      ],
      ['slot_number', (e) => (e.message.payload.slotNumber = 34)],
    ]
    for (const [field, change] of changes) {
      const changed = EnvelopeType.deserialize(good)
      change(changed)
      const error = await expectInvalid(() => check(EnvelopeType.serialize(changed)), 'envelope_bid_mismatch')
      expect(error.message).toContain(field)
    }
  })

  it('forwards, unverified, the envelope of a block it has not seen: there is nothing to compare', async () => {
    const other = gloasChain.blockAt(35)!
    const changed = EnvelopeType.deserialize(gloasChain.envelopeAt(35)!)
    changed.message.payload.blockHash = filled(32, 3)
    expect(await check(EnvelopeType.serialize(changed), other.root)).toMatchObject({ slot: 35, unverified: true })
  })
})
