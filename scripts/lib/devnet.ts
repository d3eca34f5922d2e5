// Devnet pieces for scripts (benchmarks, demos): simulated peers and an in-process Contower node on 127.0.0.1.
// The entry point must import src/setup.ts before this module.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Network } from '../../src/chain/resolveNetwork.js'
import { startLocalNode } from '../../src/devnet/localNode.js'
import { type SimulatedPeer, startSimulatedPeer as startPeer } from '../../src/devnet/simulatedPeer.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import type { Logger } from '../../src/logger.js'
import type { ContowerNode, NodeOverrides } from '../../src/node.js'

/** A simulated beacon peer (on 127.0.0.1 by default) serving `chain` (or, with serveBlocks: false, only the handshake). */
export function startSimulatedPeer(
  network: Network,
  chain: SyntheticChain,
  logger: Logger,
  opts: { serveBlocks?: boolean; listenAddress?: string; quic?: boolean } = {},
): Promise<SimulatedPeer> {
  return startPeer({ network, chain, logger }, opts)
}

/** A Contower node in this process, on 127.0.0.1 with OS-chosen ports and a temporary data dir; flags as on the CLI. */
export async function startContower(
  network: Network,
  logger: Logger,
  flags: Record<string, string> = {},
  overrides: NodeOverrides = {},
): Promise<{ node: ContowerNode; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'contower-bench-'))
  try {
    const node = await startLocalNode({ network, logger }, { dataDir, flags, overrides })
    return {
      node,
      stop: async () => {
        await node.stop()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true })
    throw e
  }
}
