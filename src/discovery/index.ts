export { bootnodesFile, enrProblem, loadBootnodes, resolveBootnodes } from './bootnodes.js'
export {
  type DiscoveredListener,
  DISCOVERY_DEFAULTS,
  Discovery,
  type DiscoveryModules,
  type DiscoveryOpts,
  enrAddressing,
} from './discovery.js'
export * from './enr.js'
export { discoveryFromConfig } from './fromConfig.js'
export { ENR_FILE_NAME, EnrStore, type SignedLocalEnr, signLocalEnr, type StoredEnr } from './enrStore.js'
export { DiscoveryError, DiscoveryErrorCode } from './errors.js'
export {
  acceptedDigests,
  classifyEnr,
  type DigestWindow,
  type DiscoveredPeer,
  ENR_OUTCOMES,
  type EnrOutcome,
  type EnrVerdict,
} from './filter.js'
export { createDiscoveryMetrics, type DiscoveryMetrics } from './metrics.js'
