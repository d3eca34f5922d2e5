import { ForkName } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import {
  MAX_REQUEST_BLOB_SIDECARS_ELECTRA,
  MAX_REQUEST_BLOCKS_DENEB,
  MAX_REQUEST_DATA_COLUMN_SIDECARS,
} from '../../../src/spec/reqresp.js'
import { getProtocol, PROTOCOLS, type ProtocolName, protocolId, sszBounds } from '../../../src/reqresp/protocols.js'
import { ResponseTypes } from '../../../src/reqresp/responseTypes.js'
import { isWireError, WireErrorCode } from '../../../src/wire/errors.js'

// The spec table of /work/shared/docs/eth2-p2p.md §2 and gloas p2p-interface.md's two payload envelope protocols:
// name, version, whether success chunks carry context bytes.
const TABLE: Array<[ProtocolName, number, boolean, 'handshake' | 'data']> = [
  ['status', 1, false, 'handshake'],
  ['status', 2, false, 'handshake'],
  ['goodbye', 1, false, 'handshake'],
  ['ping', 1, false, 'handshake'],
  ['metadata', 2, false, 'handshake'],
  ['metadata', 3, false, 'handshake'],
  ['beacon_blocks_by_range', 2, true, 'data'],
  ['beacon_blocks_by_root', 2, true, 'data'],
  ['blob_sidecars_by_range', 1, true, 'data'],
  ['blob_sidecars_by_root', 1, true, 'data'],
  ['data_column_sidecars_by_range', 1, true, 'data'],
  ['data_column_sidecars_by_root', 1, true, 'data'],
  ['execution_payload_envelopes_by_range', 1, true, 'data'],
  ['execution_payload_envelopes_by_root', 1, true, 'data'],
  ['light_client_bootstrap', 1, true, 'data'],
  ['light_client_updates_by_range', 1, true, 'data'],
  ['light_client_finality_update', 1, true, 'data'],
  ['light_client_optimistic_update', 1, true, 'data'],
]

const roots = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i))
const columns = (n: number) => Array.from({ length: n }, (_, i) => i)

describe('protocol registry', () => {
  it('holds exactly the spec table, nothing more', () => {
    expect([...PROTOCOLS.keys()].sort()).toEqual(
      TABLE.map(([name, version]) => `/eth2/beacon_chain/req/${name}/${version}/ssz_snappy`).sort(),
    )
  })

  it.each(TABLE)('%s/%i: id, context bytes and kind', (name, version, ctx, kind) => {
    const id = `/eth2/beacon_chain/req/${name}/${version}/ssz_snappy`
    const def = getProtocol(name, version)
    expect(def.id).toBe(id)
    expect(protocolId(name, version)).toBe(id)
    expect(PROTOCOLS.get(id)).toBe(def)
    expect(def).toMatchObject({ name, version, contextBytes: ctx, kind })
  })

  it('refuses versions the registry does not have', () => {
    expect(() => getProtocol('status', 3)).toThrow('unknown protocol status/3')
    expect(() => getProtocol('beacon_blocks_by_range', 1)).toThrow('unknown protocol beacon_blocks_by_range/1')
    expect(() => getProtocol('metadata', 1)).toThrow()
  })
})

describe('request types', () => {
  it.each([
    ['status', 1, 84, 84],
    ['status', 2, 92, 92],
    ['goodbye', 1, 8, 8],
    ['ping', 1, 8, 8],
    ['beacon_blocks_by_range', 2, 24, 24],
    ['blob_sidecars_by_range', 1, 16, 16],
    ['light_client_bootstrap', 1, 32, 32],
    ['light_client_updates_by_range', 1, 16, 16],
    // List[Root, 128]
    ['beacon_blocks_by_root', 2, 0, 128 * 32],
    // List[BlobIdentifier {root, index} (40 B), MAX_REQUEST_BLOB_SIDECARS_ELECTRA]
    ['blob_sidecars_by_root', 1, 0, 1152 * 40],
    // {start_slot, count, columns List[u64, 128]}
    ['data_column_sidecars_by_range', 1, 20, 20 + 128 * 8],
  ] as Array<[ProtocolName, number, number, number]>)('%s/%i: %i..%i bytes', (name, version, min, max) => {
    expect(sszBounds(getProtocol(name, version).request!)).toEqual({ minSize: min, maxSize: max })
  })

  it('data_column_sidecars_by_root takes up to 128 {block_root, columns} identifiers', () => {
    const request = getProtocol('data_column_sidecars_by_root', 1).request!
    const ids = roots(128).map((blockRoot) => ({ blockRoot, columns: [0] }))
    expect(request.deserialize(request.serialize(ids))).toHaveLength(128)
    // 129 identifiers are over the list limit: the decoder refuses them
    expect(() => request.deserialize(request.serialize([...ids, ids[0]]))).toThrow()
  })

  it('has no request payload for metadata and the LC update pushes', () => {
    for (const [name, version] of [
      ['metadata', 2],
      ['metadata', 3],
      ['light_client_finality_update', 1],
      ['light_client_optimistic_update', 1],
    ] as Array<[ProtocolName, number]>) {
      expect(getProtocol(name, version).request).toBeNull()
    }
  })

  it('Status v1/v2 and BlocksByRange serialize to their documented sizes', () => {
    const status = {
      forkDigest: new Uint8Array(4),
      finalizedRoot: new Uint8Array(32),
      finalizedEpoch: 1,
      headRoot: new Uint8Array(32),
      headSlot: 2,
    }
    expect(getProtocol('status', 1).request!.serialize(status)).toHaveLength(84)
    expect(getProtocol('status', 2).request!.serialize({ ...status, earliestAvailableSlot: 3 })).toHaveLength(92)
    expect(
      getProtocol('beacon_blocks_by_range', 2).request!.serialize({ startSlot: 1, count: 2, step: 1 }),
    ).toHaveLength(24)
    expect(getProtocol('ping', 1).request!.serialize(5n)).toHaveLength(8)
  })
})

describe('maxResponseChunks and requestCost', () => {
  it('uses the spec constants', () => {
    expect(MAX_REQUEST_BLOCKS_DENEB).toBe(128)
    expect(MAX_REQUEST_BLOB_SIDECARS_ELECTRA).toBe(1152)
    expect(MAX_REQUEST_DATA_COLUMN_SIDECARS).toBe(16384)
  })

  it('blocks by range: count, capped at 128 chunks; the cost is the full count', () => {
    const def = getProtocol('beacon_blocks_by_range', 2)
    for (const [count, chunks] of [
      [0, 0],
      [1, 1],
      [64, 64],
      [128, 128],
      [129, 128],
      [1_000_000, 128],
    ]) {
      expect(def.maxResponseChunks({ startSlot: 0, count, step: 1 })).toBe(chunks)
      expect(def.requestCost({ startSlot: 0, count, step: 1 })).toBe(count)
    }
  })

  it('blocks by root: the list length', () => {
    const def = getProtocol('beacon_blocks_by_root', 2)
    expect(def.maxResponseChunks(roots(0))).toBe(0)
    expect(def.maxResponseChunks(roots(3))).toBe(3)
    expect(def.requestCost(roots(3))).toBe(3)
    expect(def.maxResponseChunks(roots(128))).toBe(128)
  })

  it('payload envelopes: by range the count, capped at 128 chunks; by root the list length, at most 128', () => {
    const byRange = getProtocol('execution_payload_envelopes_by_range', 1)
    expect(byRange.maxResponseChunks({ startSlot: 5, count: 1000 })).toBe(128)
    expect(byRange.requestCost({ startSlot: 5, count: 1000 })).toBe(1000)
    const byRoot = getProtocol('execution_payload_envelopes_by_root', 1)
    expect(byRoot.maxResponseChunks(roots(7))).toBe(7)
    expect(byRoot.request!.maxSize).toBe(128 * 32)
    expect(byRoot.response(ForkName.gloas)).toBe(ssz.gloas.SignedExecutionPayloadEnvelope)
  })

  it('data columns by range: count × columns, capped at 16384', () => {
    const def = getProtocol('data_column_sidecars_by_range', 1)
    const req = (count: number, n: number) => ({ startSlot: 0, count, columns: columns(n) })
    expect(def.maxResponseChunks(req(2, 3))).toBe(6)
    expect(def.requestCost(req(2, 3))).toBe(6)
    expect(def.maxResponseChunks(req(10, 0))).toBe(0)
    expect(def.maxResponseChunks(req(128, 128))).toBe(16384)
    expect(def.maxResponseChunks(req(129, 128))).toBe(16384)
    expect(def.requestCost(req(129, 128))).toBe(16384)
    expect(def.maxResponseChunks(req(1_000_000, 1))).toBe(16384)
  })

  it('data columns by root: the sum of the columns asked per block, capped at 16384', () => {
    const def = getProtocol('data_column_sidecars_by_root', 1)
    const ids = [
      { blockRoot: new Uint8Array(32), columns: [1, 2, 3] },
      { blockRoot: new Uint8Array(32).fill(1), columns: [] },
      { blockRoot: new Uint8Array(32).fill(2), columns: [4, 5] },
    ]
    expect(def.maxResponseChunks(ids)).toBe(5)
    expect(def.requestCost(ids)).toBe(5)
    expect(def.maxResponseChunks([])).toBe(0)
    const all = roots(128).map((blockRoot) => ({ blockRoot, columns: columns(128) }))
    expect(def.maxResponseChunks(all)).toBe(16384)
  })

  it('blob sidecars by root: the list length', () => {
    const def = getProtocol('blob_sidecars_by_root', 1)
    const ids = [0, 1, 2, 3].map((index) => ({ blockRoot: new Uint8Array(32), index }))
    expect(def.maxResponseChunks(ids)).toBe(4)
    expect(def.requestCost(ids)).toBe(4)
  })

  it('light-client updates by range: count capped at 128; the cost is the count', () => {
    const def = getProtocol('light_client_updates_by_range', 1)
    expect(def.maxResponseChunks({ startPeriod: 0, count: 5 })).toBe(5)
    expect(def.maxResponseChunks({ startPeriod: 0, count: 500 })).toBe(128)
    expect(def.requestCost({ startPeriod: 0, count: 500 })).toBe(500)
  })

  it.each([
    ['status', 1],
    ['status', 2],
    ['goodbye', 1],
    ['ping', 1],
    ['metadata', 2],
    ['metadata', 3],
    ['light_client_bootstrap', 1],
    ['light_client_finality_update', 1],
    ['light_client_optimistic_update', 1],
  ] as Array<[ProtocolName, number]>)('%s/%i: one chunk, cost 1', (name, version) => {
    const def = getProtocol(name, version)
    expect(def.maxResponseChunks(null)).toBe(1)
    expect(def.requestCost(null)).toBe(1)
  })

  it('blob sidecars by range: the count, capped at 1152 sidecars', () => {
    const def = getProtocol('blob_sidecars_by_range', 1)
    expect(def.maxResponseChunks({ startSlot: 0, count: 1_000 })).toBe(1152)
    expect(def.requestCost({ startSlot: 0, count: 7 })).toBe(7)
  })

  // deneb p2p-interface.md BlobSidecarsByRange v1: no more than count * MAX_BLOBS_PER_BLOCK sidecars.
  it('blob sidecars by range: at most count × MAX_BLOBS_PER_BLOCK_ELECTRA (9) sidecars', () => {
    expect(getProtocol('blob_sidecars_by_range', 1).maxResponseChunks({ startSlot: 0, count: 1 })).toBe(9)
  })
})

describe('response types', () => {
  it('handshake responses do not depend on the fork', () => {
    for (const fork of [ForkName.phase0, ForkName.deneb, ForkName.fulu]) {
      expect(getProtocol('status', 1).response(fork)).toBe(ssz.phase0.Status)
      expect(getProtocol('status', 2).response(fork)).toBe(ssz.fulu.Status)
      expect(getProtocol('ping', 1).response(fork)).toBe(ssz.phase0.Ping)
      expect(getProtocol('goodbye', 1).response(fork)).toBe(ssz.phase0.Goodbye)
    }
    expect(sszBounds(getProtocol('metadata', 2).response(ForkName.fulu))).toEqual({ minSize: 17, maxSize: 17 })
    expect(sszBounds(getProtocol('metadata', 3).response(ForkName.fulu))).toEqual({ minSize: 25, maxSize: 25 })
  })

  it('blocks follow the fork: deneb and fulu SignedBeaconBlock differ in maxSize', () => {
    for (const def of [getProtocol('beacon_blocks_by_range', 2), getProtocol('beacon_blocks_by_root', 2)]) {
      expect(def.response(ForkName.phase0)).toBe(ssz.phase0.SignedBeaconBlock)
      expect(def.response(ForkName.deneb)).toBe(ssz.deneb.SignedBeaconBlock)
      expect(def.response(ForkName.fulu)).toBe(ssz.fulu.SignedBeaconBlock)
      expect(def.response(ForkName.deneb).maxSize).not.toBe(def.response(ForkName.fulu).maxSize)
      expect(def.response(ForkName.fulu).maxSize).toBe(ssz.fulu.SignedBeaconBlock.maxSize)
    }
  })

  it('light-client types follow the fork: altair and capella LightClientBootstrap differ', () => {
    const bootstrap = getProtocol('light_client_bootstrap', 1)
    expect(bootstrap.response(ForkName.altair)).toBe(ssz.altair.LightClientBootstrap)
    expect(bootstrap.response(ForkName.capella)).toBe(ssz.capella.LightClientBootstrap)
    expect(bootstrap.response(ForkName.altair).maxSize).toBeLessThan(bootstrap.response(ForkName.capella).maxSize)
    expect(getProtocol('light_client_updates_by_range', 1).response(ForkName.deneb)).toBe(ssz.deneb.LightClientUpdate)
    expect(getProtocol('light_client_finality_update', 1).response(ForkName.electra)).toBe(
      ssz.electra.LightClientFinalityUpdate,
    )
    expect(getProtocol('light_client_optimistic_update', 1).response(ForkName.capella)).toBe(
      ssz.capella.LightClientOptimisticUpdate,
    )
  })

  it('sidecars: BlobSidecar for blobs, the fulu DataColumnSidecar for columns', () => {
    expect(getProtocol('blob_sidecars_by_range', 1).response(ForkName.electra)).toBe(ssz.deneb.BlobSidecar)
    expect(getProtocol('blob_sidecars_by_root', 1).response(ForkName.deneb)).toBe(ssz.deneb.BlobSidecar)
    expect(getProtocol('data_column_sidecars_by_range', 1).response(ForkName.fulu)).toBe(ssz.fulu.DataColumnSidecar)
    expect(getProtocol('data_column_sidecars_by_root', 1).response(ForkName.fulu)).toBe(ssz.fulu.DataColumnSidecar)
  })
})

describe('ResponseTypes (mainnet)', () => {
  const mainnet = loadNetworkPreset('mainnet')
  const forkSchedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
  const atEpoch = (epoch: number) =>
    new ResponseTypes({
      forkSchedule,
      clock: Clock.fromChainConfig(mainnet.config, mainnet.genesisTime, {
        now: () => (mainnet.genesisTime + epoch * 384) * 1000,
      }),
    })
  const digest = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
  const blocks = getProtocol('beacon_blocks_by_range', 2)

  it('chooses the type by the fork the context bytes name', () => {
    const types = atEpoch(420_000)
    expect(types.typeFor(blocks, digest('6a95a1a9'))).toBe(ssz.deneb.SignedBeaconBlock)
    expect(types.typeFor(blocks, digest('ad532ceb'))).toBe(ssz.electra.SignedBeaconBlock)
    // every Fulu digest (the fork and both BPO boundaries) is a fulu block
    for (const h of ['cc2c5cdb', 'cb0d1acc', '8c9f62fe'])
      expect(types.typeFor(blocks, digest(h))).toBe(ssz.fulu.SignedBeaconBlock)
    expect(types.boundsFor(blocks)(digest('b5303f2a'))).toEqual(sszBounds(ssz.phase0.SignedBeaconBlock))
  })

  it('throws UNKNOWN_CONTEXT_BYTES for a digest of no scheduled boundary', () => {
    const types = atEpoch(420_000)
    let thrown: unknown
    try {
      types.boundsFor(blocks)(digest('deadbeef'))
    } catch (e) {
      thrown = e
    }
    expect(isWireError(thrown, WireErrorCode.UNKNOWN_CONTEXT_BYTES)).toBe(true)
    expect((thrown as Error).message).toContain('deadbeef')
  })

  it('throws UNKNOWN_CONTEXT_BYTES for a digest of a fork before the protocol existed (envelopes at Fulu)', () => {
    const envelopes = getProtocol('execution_payload_envelopes_by_range', 1)
    let thrown: unknown
    try {
      atEpoch(420_000).boundsFor(envelopes)(digest('8c9f62fe'))
    } catch (e) {
      thrown = e
    }
    expect(isWireError(thrown, WireErrorCode.UNKNOWN_CONTEXT_BYTES)).toBe(true)
    expect((thrown as Error).message).toContain('fulu')
  })

  it('without context bytes uses the wall-clock fork; the current digest follows the clock', () => {
    const status = getProtocol('status', 2)
    expect(atEpoch(420_000).typeFor(status, null)).toBe(ssz.fulu.Status)
    expect(atEpoch(300_000).currentFork()).toBe('deneb')
    expect(atEpoch(420_000).currentFork()).toBe('fulu')
    expect(Buffer.from(atEpoch(300_000).currentDigest()).toString('hex')).toBe('6a95a1a9')
    expect(Buffer.from(atEpoch(420_000).currentDigest()).toString('hex')).toBe('8c9f62fe')
  })
})
