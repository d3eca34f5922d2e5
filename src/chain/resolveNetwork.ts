import type { ContowerConfig } from '../config/types.js'
import type { ChainConfig } from './chainConfig.js'
import { type GenesisData, readGenesisFile } from './genesis.js'
import { loadChainConfigFile, loadNetworkPreset } from './networks.js'
import { BeaconApiError, fetchChainConfig, fetchGenesis } from './beaconApi.js'

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
  if (config.network !== 'custom') {
    const preset = loadNetworkPreset(config.network)
    if (config.beaconApi) await checkSameGenesis(config.beaconApi, preset)
    return preset
  }
  const chainConfig = config.chainConfig
    ? loadChainConfigFile(config.chainConfig)
    : await fetchChainConfig(config.beaconApi!)
  const genesis = config.genesisState
    ? await readGenesisFile(config.genesisState)
    : config.genesisTime !== undefined && config.genesisValidatorsRoot !== undefined
      ? {
          genesisTime: config.genesisTime,
          genesisValidatorsRoot: Buffer.from(config.genesisValidatorsRoot.slice(2), 'hex'),
        }
      : await fetchGenesis(config.beaconApi!)
  return { name: chainConfig.configName, config: chainConfig, ...genesis }
}

/**
 * A trusted node on another network would feed us a Status every peer rejects: refuse it up front. An
 * unreachable one is not fatal for a named network (the seeder warns and retries).
 */
async function checkSameGenesis(url: string, network: Network): Promise<void> {
  let genesis: GenesisData
  try {
    genesis = await fetchGenesis(url)
  } catch {
    return
  }
  if (Buffer.compare(genesis.genesisValidatorsRoot, network.genesisValidatorsRoot) !== 0) {
    const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`
    throw new BeaconApiError(
      `serves genesis validators root ${hex(genesis.genesisValidatorsRoot)}, not ${network.name}'s ${hex(network.genesisValidatorsRoot)}`,
      url,
    )
  }
}
