import type { ContowerConfig } from '../config/types.js'
import { initialCustodyGroupCount } from '../peers/custody.js'
import { resolveBootnodes } from './bootnodes.js'
import { Discovery, type DiscoveryModules, type DiscoveryOpts } from './discovery.js'

/**
 * The Discovery service `start` runs, or null with `--no-discovery`: then nothing is constructed, no socket
 * is bound and no bootnode list is even read, so nothing can be sent to a bootnode. `tcpPort` is the port the
 * libp2p host actually listens on (the bound one when --port is 0). Throws ConfigError for a bad --bootnodes
 * record and DiscoveryError for a bad shipped bootnode file.
 */
export function discoveryFromConfig(
  modules: DiscoveryModules,
  config: ContowerConfig,
  ports: { tcpPort: number; quicPort: number },
  tuning?: DiscoveryOpts['tuning'],
): Discovery | null {
  if (config.discovery !== true) return null
  return new Discovery(modules, {
    dataDir: config.dataDir,
    listenAddress: config.listenAddress,
    discoveryPort: config.discoveryPort,
    ...ports,
    enrAddress: config.enrAddress,
    enrTcpPort: config.enrTcpPort,
    enrUdpPort: config.enrUdpPort,
    bootnodes: resolveBootnodes(config),
    attnets: config.attnets,
    syncnets: config.syncnets,
    custodyGroupCount: initialCustodyGroupCount(config.custodyGroupCount),
    tuning,
  })
}
