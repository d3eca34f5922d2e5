import { isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { Clock } from '../chain/clock.js'
import { ForkSchedule } from '../chain/forkSchedule.js'
import { resolveNetworkOffline } from '../chain/resolveNetwork.js'
import type { LoadedConfig } from '../config/load.js'
import type { ContowerConfig } from '../config/types.js'
import { enrAddressing } from '../discovery/discovery.js'
import { forkFields, localEnrKvs } from '../discovery/enr.js'
import { EnrStore, signLocalEnr } from '../discovery/enrStore.js'
import type { Identity } from '../identity/identity.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import { initialCustodyGroupCount } from '../peers/custody.js'

/** `contower identity`: what an operator needs to tell others how to reach this node. */
export async function runIdentity({ config }: LoadedConfig): Promise<number> {
  const identity = await loadOrCreateIdentity(config.dataDir)
  const ip = isIPv6(config.listenAddress) ? 'ip6' : 'ip4'
  const listen = [multiaddr(`/${ip}/${config.listenAddress}/tcp/${config.port}/p2p/${identity.peerId}`)]
  if (config.quic) {
    listen.push(multiaddr(`/${ip}/${config.listenAddress}/udp/${config.quicPort}/quic-v1/p2p/${identity.peerId}`))
  }
  const { enr, note } = await localEnr(identity, config)
  const lines = [
    ['peer id', identity.peerId.toString()],
    ['key file', `${identity.file}${identity.created ? ' (created)' : ''}`],
    ...listen.map((addr) => ['listen', addr.toString()]),
    ['enr', enr],
  ]
  process.stdout.write(`${lines.map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n')}\n`)
  if (note) process.stderr.write(`note: ${note}\n`)
  return 0
}

/**
 * The ENR `start` would publish now, from the options alone: no network call and nothing written (the seq is
 * the stored one, or the next one when a field differs). The `eth2`/`nfd` fields need the fork schedule: a
 * named network's is local; a custom network known only through `--beacon-api` gets an ENR without them.
 */
async function localEnr(identity: Identity, config: ContowerConfig): Promise<{ enr: string; note?: string }> {
  const network = await resolveNetworkOffline(config)
  let fork = {}
  if (network) {
    const epoch = Clock.fromChainConfig(network.config, network.genesisTime).currentEpoch
    fork = forkFields(new ForkSchedule(network.config, network.genesisValidatorsRoot), epoch)
  }
  const kvs = localEnrKvs(identity.privateKey, {
    ...enrAddressing({
      ...config,
      tcpPort: config.port,
      udpPort: config.discoveryPort,
      quicPort: config.quic ? config.quicPort : 0,
    }),
    ...fork,
    attnets: config.attnets,
    syncnets: config.syncnets,
    custodyGroupCount: initialCustodyGroupCount(config.custodyGroupCount),
  })
  const { enr, changed } = signLocalEnr(identity.privateKey, kvs, new EnrStore(config.dataDir), { persist: false })
  const notes = [
    network ? null : 'ENR without eth2/nfd: the custom network’s config and genesis would come from --beacon-api',
    changed ? `seq ${enr.seq} is not yet published: start signs it when the fields are the same then` : null,
  ].filter((n) => n !== null)
  return { enr: enr.encodeTxt(), note: notes.length > 0 ? notes.join('; ') : undefined }
}
