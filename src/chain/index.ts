export {
  type BlobScheduleEntry,
  type ChainConfig,
  DEFAULT_MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS,
  FORK_VERSION_BYTES,
  type Fork,
  forkAtEpoch,
  GENESIS_FORK_NAME,
  PRESET_SLOTS_PER_EPOCH,
  type PresetName,
  parseChainConfig,
} from './chainConfig.js'
export {
  Clock,
  type ClockOpts,
  type EpochListener,
  MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS,
  type SlotListener,
} from './clock.js'
export { ConfigValues, epochToU64Le, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH_U64 } from './configValues.js'
export { ChainConfigError, ChainConfigErrorCode, GenesisError, GenesisErrorCode } from './errors.js'
export {
  type BlobParameters,
  computeForkDataRoot,
  computeForkDigest,
  FORK_DIGEST_BYTES,
  forkDigestToHex,
  getBlobParameters,
  ROOT_BYTES,
} from './forkDigest.js'
export { type DigestBoundary, ENR_FORK_ID_BYTES, ForkSchedule } from './forkSchedule.js'
export {
  decodeGenesisPrefix,
  type GenesisData,
  parseGenesisTime,
  parseGenesisValidatorsRoot,
  readGenesisFile,
} from './genesis.js'
export {
  loadChainConfigFile,
  loadNetworkPreset,
  NETWORK_PRESET_NAMES,
  type NetworkPreset,
  type NetworkPresetName,
  networkConfigDir,
  parseGenesisYaml,
} from './networks.js'
export * from './resolveNetwork.js'
export * from './beaconApi.js'
