import { isIPv6 } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Clock } from '../chain/clock.js'
import { ForkSchedule } from '../chain/forkSchedule.js'
import { type Network } from '../chain/resolveNetwork.js'
import { InboundRateLimiter } from '../limits/inboundLimiter.js'
import type { Logger } from '../logger.js'
import { type ContowerHost, createHost } from '../network/host.js'
import { transportOf } from '../network/transport.js'
import { BanList } from '../peers/banList.js'
import { CUSTODY_REQUIREMENT, custodyColumns, nodeIdOf } from '../peers/custody.js'
import type { PeerStatus } from '../chain/chainView.js'
import { PeerScores } from '../peers/score.js'
import { ReqRespClient } from '../reqresp/client.js'
import type { LocalMetadata } from '../reqresp/messages.js'
import type { ProtocolDef } from '../reqresp/protocols.js'
import { ResponseTypes } from '../reqresp/responseTypes.js'
import { ReqRespServer } from '../reqresp/server.js'
import type { ResponseChunk } from '../wire/chunks.js'
import { forkFields } from '../discovery/enr.js'
import { signedEnr } from '../discovery/localBootnode.js'
import { GossipService } from '../gossip/gossipService.js'
import { parseSubscribeSpec } from '../gossip/subscribeSpec.js'
import { formatTopic } from '../gossip/topics.js'
import type { Misbehaviour } from './misbehaviour.js'
import { type BlockSource, createPeerHandlers } from './peerHandlers.js'
import type { ChainBlock, SyntheticChain } from './syntheticChain.js'

export const SIMULATED_PEER_DEFAULTS = {
  listenAddress: '127.0.0.1',
  /** Any free port: a devnet runs many peers on one host. */
  port: 0,
  /** Also listen on QUIC (any free UDP port), as Lodestar and Lighthouse do; off: TCP only. */
  quic: false,
  /** Lodestar bans a peer over quota for an hour; a devnet run is shorter, so this is "for the run". */
  banDurationMs: 60 * 60_000,
  /** Lodestar's target of peers plus headroom: never the limit in a devnet. */
  maxPeers: 64,
  /** Custody groups advertised (MetaData v3, ENR cgc) and the only columns served: the least a Fulu node holds. */
  custodyGroupCount: CUSTODY_REQUIREMENT,
}

export interface SimulatedPeerModules {
  network: Network
  chain: SyntheticChain
  logger: Logger
}

export interface ServedCount {
  requests: number
  chunks: number
  bytes: number
}

/** What a peer saw, for tests and the devnet summary. */
export interface SimulatedPeerStats {
  served: Map<string, ServedCount>
  /** Requests that went over a Lodestar quota (each got its sender banned). */
  quotaExceeded: number
  /** Most requests of one protocol one peer had open at once (the spec allows 2). */
  maxConcurrent: number
  /** Every column index a data column request asked of it. */
  columnsAsked: Set<number>
  /** Every `rootHex/column` a by-root column request asked of it, in order, repeats included. */
  columnIdsAsked: string[]
}

/**
 * A beacon peer for the devnet and the end-to-end tests: a real libp2p host (TCP, noise, mplex) that answers
 * Status/Ping/MetaData/Goodbye and serves blocks from a synthetic chain, enforcing Lodestar's quotas. It can be
 * told to misbehave. Its chain is `source`: the whole chain up to the wall clock (a serving peer) or what it has
 * synced so far (see SyncingPeer).
 */
export class SimulatedPeer {
  misbehaviour: Misbehaviour = 'none'
  /** The slot whose block 'alter_block' changes (else the block at `faultAtChunk`). */
  alteredSlot: number | undefined = undefined
  /** The chunk of a response a fault hits: the block 'alter_block' changes, the last one 'disconnect' sends. */
  faultAtChunk = 0
  readonly stats: SimulatedPeerStats = {
    served: new Map(),
    quotaExceeded: 0,
    maxConcurrent: 0,
    columnsAsked: new Set(),
    columnIdsAsked: [],
  }
  /** The columns it custodies, and so serves (das-core.md custody of its node id); set at start. */
  custody: ReadonlySet<number> = new Set()
  readonly clock: Clock
  readonly forkSchedule: ForkSchedule
  readonly bans = new BanList()
  /** beacon_block gossip: serving peers publish their chain's blocks, syncing peers follow the head with it. */
  readonly gossip: GossipService
  protected host: ContowerHost | null = null
  private privateKey: PrivateKey | null = null
  protected client: ReqRespClient | null = null
  private server: ReqRespServer | null = null
  private readonly limiter = new InboundRateLimiter({}, { maxDelayMs: 0 })
  private readonly metadata: LocalMetadata

  constructor(
    protected readonly modules: SimulatedPeerModules,
    protected readonly opts: typeof SIMULATED_PEER_DEFAULTS & { privateKey?: PrivateKey; serveBlocks?: boolean },
  ) {
    const { network } = modules
    this.metadata = { seqNumber: 1n, attnets: [], syncnets: [], custodyGroupCount: opts.custodyGroupCount }
    this.clock = Clock.fromChainConfig(network.config, network.genesisTime)
    this.forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    this.gossip = new GossipService(
      { forkSchedule: this.forkSchedule, clock: this.clock, registry: null, logger: modules.logger },
      // Every devnet peer shares 127.0.0.1: exempt it from gossipsub's IP colocation penalty.
      { subscribe: parseSubscribeSpec(['beacon_block']), gossipsub: { ipColocationWhitelist: ['127.0.0.1'] } },
    )
  }

  get libp2p(): ContowerHost {
    if (!this.host) throw new Error('simulated peer not started')
    return this.host
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  /** Its TCP address. */
  get multiaddr(): Multiaddr {
    return this.libp2p.getMultiaddrs().find((a) => transportOf(a) === 'tcp')!
  }

  /** Its QUIC address, or null when it does not listen on QUIC. */
  get quicMultiaddr(): Multiaddr | null {
    return this.libp2p.getMultiaddrs().find((a) => transportOf(a) === 'quic') ?? null
  }

  async start(): Promise<void> {
    const privateKey = this.opts.privateKey ?? (await generateKeyPair('secp256k1'))
    this.privateKey = privateKey
    this.custody = new Set(custodyColumns(nodeIdOf(peerIdFromPrivateKey(privateKey))!, this.opts.custodyGroupCount))
    const host = await createHost(
      {
        privateKey,
        registry: null,
        isBanned: (peer) => this.bans.isBanned(peer.toString()),
        gossipsub: this.gossip.gossipsubFactory(),
      },
      {
        listenAddress: this.opts.listenAddress,
        port: this.opts.port,
        quicPort: this.opts.quic ? 0 : null,
        maxPeers: this.opts.maxPeers,
        agentVersion: 'contower-devnet-peer/0.1.0',
        mplexOnly: true,
      },
    )
    this.host = host
    const handlers = createPeerHandlers({
      host,
      source: this.source(),
      metadata: this.metadata,
      limiter: this.limiter,
      misbehaviour: () => this.misbehaviour,
      alteredSlot: () => this.alteredSlot,
      faultAtChunk: () => this.faultAtChunk,
      onQuotaExceeded: (req) => {
        this.stats.quotaExceeded++
        this.bans.ban(req.peerId.toString(), this.opts.banDurationMs)
        setTimeout(() => void host.hangUp(req.peerId).catch(() => {}), 50).unref()
      },
      onServed: (def, chunks, bytes) => this.count(def, chunks, bytes),
      onConcurrency: (_def, open) => {
        this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, open)
      },
      onColumnsAsked: (columns) => {
        for (const c of columns) this.stats.columnsAsked.add(c)
      },
      onColumnIdsAsked: (ids) => {
        for (const { root, column } of ids)
          this.stats.columnIdsAsked.push(`${Buffer.from(root).toString('hex')}/${column}`)
      },
    })
    if (this.opts.serveBlocks === false) {
      for (const def of handlers.keys()) if (def.kind === 'data') handlers.delete(def)
    }
    const responseTypes = new ResponseTypes({ forkSchedule: this.forkSchedule, clock: this.clock })
    this.client = new ReqRespClient({ host, responseTypes, metrics: null })
    // Like Lodestar, no bound on a requester's open requests (its quota counts them): the handlers see, and
    // stats.maxConcurrent records, every request a peer opens, so tests can hold Contower to its own self-limit.
    this.server = new ReqRespServer(
      { host, scores: new PeerScores(), metrics: null, logger: this.modules.logger },
      handlers,
      { maxConcurrentPerPeer: Infinity },
    )
    await this.server.start()
    await host.start()
    this.gossip.start()
  }

  /**
   * The ENR a beacon node would advertise: its address, TCP port (and QUIC port when it listens on QUIC), as the
   * IPv6 keys on an IPv6 address, and the fork fields of the current epoch.
   */
  enr(): string {
    if (!this.privateKey) throw new Error('simulated peer not started')
    const tcp = this.multiaddr.getComponents().find((c) => c.name === 'tcp')
    const quic = this.quicMultiaddr?.getComponents().find((c) => c.name === 'udp')
    const where = isIPv6(this.opts.listenAddress)
      ? { ip6: this.opts.listenAddress, tcp6: Number(tcp?.value), ...(quic && { quic6: Number(quic.value) }) }
      : { ip: this.opts.listenAddress, tcp: Number(tcp?.value), ...(quic && { quic: Number(quic.value) }) }
    return signedEnr(this.privateKey, {
      ...where,
      ...forkFields(this.forkSchedule, Math.max(0, this.clock.currentEpoch)),
      attnets: this.metadata.attnets,
      syncnets: this.metadata.syncnets,
      custodyGroupCount: this.metadata.custodyGroupCount,
    })
  }

  /** Publishes the chain's block at `slot` on beacon_block, as its proposer would (false: no block or no peer). */
  async publishBlock(slot: number): Promise<boolean> {
    const block = this.modules.chain.blockAt(slot)
    if (!block) return false
    const digest = Buffer.from(this.digestAtSlot(slot)).toString('hex')
    try {
      await this.gossip.publish(formatTopic(digest, { kind: 'beacon_block', subnet: null }), block.ssz)
      return true
    } catch {
      return false // nobody in the mesh yet
    }
  }

  async stop(): Promise<void> {
    this.gossip.stop()
    await this.server?.stop()
    await this.host?.stop()
  }

  /** Sends one request and collects its chunks (throws the client's RequestError on failure). */
  async fetch(
    peer: PeerId,
    def: ProtocolDef,
    requestSsz: Uint8Array | null,
    maxChunks: number,
  ): Promise<ResponseChunk[]> {
    if (!this.client) throw new Error('simulated peer not started')
    const out: ResponseChunk[] = []
    for await (const chunk of this.client.request(peer, def, requestSsz, { maxChunks })) out.push(chunk)
    return out
  }

  servedCount(protocol: string): ServedCount {
    return this.stats.served.get(protocol) ?? { requests: 0, chunks: 0, bytes: 0 }
  }

  /** The chain this peer serves and advertises; a serving peer has every block up to the wall clock. */
  protected source(): BlockSource {
    const { chain } = this.modules
    const head = () => Math.max(0, this.clock.currentSlot)
    return {
      status: () => this.statusFor(chain.headAt(head()), head()),
      blocksInRange: (start, count) => chain.blocksInRange(start, count, head()),
      blockByRoot: (root) => chain.blockByRoot(root, head()),
      // A Fulu node stores and serves only the columns it custodies.
      column: (slot, index) => (this.custody.has(index) ? chain.dataColumnSidecar(slot, index) : null),
      strayBlocks: () => [chain.headAt(head()), chain.headAt(0)],
      digestAtSlot: (slot) => this.digestAtSlot(slot),
    }
  }

  protected statusFor(head: ChainBlock, headSlot: number): PeerStatus {
    const { chain } = this.modules
    const epoch = Math.floor(headSlot / chain.slotsPerEpoch)
    // Two epochs behind the head is when a healthy chain finalizes.
    const finalized = chain.checkpoint(Math.max(0, epoch - 2))
    return {
      forkDigest: this.digestAtSlot(Math.max(0, this.clock.currentSlot)),
      finalizedRoot: finalized.root,
      finalizedEpoch: finalized.epoch,
      headRoot: head.root,
      headSlot: head.slot,
      earliestAvailableSlot: 0,
    }
  }

  protected digestAtSlot(slot: number): Uint8Array {
    return this.forkSchedule.digestAtEpoch(Math.floor(slot / this.modules.chain.slotsPerEpoch))
  }

  private count(def: ProtocolDef, chunks: number, bytes: number): void {
    const c = this.stats.served.get(def.name) ?? { requests: 0, chunks: 0, bytes: 0 }
    c.requests++
    c.chunks += chunks
    c.bytes += bytes
    this.stats.served.set(def.name, c)
  }
}

/** A started simulated peer (on 127.0.0.1 by default) serving its chain (with serveBlocks: false, only the handshake). */
export async function startSimulatedPeer(
  modules: SimulatedPeerModules,
  opts: { serveBlocks?: boolean; listenAddress?: string; quic?: boolean; custodyGroupCount?: number } = {},
): Promise<SimulatedPeer> {
  const peer = new SimulatedPeer(modules, { ...SIMULATED_PEER_DEFAULTS, ...opts })
  await peer.start()
  return peer
}
