import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { Registry } from 'prom-client'
import { ChainView } from '../../src/chain/chainView.js'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../src/chain/networks.js'
import { createLogger } from '../../src/logger.js'
import { ConnectionMonitor } from '../../src/network/connectionMonitor.js'
import { type ContowerHost, createHost } from '../../src/network/host.js'
import { BanList } from '../../src/peers/banList.js'
import { HANDSHAKE_DEFAULTS, HandshakeService } from '../../src/peers/handshake.js'
import { createPeerMetrics } from '../../src/peers/metrics.js'
import { PeerManager, type PeerManagerOptions } from '../../src/peers/peerManager.js'
import { PeerStore } from '../../src/peers/peerStore.js'
import { PeerScores } from '../../src/peers/score.js'
import { ReqRespClient } from '../../src/reqresp/client.js'
import { createLocalHandlers } from '../../src/reqresp/localHandlers.js'
import { ResponseTypes } from '../../src/reqresp/responseTypes.js'
import { ReqRespServer } from '../../src/reqresp/server.js'
import { type RecordedPeer, type StatusFields, serveBeaconProtocols } from './beaconPeer.js'
import { createTestPeer } from './peers.js'

export interface HarnessOptions {
  peerManager: PeerManagerOptions
  handshake?: Partial<typeof HANDSHAKE_DEFAULTS>
  /** libp2p's maxConnections; generous by default so the peer manager is the one enforcing maxPeers. */
  hostMaxConnections?: number
  staticPeers?: Set<string>
  requestMorePeers?: (count: number) => void
  /** Listen on QUIC beside TCP (an OS-chosen UDP port). */
  quic?: boolean
}

/**
 * The parts of a Contower node the peer manager works with, assembled as node.ts does (host, reqresp server with
 * the local handlers, HandshakeService, PeerManager) on 127.0.0.1, mainnet at the wall clock.
 */
export class PeerManagerHarness {
  readonly network = loadNetworkPreset('mainnet')
  readonly forkSchedule = new ForkSchedule(this.network.config, this.network.genesisValidatorsRoot)
  readonly clock = Clock.fromChainConfig(this.network.config, this.network.genesisTime)
  readonly peerStore = new PeerStore()
  readonly scores = new PeerScores()
  readonly bans = new BanList()
  readonly registry = new Registry()
  readonly chainView = new ChainView({
    clock: this.clock,
    forkSchedule: this.forkSchedule,
    peerStatuses: () => [...this.peerStore.all()].filter((p) => p.handshaken && p.status).map((p) => p.status!),
  })
  host!: ContowerHost
  readonly connections = new ConnectionMonitor({ registry: this.registry })
  handshake!: HandshakeService
  peerManager!: PeerManager
  private server!: ReqRespServer

  constructor(private readonly opts: HarnessOptions) {}

  async start(): Promise<this> {
    const logger = createLogger({ level: (process.env.TEST_LOG_LEVEL as 'silent') ?? 'silent', format: 'json' })
    const statics = this.opts.staticPeers ?? new Set<string>()
    this.host = await createHost(
      {
        privateKey: await generateKeyPair('secp256k1'),
        registry: null,
        isBanned: (peer) => !statics.has(peer.toString()) && this.bans.isBanned(peer.toString()),
        inboundUpgrades: this.connections.inboundUpgrades,
      },
      {
        listenAddress: '127.0.0.1',
        port: 0,
        quicPort: this.opts.quic ? 0 : null,
        maxPeers: this.opts.hostMaxConnections ?? 64,
        agentVersion: 'contower-test/0.0.0',
      },
    )
    this.connections.start(this.host)
    const responseTypes = new ResponseTypes({ forkSchedule: this.forkSchedule, clock: this.clock })
    const client = new ReqRespClient({ host: this.host, responseTypes, metrics: null })
    const metadata = { seqNumber: 1n, attnets: [], syncnets: [], custodyGroupCount: 4 }
    this.handshake = new HandshakeService(
      {
        host: this.host,
        client,
        peerStore: this.peerStore,
        chainView: this.chainView,
        scores: this.scores,
        bans: this.bans,
        responseTypes,
        metadata,
        metrics: createPeerMetrics(this.registry, this.peerStore),
        logger,
      },
      { ...HANDSHAKE_DEFAULTS, inboundStatusWaitMs: 100, ...this.opts.handshake },
    )
    this.server = new ReqRespServer(
      { host: this.host, scores: this.scores, metrics: null, logger },
      createLocalHandlers({ handshake: this.handshake, chainView: this.chainView, metadata }),
    )
    this.peerManager = new PeerManager(
      {
        host: this.host,
        handshake: this.handshake,
        peerStore: this.peerStore,
        scores: this.scores,
        bans: this.bans,
        isStatic: (peer) => statics.has(peer.toString()),
        requestMorePeers: this.opts.requestMorePeers ?? null,
        connections: this.connections,
        registry: this.registry,
        logger,
      },
      this.opts.peerManager,
    )
    await this.server.start()
    this.handshake.start()
    this.peerManager.start()
    await this.host.start()
    return this
  }

  async stop(): Promise<void> {
    this.peerManager.stop()
    await this.handshake.stop()
    await this.server.stop()
    await this.host.stop()
    this.connections.stop()
  }

  /** A Status this node finds relevant: its digest, head one slot behind the wall clock, one finalized root. */
  goodStatus(): StatusFields {
    return {
      forkDigest: this.chainView.currentDigest(),
      finalizedRoot: new Uint8Array(32).fill(0xaa),
      finalizedEpoch: 100,
      headRoot: new Uint8Array(32).fill(0xbb),
      headSlot: this.clock.currentSlot - 1,
      earliestAvailableSlot: 0,
    }
  }

  handshakenCount(): number {
    return [...this.peerStore.all()].filter((p) => p.handshaken).length
  }

  async metric(name: string): Promise<string> {
    return this.registry.getSingleMetricAsString(name)
  }
}

export interface BeaconTestPeer {
  host: Libp2p
  seen: RecordedPeer
}

/**
 * A libp2p host on 127.0.0.1 (mplex, like Lodestar; or QUIC alone) answering Status/Ping/MetaData/Goodbye as a
 * beacon node.
 */
export async function beaconTestPeer(
  status: () => StatusFields,
  transport: 'tcp' | 'quic' = 'tcp',
): Promise<BeaconTestPeer> {
  const host = (await createTestPeer({ muxers: 'mplex', transport })) as Libp2p
  await host.start()
  const seen = await serveBeaconProtocols(host, status)
  return { host, seen }
}
