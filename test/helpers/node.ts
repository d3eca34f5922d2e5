import { loadNetworkPreset, type Network } from '../../src/chain/index.js'
import { loadConfig } from '../../src/config/load.js'
import type { ContowerConfig } from '../../src/config/types.js'
import { loadOrCreateIdentity } from '../../src/identity/identity.js'
import { createLogger } from '../../src/logger.js'
import { ContowerNode, type NodeOverrides } from '../../src/node.js'
import { tempDir } from './tmp.js'

/** A Contower node in this process, on loopback with OS-chosen ports; flags as on the command line. */
export async function startTestNode(
  flags: Record<string, string> = {},
  network: Network = loadNetworkPreset('mainnet'),
  overrides: NodeOverrides = {},
): Promise<ContowerNode> {
  const dataDir = tempDir('contower-node-')
  const { config } = loadConfig({
    command: 'start',
    // No discovery unless a test asks for it (with local bootnodes): tests never contact real bootnodes.
    flags: {
      'data-dir': dataDir,
      'listen-address': '127.0.0.1',
      port: '0',
      'metrics-port': '0',
      discovery: 'false',
      ...flags,
    },
    env: {},
  })
  const logger = createLogger({
    level: (process.env.TEST_LOG_LEVEL as ContowerConfig['logLevel']) ?? 'silent',
    format: 'json',
  })
  const node = new ContowerNode({ identity: await loadOrCreateIdentity(dataDir), logger, network }, config, overrides)
  await node.start()
  return node
}
