import { describe, expect, it } from 'vitest'
import { parseChainConfig } from '../../../src/chain/chainConfig.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))

const mainnet = loadNetworkPreset('mainnet')
const schedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)

describe('ForkSchedule (mainnet)', () => {
  it('lists every fork and BLOB_SCHEDULE epoch as a digest boundary', () => {
    expect(schedule.boundaries.map((b) => [b.epoch, b.fork.name, b.digestHex])).toEqual([
      [0, 'phase0', 'b5303f2a'],
      [74240, 'altair', 'afcaaba0'],
      [144896, 'bellatrix', '4a26c58b'],
      [194048, 'capella', 'bba4da96'],
      [269568, 'deneb', '6a95a1a9'],
      [364032, 'electra', 'ad532ceb'],
      [411392, 'fulu', 'cc2c5cdb'],
      [412672, 'fulu', 'cb0d1acc'],
      [419072, 'fulu', '8c9f62fe'],
    ])
    expect(schedule.boundaries.at(-1)!.endEpoch).toBe(Number.POSITIVE_INFINITY)
    expect(schedule.boundaries[6]!.blobParams).toEqual({ epoch: 364032, maxBlobsPerBlock: 9 })
    expect(schedule.boundaries[5]!.blobParams).toBeNull()
  })

  it('forkAtEpoch returns name, version and activation epoch', () => {
    expect(schedule.forkAtEpoch(0)).toEqual({ name: 'phase0', version: fromHex('00000000'), epoch: 0 })
    expect(schedule.forkAtEpoch(74239).name).toBe('phase0')
    expect(schedule.forkAtEpoch(74240).name).toBe('altair')
    expect(schedule.forkAtEpoch(419072)).toEqual({ name: 'fulu', version: fromHex('06000000'), epoch: 411392 })
  })

  it('forkForDigest round-trips every boundary and rejects unknown digests', () => {
    for (const boundary of schedule.boundaries) {
      const found = schedule.forkForDigest(boundary.digest)
      expect(found).toBe(boundary)
      expect(schedule.digestAtEpoch(found!.epoch)).toEqual(boundary.digest)
      expect(schedule.forkForDigestHex(`0x${boundary.digestHex.toUpperCase()}`)).toBe(boundary)
    }
    expect(schedule.forkForDigest(fromHex('cb0d1acc'))).toMatchObject({ epoch: 412672, endEpoch: 419072 })
    expect(schedule.forkForDigest(fromHex('00000000'))).toBeNull()
    expect(schedule.forkForDigest(fromHex('8c9f62fe00'))).toBeNull()
  })

  it('nextBoundary and nextForkDigest (nfd) see regular and blob-parameters-only forks', () => {
    expect(schedule.nextBoundary(364032)!.epoch).toBe(411392)
    expect(schedule.nextBoundary(411392)!.epoch).toBe(412672)
    expect(schedule.nextBoundary(419071)!.epoch).toBe(419072)
    expect(schedule.nextBoundary(419072)).toBeNull()
    expect(hex(schedule.nextForkDigest(411392))).toBe('cb0d1acc')
    expect(hex(schedule.nextForkDigest(419072))).toBe('00000000')
  })

  it('enrForkId before a regular fork: next version and epoch of that fork', () => {
    // ad532ceb ‖ 06000000 ‖ u64le(411392)
    expect(hex(schedule.enrForkId(364032))).toBe('ad532ceb' + '06000000' + '0047060000000000')
  })

  it('enrForkId before a blob-parameters-only fork: version unchanged, epoch of the BPO fork', () => {
    // cc2c5cdb ‖ 06000000 ‖ u64le(412672)
    expect(hex(schedule.enrForkId(411392))).toBe('cc2c5cdb' + '06000000' + '004c060000000000')
  })

  it('enrForkId with nothing scheduled: current version and FAR_FUTURE_EPOCH', () => {
    const bytes = schedule.enrForkId(500000)
    expect(bytes.length).toBe(16)
    expect(hex(bytes)).toBe('8c9f62fe' + '06000000' + 'ffffffffffffffff')
  })

  it('rejects bad epochs and roots', () => {
    expect(() => schedule.digestAtEpoch(-1)).toThrow(RangeError)
    expect(() => schedule.nextBoundary(Number.NaN)).toThrow(RangeError)
    expect(() => new ForkSchedule(mainnet.config, new Uint8Array(31))).toThrow(/32 bytes/)
  })
})

describe('ForkSchedule (other configs)', () => {
  it('hoodi: forks sharing epoch 0 give one boundary, the latest fork', () => {
    const hoodi = loadNetworkPreset('hoodi')
    const s = new ForkSchedule(hoodi.config, hoodi.genesisValidatorsRoot)
    expect(s.boundaries[0]).toMatchObject({ epoch: 0, fork: { name: 'deneb' } })
    expect(s.boundaries.map((b) => b.epoch)).toEqual([0, 2048, 50688, 52480, 54016])
  })

  it('a scheduled future fork (known or unknown) becomes a boundary without code changes', () => {
    const text = `
PRESET_BASE: minimal
GENESIS_FORK_VERSION: 0x00000001
ELECTRA_FORK_VERSION: 0x05000001
ELECTRA_FORK_EPOCH: 0
FULU_FORK_VERSION: 0x06000001
FULU_FORK_EPOCH: 2
GLOAS_FORK_VERSION: 0x07000001
GLOAS_FORK_EPOCH: 10
ZETA_FORK_VERSION: 0x09000001
ZETA_FORK_EPOCH: 20
SLOT_DURATION_MS: 6000
MAX_BLOBS_PER_BLOCK_ELECTRA: 9
BLOB_SCHEDULE:
  - EPOCH: 5
    MAX_BLOBS_PER_BLOCK: 12
  - EPOCH: 10
    MAX_BLOBS_PER_BLOCK: 15
`
    const s = new ForkSchedule(parseChainConfig(text, 'devnet.yaml'), new Uint8Array(32).fill(7))
    expect(s.boundaries.map((b) => [b.epoch, b.fork.name])).toEqual([
      [0, 'electra'],
      [2, 'fulu'],
      [5, 'fulu'],
      [10, 'gloas'],
      [20, 'zeta'],
    ])
    expect(new Set(s.boundaries.map((b) => b.digestHex)).size).toBe(5)
    // Gloas and a BPO at the same epoch: a regular fork, so the ENR's next version is Gloas's.
    expect(hex(s.enrForkId(5)).slice(8)).toBe('07000001' + '0a00000000000000')
    expect(s.boundaries[4]!.blobParams).toEqual({ epoch: 10, maxBlobsPerBlock: 15 })
  })
})
