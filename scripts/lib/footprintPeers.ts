// Child process of scripts/bench-footprint.ts (not run by hand): simulated beacon peers (real libp2p hosts that
// answer Status/Ping/MetaData on the devnet chain) that dial the host being measured and stay connected.
import '../../src/setup.js'
import { multiaddr } from '@multiformats/multiaddr'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import { type SimulatedPeer, startSimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { createLogger } from '../../src/logger.js'

export type ToFootprintPeers =
  | { type: 'init'; genesisTime: number; slotSeconds: number }
  | { type: 'dial'; addr: string; count: number }
  | { type: 'count'; addr: string }
  | { type: 'hangUp'; addr: string }
export type FromFootprintPeers = { type: 'done'; connected: number } | { type: 'failed'; error: string }

if (!process.send) {
  console.error('footprintPeers: run by scripts/bench-footprint.ts (needs an IPC channel)')
  process.exit(2)
}
process.on('disconnect', () => process.exit(0)) // the parent is gone
const send = (msg: FromFootprintPeers) => process.send!(msg)
const logger = createLogger({ level: 'silent', format: 'json' })
const peers: SimulatedPeer[] = []
let modules: { network: ReturnType<typeof devnetNetwork>; chain: SyntheticChain; logger: typeof logger } | null = null

const connectedTo = (addr: string) => {
  const target = addr.split('/p2p/')[1]
  return peers.filter((p) => p.libp2p.getConnections().some((c) => c.remotePeer.toString() === target)).length
}

process.on('message', async (msg: ToFootprintPeers) => {
  try {
    if (msg.type === 'init') {
      const network = devnetNetwork({ genesisTime: msg.genesisTime, slotSeconds: msg.slotSeconds })
      modules = { network, chain: new SyntheticChain({ network }, { payloadBytes: 1_000 }), logger }
      send({ type: 'done', connected: 0 })
    } else if (msg.type === 'dial') {
      while (peers.length < msg.count) peers.push(await startSimulatedPeer(modules!, { serveBlocks: false }))
      const addr = multiaddr(msg.addr)
      // A few at a time (the host's per-IP inbound rate limit refuses a burst of hundreds), again for those whose
      // dial failed: on a loaded machine a handshake can outlast the dial timeout.
      const target = msg.addr.split('/p2p/')[1]
      const connected = (p: SimulatedPeer) => p.libp2p.getConnections().some((c) => c.remotePeer.toString() === target)
      for (let attempt = 0; attempt < 5; attempt++) {
        const left = peers.slice(0, msg.count).filter((p) => !connected(p))
        for (let i = 0; i < left.length; i += 10) {
          await Promise.all(left.slice(i, i + 10).map((p) => p.libp2p.dial(addr).catch(() => {})))
        }
      }
      send({ type: 'done', connected: connectedTo(msg.addr) })
    } else if (msg.type === 'count') {
      send({ type: 'done', connected: connectedTo(msg.addr) })
    } else if (msg.type === 'hangUp') {
      await Promise.all(peers.map((p) => p.libp2p.hangUp(multiaddr(msg.addr)).catch(() => {})))
      send({ type: 'done', connected: connectedTo(msg.addr) })
    }
  } catch (e) {
    send({ type: 'failed', error: String((e as Error).stack ?? e) })
  }
})
