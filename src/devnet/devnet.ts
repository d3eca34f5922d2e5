import type { PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import type { Network } from '../chain/resolveNetwork.js'
import type { Logger } from '../logger.js'
import type { ContowerNode, NodeOverrides } from '../node.js'
import type { Discv5Node } from '../discovery/discv5.js'
import { LONE_BOOTNODE_DISCOVERY, startLocalBootnode } from '../discovery/localBootnode.js'
import { devnetNetwork } from './devnetNetwork.js'
import { SIMULATED_PEER_DEFAULTS, SimulatedPeer } from './simulatedPeer.js'
import { SyncingPeer } from './syncingPeer.js'
import { SyntheticChain } from './syntheticChain.js'

export const DEVNET_DEFAULTS = {
  /** Contowers: more than one is a fleet (they share a Redis, given through startRelay). */
  relays: 1,
  /**
   * With a fleet, the syncing peers of Contower i start syncing i times this late: late joiners, whose history the
   * first Contower has already fetched, so the fleet's shared cache shows.
   */
  fleetJoinDelayMs: 4_000,
  servingPeers: 3,
  syncingPeers: 2,
  slotSeconds: 2,
  historySlots: 256,
  blockBytes: 100_000,
  /** Contower must have found and handshaken the serving peers by then, or something is wrong with the setup. */
  handshakeTimeoutMs: 30_000,
  /** Blocks kept in memory (≈ 200 MB at 100 KB): a devnet left running for hours rebuilds older ones on demand. */
  maxCachedBlocks: 2048,
  /** One blob per block: every block has data columns for the syncing peers to fetch through Contower. */
  blobsPerBlock: 1,
  /**
   * Serving peer i custodies (and serves only) custodyGroupCounts[i % n] groups: a mix, one of them a supernode, which
   * the default three serving peers include (without it, a syncing peer's columns were often custodied by none of
   * them, and `npm start` showed no column delivered).
   */
  custodyGroupCounts: [4, 8, 128, 16] as readonly number[],
}

export type DevnetOpts = typeof DEVNET_DEFAULTS

/** gossipsub tuning for a Contower on the devnet: all peers share 127.0.0.1, exempt it from the colocation penalty. */
const DEVNET_GOSSIPSUB = { ipColocationWhitelist: ['127.0.0.1'] }

/**
 * discv5 tuning for a Contower on the devnet: lookups are cheap on 127.0.0.1, so every serving peer is found fast. The
 * bootnode alone holds the serving peers' records: a lookup asks it for 16 distances, not 3, so that nearly every
 * lookup returns every record (with 3, one 8 levels deep came back about once in 70 lookups).
 */
const DEVNET_DISCOVERY = {
  lookupIntervalMs: 500,
  minLookupGapMs: 100,
  lookupDistances: LONE_BOOTNODE_DISCOVERY.lookupDistances,
}

export interface DevnetModules {
  logger: Logger
  /**
   * Starts Contower number `index` on `network` with discovery on and `bootnode` (an ENR) as its only bootnode,
   * with `overrides` (the devnet's gossipsub and discv5 tuning: every peer is on 127.0.0.1).
   */
  startRelay(network: Network, bootnode: string, overrides: NodeOverrides, index: number): Promise<ContowerNode>
}

export interface DevnetSummary {
  slot: number
  contowerPeers: number
  /** Relayed requests by protocol (name/version), any result. */
  relayed: Record<string, number>
  cacheHits: number
  cacheMisses: number
  /** Requests one Contower answered from what another stored in the fleet's shared cache. */
  fleetHits: number
  /** beacon_block gossip messages Contower validated and forwarded. */
  gossipForwarded: number
  syncing: Array<{ headSlot: number; blocks: number }>
  /** Blocks and bytes the serving peers handed out (to Contower: everything the syncing peers got came this way). */
  servedBlocks: number
  servedBytes: number
  /** Custody columns the syncing peers asked for (of blocks with blobs) and received, all through Contower. */
  columnsRequested: number
  columnsDelivered: number
}

/**
 * A small beacon network on 127.0.0.1 around one Contower (or a fleet of them): serving peers that hold a synthetic
 * chain (a new block every slot) and syncing peers that start at genesis and are connected only to a Contower (in
 * turn, with a fleet), so every block they get has been relayed. The demo of `contower devnet`, and the stage of the end-to-end tests.
 */
export class Devnet {
  readonly network: Network
  readonly chain: SyntheticChain
  readonly serving: SimulatedPeer[] = []
  readonly syncing: SyncingPeer[] = []
  readonly relays: ContowerNode[] = []
  private bootnode: Discv5Node | null = null
  private stopPrebuild: (() => void) | null = null
  private readonly joinTimers: NodeJS.Timeout[] = []
  private stopping: Promise<void> | null = null

  constructor(
    private readonly modules: DevnetModules,
    private readonly opts: DevnetOpts = DEVNET_DEFAULTS,
  ) {
    const genesisTime = Math.floor(Date.now() / 1000) - opts.historySlots * opts.slotSeconds
    this.network = devnetNetwork({ genesisTime, slotSeconds: opts.slotSeconds })
    this.chain = new SyntheticChain(
      { network: this.network },
      { payloadBytes: opts.blockBytes, maxCachedBlocks: opts.maxCachedBlocks, blobsPerBlock: opts.blobsPerBlock },
    )
  }

  /** The first Contower (the only one without a fleet). */
  get node(): ContowerNode {
    if (this.relays.length === 0) throw new Error('devnet not started')
    return this.relays[0]
  }

  async start(): Promise<void> {
    const { logger } = this.modules
    const peerModules = { network: this.network, chain: this.chain, logger: logger.child({ module: 'devnet-peer' }) }
    const cgcs = this.opts.custodyGroupCounts
    const servingOpts = (i: number) => ({ ...SIMULATED_PEER_DEFAULTS, custodyGroupCount: cgcs[i % cgcs.length] })
    const first = new SimulatedPeer(peerModules, servingOpts(0))
    // Build the history before anyone asks for it (a block takes a few ms to hash), then one block per slot.
    await this.chain.prebuild(Math.max(0, first.clock.currentSlot))
    // Each slot a serving peer (in turn, as proposers rotate) publishes the slot's block on gossip.
    this.stopPrebuild = first.clock.onSlot((slot) => {
      void this.chain.prebuild(slot).then(() => this.serving[slot % this.serving.length]?.publishBlock(slot))
    })
    first.clock.start()

    // Serving peers advertise themselves on a local bootnode, where Contower's discovery finds them.
    this.bootnode = await startLocalBootnode('127.0.0.1')
    for (let i = 0; i < this.opts.servingPeers; i++) {
      const peer = i === 0 ? first : new SimulatedPeer(peerModules, servingOpts(i))
      await peer.start()
      this.bootnode.addEnr(peer.enr())
      this.serving.push(peer)
    }
    for (let i = 0; i < this.opts.relays; i++) {
      const overrides = { gossipsub: DEVNET_GOSSIPSUB, discovery: DEVNET_DISCOVERY }
      this.relays.push(await this.modules.startRelay(this.network, this.bootnode.enr.encodeTxt(), overrides, i))
    }
    for (const relay of this.relays) await this.waitForHandshakes(relay)
    for (let i = 0; i < this.opts.syncingPeers; i++) {
      const relay = this.relays[i % this.relays.length]
      const peer = new SyncingPeer(peerModules)
      await peer.start()
      this.syncing.push(peer)
      await peer.libp2p.dial(relay.listenAddresses[0])
      const delayMs = (i % this.relays.length) * this.opts.fleetJoinDelayMs
      if (delayMs === 0) peer.follow(relay.libp2p.peerId)
      else this.joinTimers.push(setTimeout(() => peer.follow(relay.libp2p.peerId), delayMs))
    }
    logger.info(
      {
        servingPeers: this.serving.length,
        syncingPeers: this.syncing.length,
        slot: first.clock.currentSlot,
        contower: this.relays.map((r) => r.listenAddresses[0].toString()),
      },
      'devnet started',
    )
  }

  /** Stops the peers, then Contower; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopPrebuild?.()
      for (const timer of this.joinTimers) clearTimeout(timer)
      this.serving[0]?.clock.stop()
      await Promise.all(this.syncing.map((p) => p.stop()))
      await Promise.all(this.relays.map((r) => r.stop()))
      await Promise.all(this.serving.map((p) => p.stop()))
      await this.bootnode?.stop()
    })()
    return this.stopping
  }

  get currentSlot(): number {
    return this.serving[0]?.clock.currentSlot ?? 0
  }

  /** Totals over every Contower of the devnet. */
  async summary(): Promise<DevnetSummary> {
    const relayed: Record<string, number> = {}
    let cacheHits = 0
    let cacheMisses = 0
    let gossipForwarded = 0
    let fleetHits = 0
    for (const node of this.relays) {
      for (const v of await metricValues(node.registry, 'contower_relay_requests_total')) {
        const protocol = String(v.labels.protocol)
        relayed[protocol] = (relayed[protocol] ?? 0) + v.value
        if (v.labels.result === 'fleet_hit') fleetHits += v.value
      }
      const { hits, misses } = node.relayCache.stats
      cacheHits += hits
      cacheMisses += misses
      for (const v of await metricValues(node.registry, 'contower_gossip_forwarded_total')) gossipForwarded += v.value
    }
    const served = this.serving.map((p) => p.servedCount('beacon_blocks_by_range'))
    return {
      slot: this.currentSlot,
      contowerPeers: this.node.libp2p.getPeers().length,
      relayed,
      cacheHits,
      cacheMisses,
      fleetHits,
      gossipForwarded,
      syncing: this.syncing.map((p) => ({ headSlot: p.progress.headSlot, blocks: p.progress.blocksReceived })),
      servedBlocks: served.reduce((n, s) => n + s.chunks, 0),
      servedBytes: served.reduce((n, s) => n + s.bytes, 0),
      columnsRequested: this.syncing.reduce((n, p) => n + p.progress.columnsRequested, 0),
      columnsDelivered: this.syncing.reduce((n, p) => n + p.progress.columnsReceived, 0),
    }
  }

  private async waitForHandshakes(node: ContowerNode): Promise<void> {
    const deadline = Date.now() + this.opts.handshakeTimeoutMs
    // Handshaken, and custody known from their MetaData, so the first column requests go to the right peers.
    const ready = (p: SimulatedPeer) => {
      const data = node.peerStore.get(p.peerId)
      return data?.handshaken === true && data.custody?.source === 'metadata'
    }
    while (!this.serving.every(ready)) {
      if (Date.now() > deadline) {
        throw new Error(
          `Contower did not discover and handshake all serving peers in ${this.opts.handshakeTimeoutMs} ms: ` +
            this.serving
              .filter((p) => !ready(p))
              .map((p) => `${p.peerId} ${peerState(node, p.peerId)}`)
              .join('; '),
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** Where Contower stands with a peer, for the one line a failed start prints. */
function peerState(node: ContowerNode, peerId: PeerId): string {
  const peer = peerId.toString()
  const data = node.peerStore.get(peer)
  const connections = node.libp2p.getConnections(peerId)
  return [
    `connections ${connections.map((c) => c.status).join(',') || 'none'}`,
    data ? `handshaken ${data.handshaken}` : 'not in the peer store',
    `custody ${data?.custody?.source ?? 'unknown'}`,
    `refused ${node.bans.kindOf(peer) ?? 'no'}`,
    `score ${node.scores.score(peer).toFixed(1)}`,
  ].join(', ')
}

async function metricValues(registry: Registry | null, name: string) {
  const metric = registry?.getSingleMetric(name)
  return metric ? (await metric.get()).values : []
}

/** One line for a person watching the devnet. */
export function formatSummary(s: DevnetSummary): string {
  const relayed = Object.entries(s.relayed)
    .map(([protocol, n]) => `${protocol.replace('beacon_blocks_', 'blocks_')} ${n}`)
    .join(', ')
  const lookups = s.cacheHits + s.cacheMisses
  const hitRate = lookups > 0 ? `${Math.round((100 * s.cacheHits) / lookups)}%` : '-'
  const syncing = s.syncing.map((p) => `${p.headSlot}`).join(' ')
  return [
    `slot ${s.slot}`,
    `contower peers ${s.contowerPeers}`,
    `relayed ${relayed || 'nothing yet'}`,
    `cache hits ${hitRate}`,
    ...(s.fleetHits > 0 ? [`fleet hits ${s.fleetHits}`] : []),
    `gossip forwarded ${s.gossipForwarded}`,
    `syncing heads [${syncing}] of ${s.slot}`,
    `served ${s.servedBlocks} blocks / ${(s.servedBytes / 1e6).toFixed(1)} MB`,
    `columns delivered ${s.columnsDelivered} of ${s.columnsRequested} requested`,
  ].join(' | ')
}
