import { multiaddr } from '@multiformats/multiaddr'
import type { LoadedConfig } from '../config/load.js'
import { loadOrCreateIdentity } from '../identity/identity.js'

/** `contower identity`: what an operator needs to tell others how to reach this node. */
export async function runIdentity({ config }: LoadedConfig): Promise<number> {
  const identity = await loadOrCreateIdentity(config.dataDir)
  const listen = multiaddr(`/ip4/${config.listenAddress}/tcp/${config.port}/p2p/${identity.peerId}`)
  const lines = [
    ['peer id', identity.peerId.toString()],
    ['key file', `${identity.file}${identity.created ? ' (created)' : ''}`],
    ['listen', listen.toString()],
  ]
  process.stdout.write(`${lines.map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n')}\n`)
  return 0
}
