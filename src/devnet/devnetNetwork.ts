import { createHash } from 'node:crypto'
import { parseChainConfig } from '../chain/chainConfig.js'
import { FAR_FUTURE_EPOCH_U64 } from '../chain/configValues.js'
import type { Network } from '../chain/resolveNetwork.js'

/** Name of the local devnet, as CONFIG_NAME and Network.name. */
export const DEVNET_CONFIG_NAME = 'contower-devnet'

/**
 * Genesis validators root of every devnet: sha256 of this label. The devnet has no genesis state to hash, and a
 * fixed root keeps fork digests (and so topics and Status) identical across runs and processes.
 */
export const DEVNET_GENESIS_VALIDATORS_ROOT_LABEL = 'contower-devnet genesis validators root'
export const DEVNET_GENESIS_VALIDATORS_ROOT = new Uint8Array(
  createHash('sha256').update(DEVNET_GENESIS_VALIDATORS_ROOT_LABEL).digest(),
)

/**
 * Fork versions: first byte = fork index as on mainnet (0x00 phase0 … 0x06 fulu), then `c0ffee`, so no digest
 * collides with a public network's. Every fork through Fulu is active from genesis; Gloas only when given an epoch.
 */
export const DEVNET_FORKS = [
  { name: 'GENESIS', version: '0x00c0ffee', scheduled: true },
  { name: 'ALTAIR', version: '0x01c0ffee', scheduled: true },
  { name: 'BELLATRIX', version: '0x02c0ffee', scheduled: true },
  { name: 'CAPELLA', version: '0x03c0ffee', scheduled: true },
  { name: 'DENEB', version: '0x04c0ffee', scheduled: true },
  { name: 'ELECTRA', version: '0x05c0ffee', scheduled: true },
  { name: 'FULU', version: '0x06c0ffee', scheduled: true },
  { name: 'GLOAS', version: '0x07c0ffee', scheduled: false },
] as const

/** electra beacon-chain.md value; with an empty BLOB_SCHEDULE, Fulu digests use (ELECTRA_FORK_EPOCH = 0, 9). */
const MAX_BLOBS_PER_BLOCK_ELECTRA = 9

/** What a devnet chain config may change: slot length, preset, and the epoch of each fork after phase0. */
export interface DevnetChainOpts {
  slotSeconds?: number
  /** A slot length that need not be whole seconds (SLOT_DURATION_MS only); wins over slotSeconds. */
  slotDurationMs?: number
  presetBase?: 'mainnet' | 'minimal'
  /** Fork epochs by config name (ALTAIR … GLOAS); forks not named are active from genesis, Gloas never. */
  forkEpochs?: Partial<Record<(typeof DEVNET_FORKS)[number]['name'], number>>
}

export interface DevnetNetworkOpts extends DevnetChainOpts {
  /** Unix seconds of slot 0. */
  genesisTime: number
}

export const DEVNET_NETWORK_DEFAULTS = {
  // Short slots make a demo or an e2e test see new heads quickly, while leaving time to relay a 100 KB block.
  slotSeconds: 2,
}

/**
 * consensus-specs style config.yaml of the devnet, the text `devnetNetwork` parses; write it to a file to start
 * Contower (or any client) with `--network custom --chain-config`.
 */
export function devnetChainConfigYaml(opts: DevnetChainOpts = {}): string {
  const slotSeconds = opts.slotSeconds ?? DEVNET_NETWORK_DEFAULTS.slotSeconds
  if (!Number.isSafeInteger(slotSeconds) || slotSeconds <= 0) {
    throw new RangeError(`slotSeconds must be a positive integer: ${slotSeconds}`)
  }
  const slotMs = opts.slotDurationMs ?? slotSeconds * 1000
  if (!Number.isSafeInteger(slotMs) || slotMs <= 0) {
    throw new RangeError(`slotDurationMs must be a positive integer: ${slotMs}`)
  }
  const lines = [
    `# ${DEVNET_CONFIG_NAME}: Contower's local devnet, every fork through Fulu active from genesis unless moved.`,
    `PRESET_BASE: "${opts.presetBase ?? 'mainnet'}"`,
    `CONFIG_NAME: "${DEVNET_CONFIG_NAME}"`,
    '',
  ]
  for (const fork of DEVNET_FORKS) {
    lines.push(`${fork.name}_FORK_VERSION: ${fork.version}`)
    // The genesis fork's epoch is 0 by definition; the spec has no GENESIS_FORK_EPOCH key.
    if (fork.name === 'GENESIS') continue
    const epoch = opts.forkEpochs?.[fork.name] ?? (fork.scheduled ? 0 : FAR_FUTURE_EPOCH_U64)
    lines.push(`${fork.name}_FORK_EPOCH: ${epoch}`)
  }
  lines.push(
    '',
    // SECONDS_PER_SLOT only when the slot is whole seconds: both keys must agree.
    ...(slotMs % 1000 === 0 ? [`SECONDS_PER_SLOT: ${slotMs / 1000}`] : []),
    `SLOT_DURATION_MS: ${slotMs}`,
    'MAXIMUM_GOSSIP_CLOCK_DISPARITY: 500',
    `MAX_BLOBS_PER_BLOCK_ELECTRA: ${MAX_BLOBS_PER_BLOCK_ELECTRA}`,
    'BLOB_SCHEDULE: []',
    '',
  )
  return lines.join('\n')
}

/** The devnet as a Network: chain config parsed from `devnetChainConfigYaml`, fixed genesis validators root. */
export function devnetNetwork(opts: DevnetNetworkOpts): Network {
  if (!Number.isSafeInteger(opts.genesisTime) || opts.genesisTime < 0) {
    throw new RangeError(`genesisTime must be a non-negative integer (unix seconds): ${opts.genesisTime}`)
  }
  const config = parseChainConfig(devnetChainConfigYaml(opts), DEVNET_CONFIG_NAME)
  return {
    name: DEVNET_CONFIG_NAME,
    config,
    genesisTime: opts.genesisTime,
    genesisValidatorsRoot: DEVNET_GENESIS_VALIDATORS_ROOT.slice(),
  }
}
