import { ByteVectorType, ContainerType } from '@chainsafe/ssz'
import { computeForkDigest as lodestarForkDigest, createChainForkConfig } from '@lodestar/config'
import { sepoliaChainConfig } from '@lodestar/config/networks'
import { describe, expect, it } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import {
  computeForkDataRoot,
  computeForkDigest,
  forkDigestToHex,
  getBlobParameters,
} from '../../../src/chain/forkDigest.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'

const mainnet = loadNetworkPreset('mainnet')
const digestAt = (epoch: number): string =>
  forkDigestToHex(computeForkDigest(mainnet.config, mainnet.genesisValidatorsRoot, epoch))

/** docs/eth2-p2p.md section 5: mainnet fork epochs and digests. */
const MAINNET_VECTORS = [
  { name: 'phase0', epoch: 0, digest: 'b5303f2a' },
  { name: 'altair', epoch: 74240, digest: 'afcaaba0' },
  { name: 'bellatrix', epoch: 144896, digest: '4a26c58b' },
  { name: 'capella', epoch: 194048, digest: 'bba4da96' },
  { name: 'deneb', epoch: 269568, digest: '6a95a1a9' },
  { name: 'electra', epoch: 364032, digest: 'ad532ceb' },
  { name: 'fulu', epoch: 411392, digest: 'cc2c5cdb' },
  { name: 'fulu (BPO1)', epoch: 412672, digest: 'cb0d1acc' },
  { name: 'fulu (BPO2)', epoch: 419072, digest: '8c9f62fe' },
]

/** 2026-11-21T00:00:00Z */
const NOV_21_2026_MS = Date.UTC(2026, 10, 21)

describe('computeForkDigest', () => {
  for (const v of MAINNET_VECTORS) {
    it(`mainnet ${v.name} at epoch ${v.epoch} is ${v.digest}`, () => {
      expect(digestAt(v.epoch)).toBe(v.digest)
    })
  }

  it('holds each digest until the next boundary', () => {
    for (let i = 1; i < MAINNET_VECTORS.length; i++) {
      expect(digestAt(MAINNET_VECTORS[i]!.epoch - 1)).toBe(MAINNET_VECTORS[i - 1]!.digest)
    }
    expect(digestAt(10_000_000)).toBe('8c9f62fe')
  })

  // Sepolia's before Gloas is docs/eth2-p2p.md's; its Gloas digest is Lodestar's computeForkDigest (below).
  it.each([
    ['mainnet', '8c9f62fe', 'fulu'],
    ['sepolia', '669e6c11', 'gloas'],
    ['hoodi', 'c6ecb76c', 'fulu'],
  ] as const)('%s digest at the 2026-11-21 wall clock is %s (%s)', (name, expected, fork) => {
    const preset = loadNetworkPreset(name)
    const clock = Clock.fromChainConfig(preset.config, preset.genesisTime, { now: () => NOV_21_2026_MS })
    const schedule = new ForkSchedule(preset.config, preset.genesisValidatorsRoot)
    expect(schedule.digestHexAtEpoch(clock.currentEpoch)).toBe(expected)
    expect(schedule.forkAtEpoch(clock.currentEpoch).name).toBe(fork)
  })

  it('sepolia: 74d01459 until Gloas at epoch 353024, then the digest Lodestar computes for it', () => {
    const sepolia = loadNetworkPreset('sepolia')
    const lodestar = createChainForkConfig({ ...sepoliaChainConfig, GLOAS_FORK_EPOCH: 353024 })
    const ours = (epoch: number) =>
      forkDigestToHex(computeForkDigest(sepolia.config, sepolia.genesisValidatorsRoot, epoch))
    const theirs = (epoch: number) =>
      forkDigestToHex(lodestarForkDigest(lodestar, sepolia.genesisValidatorsRoot, epoch))
    expect(ours(353023)).toBe('74d01459')
    for (const epoch of [272640, 274176, 275712, 353023, 353024]) expect(ours(epoch)).toBe(theirs(epoch))
    expect(ours(353024)).not.toBe('74d01459')
  })

  it('rejects a fractional or negative epoch', () => {
    expect(() => digestAt(-1)).toThrow(RangeError)
    expect(() => digestAt(1.5)).toThrow(RangeError)
  })
})

describe('computeForkDataRoot', () => {
  it('equals hash_tree_root(ForkData) computed by @chainsafe/ssz', () => {
    const ForkData = new ContainerType({
      currentVersion: new ByteVectorType(4),
      genesisValidatorsRoot: new ByteVectorType(32),
    })
    const version = Uint8Array.from([0x90, 0x00, 0x00, 0x75])
    const root = mainnet.genesisValidatorsRoot
    const expected = ForkData.hashTreeRoot({ currentVersion: version, genesisValidatorsRoot: root })
    expect(computeForkDataRoot(version, root)).toEqual(expected)
  })

  it('checks input lengths', () => {
    expect(() => computeForkDataRoot(new Uint8Array(3), new Uint8Array(32))).toThrow(/4 bytes/)
    expect(() => computeForkDataRoot(new Uint8Array(4), new Uint8Array(31))).toThrow(/32 bytes/)
  })
})

describe('getBlobParameters', () => {
  it('falls back to (ELECTRA_FORK_EPOCH, MAX_BLOBS_PER_BLOCK_ELECTRA) before the first BLOB_SCHEDULE entry', () => {
    expect(getBlobParameters(mainnet.config, 411392)).toEqual({ epoch: 364032, maxBlobsPerBlock: 9 })
  })

  it('takes the latest entry at or before the epoch', () => {
    expect(getBlobParameters(mainnet.config, 412671)).toEqual({ epoch: 364032, maxBlobsPerBlock: 9 })
    expect(getBlobParameters(mainnet.config, 412672)).toEqual({ epoch: 412672, maxBlobsPerBlock: 15 })
    expect(getBlobParameters(mainnet.config, 419071)).toEqual({ epoch: 412672, maxBlobsPerBlock: 15 })
    expect(getBlobParameters(mainnet.config, 419072)).toEqual({ epoch: 419072, maxBlobsPerBlock: 21 })
  })
})
