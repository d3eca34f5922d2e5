// Devnet pieces for scripts (benchmarks, demos): simulated peers and an in-process Contower node on 127.0.0.1.
// The entry point must import src/setup.ts before this module.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Network } from '../../src/chain/index.js'
import { loadConfig } from '../../src/config/load.js'
import { SimulatedPeer, SIMULATED_PEER_DEFAULTS } from '../../src/devnet/simulatedPeer.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { loadOrCreateIdentity } from '../../src/identity/identity.js'
import type { Logger } from '../../src/logger.js'
import { ContowerNode, type NodeOverrides } from '../../src/node.js'

/** A simulated beacon peer on 127.0.0.1 serving `chain` (or, with serveBlocks: false, only the handshake). */
export async function startSimulatedPeer(
  network: Network,
  chain: SyntheticChain,
  logger: Logger,
  opts: { serveBlocks?: boolean } = {},
): Promise<SimulatedPeer> {
  const peer = new SimulatedPeer({ network, chain, logger }, { ...SIMULATED_PEER_DEFAULTS, ...opts })
  await peer.start()
  return peer
}

/** A Contower node in this process, on 127.0.0.1 with OS-chosen ports and a temporary data dir; flags as on the CLI. */
export async function startContower(
  network: Network,
  logger: Logger,
  flags: Record<string, string> = {},
  overrides: NodeOverrides = {},
): Promise<{ node: ContowerNode; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'contower-bench-'))
  const { config } = loadConfig({
    command: 'start',
    flags: {
      'data-dir': dataDir,
      'listen-address': '127.0.0.1',
      port: '0',
      'metrics-address': '127.0.0.1',
      'metrics-port': '0',
      // A local benchmark: nothing may reach a real network's bootnodes.
      discovery: 'false',
      ...flags,
    },
    env: {},
  })
  const node = new ContowerNode({ identity: await loadOrCreateIdentity(dataDir), logger, network }, config, overrides)
  const stop = async () => {
    await node.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    await node.start()
  } catch (e) {
    await stop()
    throw e
  }
  return { node, stop }
}
