import type { ContowerConfig } from '../config/types.js'
import type { ChainConfig } from './chainConfig.js'
import { type GenesisData, readGenesisFile } from './genesis.js'
import { loadChainConfigFile, loadNetworkPreset } from './networks.js'

/** The chain this node is on: its config and genesis. */
export interface Network extends GenesisData {
  readonly name: string
  readonly config: ChainConfig
}

/**
 * The chain Contower joins: a named preset from config/networks, or `--network custom` from a config.yaml plus
 * a genesis.ssz (or an explicit genesis time and validators root). Throws ChainConfigError / GenesisError.
 */
export async function resolveNetwork(config: ContowerConfig): Promise<Network> {
  if (config.network !== 'custom') return loadNetworkPreset(config.network)
  const chainConfig = loadChainConfigFile(config.chainConfig!)
  const genesis = config.genesisState
    ? await readGenesisFile(config.genesisState)
    : {
        genesisTime: config.genesisTime!,
        genesisValidatorsRoot: Buffer.from(config.genesisValidatorsRoot!.slice(2), 'hex'),
      }
  return { name: chainConfig.configName, config: chainConfig, ...genesis }
}
