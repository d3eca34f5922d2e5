// The baseline of scripts/bench-footprint.ts: a bare libp2p host with Contower's transports (createHost: TCP,
// noise, yamux + mplex, identify) and nothing else, listening on 127.0.0.1:PORT until SIGTERM. Plain JavaScript
// on the built dist/, so that it starts like bin/contower.js does (no TypeScript loader).
//
//   node scripts/lib/bareHost.mjs PORT DATA_DIR   (the node identity is kept in DATA_DIR, as Contower keeps its own)
import process from 'node:process'
import '../../dist/setup.js'
import { loadOrCreateIdentity } from '../../dist/identity/identity.js'
import { createHost } from '../../dist/network/host.js'

const port = Number(process.argv[2])
const { privateKey } = await loadOrCreateIdentity(process.argv[3])
const host = await createHost(
  { privateKey, registry: null, isBanned: () => false },
  { listenAddress: '127.0.0.1', port, maxPeers: 300, agentVersion: 'bare-host' },
)
await host.start()
process.once('SIGTERM', () => void host.stop().then(() => process.exit(0)))
