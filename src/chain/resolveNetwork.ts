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
  return (await resolve(config, true))!
}

/**
 * The same chain from local files only (`contower identity`): null when it would take a `--beacon-api` call
 * (a custom network without its config or genesis files). A preset's genesis is not checked against the API.
 */
export function resolveNetworkOffline(config: ContowerConfig): Promise<Network | null> {
  return resolve(config, false)
}

async function resolve(config: ContowerConfig, online: boolean): Promise<Network | null> {
  if (config.network !== 'custom') {
    const preset = loadNetworkPreset(config.network)
    if (online && config.beaconApi) await checkSameGenesis(config.beaconApi, preset)
    return preset
  }
  const hasGenesisPair = config.genesisTime !== undefined && config.genesisValidatorsRoot !== undefined
  if (!online && (!config.chainConfig || (!config.genesisState && !hasGenesisPair))) return null
  const chainConfig = config.chainConfig
    ? loadChainConfigFile(config.chainConfig)
    : await fetchChainConfig(config.beaconApi!)
  const genesis = config.genesisState
    ? await readGenesisFile(config.genesisState)
    : hasGenesisPair
      ? {
          genesisTime: config.genesisTime!,
          genesisValidatorsRoot: Buffer.from(config.genesisValidatorsRoot!.slice(2), 'hex'),
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
