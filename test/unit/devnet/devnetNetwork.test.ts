import { createHash } from 'node:crypto'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { parseChainConfig } from '../../../src/chain/chainConfig.js'
import { computeForkDigest } from '../../../src/chain/forkDigest.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import {
  DEVNET_GENESIS_VALIDATORS_ROOT,
  devnetChainConfigYaml,
  devnetNetwork,
} from '../../../src/devnet/devnetNetwork.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const u64le = (value: number): Buffer => {
  const out = Buffer.alloc(8)
  out.writeBigUInt64LE(BigInt(value))
  return out
}

const network = devnetNetwork({ genesisTime: 1_700_000_000 })
const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)

describe('devnetNetwork', () => {
  it('is a mainnet-preset chain named contower-devnet with 2 s slots by default', () => {
    expect(network.name).toBe('contower-devnet')
    expect(network.genesisTime).toBe(1_700_000_000)
    expect(network.config).toMatchObject({
      presetBase: 'mainnet',
      configName: 'contower-devnet',
      slotsPerEpoch: 32,
      slotDurationMs: 2000,
      secondsPerSlot: 2,
      fuluForkEpoch: 0,
      electraForkEpoch: 0,
    })
    expect(devnetNetwork({ genesisTime: 0, slotSeconds: 6 }).config.slotDurationMs).toBe(6000)
  })

  it('activates phase0 … fulu at epoch 0 with distinct versions and leaves gloas unscheduled', () => {
    const forks = network.config.forks.map((f) => [f.name, hex(f.version), f.epoch])
    expect(forks).toEqual([
      ['phase0', '00c0ffee', 0],
      ['altair', '01c0ffee', 0],
      ['bellatrix', '02c0ffee', 0],
      ['capella', '03c0ffee', 0],
      ['deneb', '04c0ffee', 0],
      ['electra', '05c0ffee', 0],
      ['fulu', '06c0ffee', 0],
      ['gloas', '07c0ffee', Number.POSITIVE_INFINITY],
    ])
  })

  it('schedules gloas when given its epoch: a boundary of its own there', () => {
    const gloas = devnetNetwork({ genesisTime: 1_700_000_000, forkEpochs: { GLOAS: 3 } })
    expect(gloas.config.forks.at(-1)).toMatchObject({ name: 'gloas', epoch: 3 })
    const schedule = new ForkSchedule(gloas.config, gloas.genesisValidatorsRoot)
    expect(schedule.forkAtEpoch(2).name).toBe('fulu')
    expect(schedule.forkAtEpoch(3).name).toBe('gloas')
    expect(hex(schedule.digestAtEpoch(3))).not.toBe(hex(schedule.digestAtEpoch(2)))
  })

  it('uses sha256 of a fixed label as genesis validators root, and hands out a copy', () => {
    const expected = createHash('sha256').update('contower-devnet genesis validators root').digest()
    expect(hex(network.genesisValidatorsRoot)).toBe(expected.toString('hex'))
    devnetNetwork({ genesisTime: 0 }).genesisValidatorsRoot.fill(0)
    expect(hex(devnetNetwork({ genesisTime: 0 }).genesisValidatorsRoot)).toBe(expected.toString('hex'))
    expect(hex(DEVNET_GENESIS_VALIDATORS_ROOT)).toBe(expected.toString('hex'))
  })

  it('parses to the same config from the YAML it publishes for --chain-config', () => {
    const fromText = parseChainConfig(devnetChainConfigYaml(), 'devnet.yaml')
    expect({ ...fromText, values: null, source: null }).toEqual({ ...network.config, values: null, source: null })
  })

  it('rejects slot durations and genesis times that are not non-negative integers', () => {
    expect(() => devnetNetwork({ genesisTime: 0, slotSeconds: 0 })).toThrow(RangeError)
    expect(() => devnetNetwork({ genesisTime: 0, slotSeconds: 1.5 })).toThrow(RangeError)
    expect(() => devnetNetwork({ genesisTime: -1 })).toThrow(RangeError)
  })
})

describe('devnet fork schedule', () => {
  const gvr = DEVNET_GENESIS_VALIDATORS_ROOT

  it('has one boundary: fulu from epoch 0, with the Electra blob limit', () => {
    expect(schedule.boundaries).toHaveLength(1)
    expect(schedule.forkAtEpoch(0).name).toBe('fulu')
    expect(schedule.forkAtEpoch(1_000_000).name).toBe('fulu')
    expect(schedule.boundaries[0]!.blobParams).toEqual({ epoch: 0, maxBlobsPerBlock: 9 })
    expect(schedule.nextBoundary(0)).toBeNull()
  })

  it('has a stable fulu digest equal to compute_fork_digest of its inputs', () => {
    const digest = schedule.digestAtEpoch(0)
    expect(digest).toEqual(computeForkDigest(network.config, gvr, 0))
    // The spec formula, with the fork data root from Lodestar's own ForkData type.
    const base = ssz.phase0.ForkData.hashTreeRoot({
      currentVersion: Uint8Array.from([0x06, 0xc0, 0xff, 0xee]),
      genesisValidatorsRoot: gvr,
    })
    const mask = createHash('sha256').update(u64le(0)).update(u64le(9)).digest()
    expect(hex(digest)).toBe(hex(base.slice(0, 4).map((b, i) => b ^ mask[i]!)))
    expect(hex(digest)).toBe('b440e085')
  })

  it('shares no digest with a public network', () => {
    for (const name of ['mainnet', 'sepolia', 'hoodi'] as const) {
      const preset = loadNetworkPreset(name)
      const other = new ForkSchedule(preset.config, preset.genesisValidatorsRoot)
      expect(other.forkForDigest(schedule.digestAtEpoch(0))).toBeNull()
    }
  })
})
