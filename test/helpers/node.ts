import { loadNetworkPreset } from '../../src/chain/networks.js'
import { type Network } from '../../src/chain/resolveNetwork.js'
import type { ContowerConfig } from '../../src/config/types.js'
import { startLocalNode } from '../../src/devnet/localNode.js'
import { createLogger } from '../../src/logger.js'
import type { ContowerNode, NodeOverrides } from '../../src/node.js'
import { tempDir } from './tmp.js'

/**
 * A Contower node in this process, on loopback with OS-chosen ports; flags as on the command line. No discovery
 * unless a test asks for it (with local bootnodes): tests never contact real bootnodes.
 */
export function startTestNode(
  flags: Record<string, string> = {},
  network: Network = loadNetworkPreset('mainnet'),
  overrides: NodeOverrides = {},
): Promise<ContowerNode> {
  const logger = createLogger({
    level: (process.env.TEST_LOG_LEVEL as ContowerConfig['logLevel']) ?? 'silent',
    format: 'json',
  })
  return startLocalNode({ network, logger }, { dataDir: tempDir('contower-node-'), flags, overrides })
}
