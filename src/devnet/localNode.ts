import type { Network } from '../chain/resolveNetwork.js'
import { loadConfig } from '../config/load.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import type { Logger } from '../logger.js'
import { ContowerNode, type NodeOverrides } from '../node.js'

/**
 * What every local node starts with: loopback, OS-chosen ports, and no discovery, so that nothing reaches a real
 * network's bootnodes unless the caller's flags turn it on (with local bootnodes).
 */
const LOCAL_FLAGS = {
  'listen-address': '127.0.0.1',
  port: '0',
  'metrics-address': '127.0.0.1',
  'metrics-port': '0',
  discovery: 'false',
}

export interface LocalNodeOpts {
  /** The node's data dir (its identity and ENR); the caller removes it. */
  dataDir: string
  /** Further options as on the command line; they win over the local defaults. */
  flags?: Record<string, string | boolean>
  overrides?: NodeOverrides
}

/** A started Contower node in this process on `network`: the devnet's, the benchmarks' and the tests'. */
export async function startLocalNode(
  modules: { network: Network; logger: Logger },
  opts: LocalNodeOpts,
): Promise<ContowerNode> {
  const { config } = loadConfig({
    command: 'start',
    env: {},
    flags: { ...LOCAL_FLAGS, 'data-dir': opts.dataDir, ...opts.flags },
  })
  const identity = await loadOrCreateIdentity(opts.dataDir)
  const node = new ContowerNode({ identity, logger: modules.logger, network: modules.network }, config, opts.overrides)
  try {
    await node.start()
  } catch (e) {
    await node.stop().catch(() => {})
    throw e
  }
  return node
}
