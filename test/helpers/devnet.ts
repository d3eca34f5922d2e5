import type { Network } from '../../src/chain/index.js'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import { SimulatedPeer, SIMULATED_PEER_DEFAULTS } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { createLogger } from '../../src/logger.js'
import type { ContowerNode, NodeOverrides } from '../../src/node.js'
import { startTestNode } from './node.js'

export const logger = createLogger({ level: 'silent', format: 'json' })

/** A devnet chain `historySlots` old, with 2 s slots. */
export function testChain(historySlots = 100, payloadBytes = 20_000): { network: Network; chain: SyntheticChain } {
  const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - historySlots * 2 })
  return { network, chain: new SyntheticChain({ network }, { payloadBytes }) }
}

export async function startPeer(
  network: Network,
  chain: SyntheticChain,
  opts: { serveBlocks?: boolean } = {},
): Promise<SimulatedPeer> {
  const peer = new SimulatedPeer({ network, chain, logger }, { ...SIMULATED_PEER_DEFAULTS, ...opts })
  await peer.start()
  return peer
}

/** Contower on the devnet (the node takes the Network as given), dialling `upstreams` as static peers. */
export async function startRelay(
  network: Network,
  upstreams: SimulatedPeer[],
  flags: Record<string, string> = {},
  overrides: NodeOverrides = {},
): Promise<ContowerNode> {
  return startTestNode({ ...staticPeers(upstreams), ...flags }, network, overrides)
}

function staticPeers(peers: SimulatedPeer[]): Record<string, string> {
  return peers.length > 0 ? { 'static-peers': peers.map((p) => p.multiaddr.toString()).join(',') } : {}
}
