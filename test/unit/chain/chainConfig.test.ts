import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { forkAtEpoch, parseChainConfig } from '../../../src/chain/chainConfig.js'
import { ChainConfigError, ChainConfigErrorCode } from '../../../src/chain/errors.js'
import { loadChainConfigFile, loadNetworkPreset, networkConfigDir } from '../../../src/chain/networks.js'

const BASE = `
PRESET_BASE: 'minimal'
CONFIG_NAME: 'devnet-7'
GENESIS_FORK_VERSION: 0x10000038
ALTAIR_FORK_VERSION: 0x20000038
ALTAIR_FORK_EPOCH: 0
ELECTRA_FORK_VERSION: 0x60000038
ELECTRA_FORK_EPOCH: 0
FULU_FORK_VERSION: 0x70000038
FULU_FORK_EPOCH: 4
GLOAS_FORK_VERSION: 0x80000038
GLOAS_FORK_EPOCH: 18446744073709551615
SLOT_DURATION_MS: 6000
MAX_BLOBS_PER_BLOCK_ELECTRA: 9
MAXIMUM_GOSSIP_CLOCK_DISPARITY: 250
BLOB_SCHEDULE: []
`

/** Replace the line starting with `key:` (or add it); `null` removes it. */
function withKey(key: string, value: string | null): string {
  const lines = BASE.split('\n').filter((l) => !l.startsWith(`${key}:`))
  return [...lines, ...(value === null ? [] : [`${key}: ${value}`])].join('\n')
}

function parseError(text: string): ChainConfigError {
  try {
    parseChainConfig(text, '/etc/contower/devnet.yaml')
  } catch (err) {
    expect(err).toBeInstanceOf(ChainConfigError)
    return err as ChainConfigError
  }
  throw new Error('expected a ChainConfigError')
}

describe('parseChainConfig', () => {
  it('reads a minimal-preset devnet config with an unknown future fork', () => {
    const config = parseChainConfig(`${BASE}\nZETA_FORK_VERSION: 0x90000038\nZETA_FORK_EPOCH: 40\n`, 'devnet.yaml')
    expect(config).toMatchObject({
      presetBase: 'minimal',
      configName: 'devnet-7',
      slotsPerEpoch: 8,
      slotDurationMs: 6000,
      secondsPerSlot: 6,
      maximumGossipClockDisparityMs: 250,
      electraForkEpoch: 0,
      fuluForkEpoch: 4,
      maxBlobsPerBlockElectra: 9,
      blobSchedule: [],
    })
    // Sorted by epoch, ties in spec order, unscheduled last.
    expect(config.forks.map((f) => [f.name, f.epoch])).toEqual([
      ['phase0', 0],
      ['altair', 0],
      ['electra', 0],
      ['fulu', 4],
      ['zeta', 40],
      ['gloas', Number.POSITIVE_INFINITY],
    ])
    expect(forkAtEpoch(config, 0).name).toBe('electra')
    expect(forkAtEpoch(config, 39).name).toBe('fulu')
    expect(Buffer.from(forkAtEpoch(config, 40).version).toString('hex')).toBe('90000038')
  })

  it('treats any X_FORK_VERSION + X_FORK_EPOCH pair as a fork, even one it has never heard of', () => {
    const config = parseChainConfig(`${BASE}\nEIP9999_FORK_VERSION: 0xa0000038\nEIP9999_FORK_EPOCH: 6\n`, 'x')
    expect(forkAtEpoch(config, 6)).toMatchObject({ name: 'eip9999', epoch: 6 })
  })

  it('accepts SECONDS_PER_SLOT alone, sorts BLOB_SCHEDULE and keeps other keys readable', () => {
    const text = withKey('SLOT_DURATION_MS', null)
      .replace(
        'BLOB_SCHEDULE: []',
        'BLOB_SCHEDULE:\n  - EPOCH: 9\n    MAX_BLOBS_PER_BLOCK: 15\n  - EPOCH: 5\n    MAX_BLOBS_PER_BLOCK: 12',
      )
      .concat('\nSECONDS_PER_SLOT: 12\nMAX_REQUEST_BLOCKS_DENEB: 128\n')
    const config = parseChainConfig(text, 'x')
    expect(config.slotDurationMs).toBe(12000)
    expect(config.blobSchedule).toEqual([
      { epoch: 5, maxBlobsPerBlock: 12 },
      { epoch: 9, maxBlobsPerBlock: 15 },
    ])
    expect(config.values.uint('MAX_REQUEST_BLOCKS_DENEB')).toBe(128)
  })

  it.each([
    ['bad hex', 'GENESIS_FORK_VERSION', '0x1000003g', ChainConfigErrorCode.INVALID_VALUE, /4 bytes/],
    ['short hex', 'ALTAIR_FORK_VERSION', '0x200000', ChainConfigErrorCode.INVALID_VALUE, /8 hex digits/],
    ['epoch ≥ 2^53', 'FULU_FORK_EPOCH', '9007199254740992', ChainConfigErrorCode.INVALID_VALUE, /2\^53/],
    ['epoch beyond u64', 'FULU_FORK_EPOCH', '18446744073709551616', ChainConfigErrorCode.INVALID_VALUE, /2\^53/],
    ['negative epoch', 'ALTAIR_FORK_EPOCH', '-1', ChainConfigErrorCode.INVALID_VALUE, /decimal epoch/],
    ['unknown preset', 'PRESET_BASE', 'gnosis', ChainConfigErrorCode.INVALID_VALUE, /mainnet, minimal/],
    ['hex epoch', 'FULU_FORK_EPOCH', '0x10', ChainConfigErrorCode.INVALID_VALUE, /decimal/],
    ['slot duration mismatch', 'SECONDS_PER_SLOT', '12', ChainConfigErrorCode.INVALID_VALUE, /12000/],
  ])('rejects %s, naming key and value', (_case, key, value, code, expected) => {
    const err = parseError(withKey(key, value))
    expect(err.code).toBe(code)
    const errKey = key === 'SECONDS_PER_SLOT' ? 'SLOT_DURATION_MS' : key
    expect(err.key).toBe(errKey)
    expect(err.message).toContain('/etc/contower/devnet.yaml')
    expect(err.message).toContain(errKey)
    expect(err.message).toMatch(expected)
    if (key !== 'SECONDS_PER_SLOT') expect(err.value).toBe(value)
  })

  it('rejects a known fork scheduled before the fork it builds on', () => {
    const err = parseError(withKey('ALTAIR_FORK_EPOCH', '5'))
    expect(err).toMatchObject({ key: 'ELECTRA_FORK_EPOCH', value: '0' })
    expect(err.message).toMatch(/at or after altair/)
  })

  it.each([
    ['PRESET_BASE', 'PRESET_BASE'],
    ['GENESIS_FORK_VERSION', 'GENESIS_FORK_VERSION'],
    ['FULU_FORK_EPOCH', 'FULU_FORK_EPOCH'],
    ['FULU_FORK_VERSION', 'FULU_FORK_VERSION'],
    ['SLOT_DURATION_MS', 'SLOT_DURATION_MS'],
    ['MAX_BLOBS_PER_BLOCK_ELECTRA', 'MAX_BLOBS_PER_BLOCK_ELECTRA'],
  ])('rejects a config without %s', (removed, key) => {
    const err = parseError(withKey(removed, null))
    expect(err).toMatchObject({ code: ChainConfigErrorCode.MISSING_KEY, key, value: undefined })
    expect(err.message).toContain(`missing key ${key}`)
  })

  it('rejects malformed BLOB_SCHEDULE entries by index', () => {
    const text = BASE.replace('BLOB_SCHEDULE: []', 'BLOB_SCHEDULE:\n  - EPOCH: 5\n    MAX_BLOBS_PER_BLOCK: lots')
    expect(parseError(text)).toMatchObject({ key: 'BLOB_SCHEDULE[0].MAX_BLOBS_PER_BLOCK', value: 'lots' })
    const dup = BASE.replace(
      'BLOB_SCHEDULE: []',
      'BLOB_SCHEDULE:\n  - {EPOCH: 5, MAX_BLOBS_PER_BLOCK: 12}\n  - {EPOCH: 5, MAX_BLOBS_PER_BLOCK: 15}',
    )
    expect(parseError(dup)).toMatchObject({ key: 'BLOB_SCHEDULE[1].EPOCH' })
    expect(parseError(withKey('BLOB_SCHEDULE', '5'))).toMatchObject({ key: 'BLOB_SCHEDULE' })
  })

  it('rejects text that is not a YAML mapping', () => {
    expect(parseError('PRESET_BASE: [unclosed').code).toBe(ChainConfigErrorCode.INVALID_YAML)
    expect(parseError('- a\n- b\n').code).toBe(ChainConfigErrorCode.INVALID_YAML)
    expect(parseError('').code).toBe(ChainConfigErrorCode.INVALID_YAML)
  })
})

describe('network presets', () => {
  it('resolves config/networks relative to the package root', () => {
    expect(existsSync(`${networkConfigDir()}mainnet.yaml`)).toBe(true)
  })

  it.each(['mainnet', 'sepolia', 'hoodi'] as const)('loads %s with its genesis facts', (name) => {
    const preset = loadNetworkPreset(name)
    expect(preset.config.configName).toBe(name)
    expect(preset.config.presetBase).toBe('mainnet')
    expect(preset.config.slotsPerEpoch).toBe(32)
    expect(preset.config.slotDurationMs).toBe(12000)
    expect(preset.genesisValidatorsRoot.length).toBe(32)
    expect(preset.genesisTime).toBeGreaterThan(1_600_000_000)
  })

  it('mainnet genesis facts match the spec', () => {
    const { genesisTime, genesisValidatorsRoot } = loadNetworkPreset('mainnet')
    expect(genesisTime).toBe(1606824023)
    expect(Buffer.from(genesisValidatorsRoot).toString('hex')).toBe(
      '4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95',
    )
  })

  it('reports an unknown network or a missing file', () => {
    expect(() => loadNetworkPreset('holesky' as 'mainnet')).toThrow(/one of mainnet, sepolia, hoodi/)
    expect(() => loadChainConfigFile('/nonexistent/config.yaml')).toThrow(
      expect.objectContaining({ code: ChainConfigErrorCode.READ_FAILED, source: '/nonexistent/config.yaml' }),
    )
  })
})
