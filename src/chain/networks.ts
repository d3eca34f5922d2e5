import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../version.js'
import { type ChainConfig, parseChainConfig } from './chainConfig.js'
import { ConfigValues, parseSafeUint, parseYamlMapping } from './configValues.js'
import { ChainConfigError, ChainConfigErrorCode } from './errors.js'
import { ROOT_BYTES } from './forkDigest.js'
import type { GenesisData } from './genesis.js'

/** Networks shipped as data in `config/networks/`. */
export const NETWORK_PRESET_NAMES = ['mainnet', 'sepolia', 'hoodi'] as const
export type NetworkPresetName = (typeof NETWORK_PRESET_NAMES)[number]

export interface NetworkPreset extends GenesisData {
  readonly name: NetworkPresetName
  readonly config: ChainConfig
}

/** `config/networks/` of the package (with a trailing separator). */
export function networkConfigDir(): string {
  return join(PACKAGE_ROOT, 'config', 'networks') + '/'
}

/** Load a shipped network: `{name}.yaml` (consensus-specs config.yaml) and `{name}.genesis.yaml`. */
export function loadNetworkPreset(name: NetworkPresetName, dir = networkConfigDir()): NetworkPreset {
  if (!NETWORK_PRESET_NAMES.includes(name)) {
    throw new ChainConfigError(
      ChainConfigErrorCode.INVALID_VALUE,
      'network',
      'network',
      String(name),
      `one of ${NETWORK_PRESET_NAMES.join(', ')}`,
    )
  }
  const config = loadChainConfigFile(`${dir}${name}.yaml`)
  const genesisPath = `${dir}${name}.genesis.yaml`
  return { name, config, ...parseGenesisYaml(readText(genesisPath), genesisPath) }
}

/** Read and parse a consensus-specs config.yaml (e.g. `--chain-config` of a custom network). */
export function loadChainConfigFile(path: string): ChainConfig {
  return parseChainConfig(readText(path), path)
}

/**
 * Parse a `{name}.genesis.yaml`: `GENESIS_TIME` (unix seconds) and `GENESIS_VALIDATORS_ROOT` (0x + 64 hex),
 * the two genesis-state facts the p2p layer needs.
 */
export function parseGenesisYaml(yamlText: string, source: string): GenesisData {
  const values = new ConfigValues(source, parseYamlMapping(yamlText, source))
  return {
    genesisTime: parseSafeUint(source, 'GENESIS_TIME', values.string('GENESIS_TIME', 'unix seconds')),
    genesisValidatorsRoot: values.bytes('GENESIS_VALIDATORS_ROOT', ROOT_BYTES),
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(err)
    throw new ChainConfigError(ChainConfigErrorCode.READ_FAILED, path, '', reason, 'a readable config file')
  }
}
