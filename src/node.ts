import { ContowerError } from './errors.js'
import { isIPv6 } from 'node:net'
import { ACTIVE_PRESET } from '@lodestar/params'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import { ChainView } from './chain/chainView.js'
import { BeaconApiSeeder } from './chain/beaconApi.js'
import { Clock } from './chain/clock.js'
import { ForkSchedule } from './chain/forkSchedule.js'
import { type Network } from './chain/resolveNetwork.js'
import type { ContowerConfig } from './config/types.js'
import type { Identity } from './identity/identity.js'
import { Lifecycle } from './lifecycle.js'
import type { Logger } from './logger.js'
import { createRegistry, registerNodeMetrics } from './metrics/registry.js'
import { type HealthReport, MetricsServer } from './status/server.js'
import { ConnectionMonitor } from './network/connectionMonitor.js'
import { type ContowerHost, createHost } from './network/host.js'
import { transportsByPeer } from './network/metrics.js'
import { transportOf } from './network/transport.js'
import { BanList } from './peers/banList.js'
import type { DialCandidate } from './peers/candidates.js'
import {
  autoCustodyGroupCount,
  custodyColumns,
  initialCustodyGroupCount,
  NUMBER_OF_CUSTODY_GROUPS,
  nodeIdOf,
} from './peers/custody.js'
import { HANDSHAKE_DEFAULTS, HandshakeService } from './peers/handshake.js'
import { createPeerMetrics } from './peers/metrics.js'
import { PeerStore } from './peers/peerStore.js'
import { PeerScores } from './peers/score.js'
import { StaticPeers } from './peers/staticPeers.js'
import { ReqRespClient } from './reqresp/client.js'
import { createLocalHandlers } from './reqresp/localHandlers.js'
import type { LocalMetadata } from './reqresp/messages.js'
import { createReqRespMetrics, type ReqRespMetrics } from './reqresp/metrics.js'
import { ResponseTypes } from './reqresp/responseTypes.js'
import { ReqRespServer } from './reqresp/server.js'
import { RELAY_SERVICE_DEFAULTS, RelayService, type RelayServiceOpts } from './relay/relayService.js'
import type { Discovery, DiscoveryOpts } from './discovery/discovery.js'
import { DiscoveryError } from './discovery/errors.js'
import { readiness, type ReadinessReport } from './status/readiness.js'
import { GossipError } from './gossip/errors.js'
import { GossipService, type GossipServiceOpts } from './gossip/gossipService.js'
import { parseSubscribeSpec, type SubscribeSpec } from './gossip/subscribeSpec.js'
import { ConfigError } from './config/errors.js'
import { hostConnectionLimit, PEER_MANAGER_DEFAULTS, PeerManager } from './peers/peerManager.js'
import type { ResponseCache } from './relay/responseCache.js'
import { StatusService } from './status/snapshot.js'
import { AGENT_VERSION, COMMIT, VERSION } from './version.js'
import type { Fleet, FleetOpts } from './fleet/fleet.js'

export const NODE_DEFAULTS = {
  /** How often `--custody-group-count auto` re-checks what the peers cover: the peer manager's heartbeat. */
  autoCustodyIntervalMs: 30_000,
}

/** A start-up failure worth one clear line (port in use, bad key…): the CLI prints it and exits 1. */
export class StartupError extends ContowerError<'STARTUP_FAILED'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STARTUP_FAILED', message, options)
  }
}

/** Overrides of the parts' defaults, for tests that need the schedules in milliseconds. */
export interface NodeOverrides {
  handshake?: Partial<typeof HANDSHAKE_DEFAULTS>
  relay?: Partial<typeof RELAY_SERVICE_DEFAULTS>
  peerManager?: Partial<typeof PEER_MANAGER_DEFAULTS>
  discovery?: DiscoveryOpts['tuning']
  gossipsub?: GossipServiceOpts['gossipsub']
  fleetCache?: FleetOpts['cache']
  blockRoots?: RelayServiceOpts['blockRoots']
}

export interface NodeModules {
  identity: Identity
  logger: Logger
  network: Network
}

/** Assembles Contower's parts and owns their lifecycle: started in order, stopped in reverse. */
export class ContowerNode {
  readonly registry: Registry | null
  readonly forkSchedule: ForkSchedule
  readonly clock: Clock
  readonly peerStore = new PeerStore()
  readonly scores = new PeerScores()
  readonly bans = new BanList()
  readonly chainView: ChainView
  readonly metadata: LocalMetadata
  private readonly seeder: BeaconApiSeeder | null
  private staticPeers: StaticPeers | null = null
  private host: ContowerHost | null = null
  private server: ReqRespServer | null = null
  private handshake: HandshakeService | null = null
  private relayService: RelayService | null = null
  private peerManager: PeerManager | null = null
  private discovery: Discovery | null = null
  readonly gossip: GossipService
  private fleet: Fleet | null = null
  private metricsServer: MetricsServer | null = null
  private statusService: StatusService | null = null
  private startedAtMs = 0
  private readonly lifecycle = new Lifecycle()
  private stopping: Promise<void> | null = null

  constructor(
    private readonly modules: NodeModules,
    private readonly config: ContowerConfig,
    private readonly overrides: NodeOverrides = {},
  ) {
    this.registry = config.metrics ? createRegistry() : null
    const { network } = modules
    if (ACTIVE_PRESET !== network.config.presetBase) {
      // SSZ types were built for another preset: every size bound would be wrong.
      throw new StartupError(
        `SSZ preset ${ACTIVE_PRESET} is active but ${network.name} uses ${network.config.presetBase}; set it before loading the node`,
      )
    }
    this.forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    this.clock = Clock.fromChainConfig(network.config, network.genesisTime)
    this.chainView = new ChainView({
      clock: this.clock,
      forkSchedule: this.forkSchedule,
      peerStatuses: () => this.handshakenStatuses(),
      seed: () => this.seeder?.seed ?? null,
    })
    this.seeder = config.beaconApi
      ? new BeaconApiSeeder({ logger: modules.logger.child({ module: 'beacon-api' }) }, { url: config.beaconApi })
      : null
    this.gossip = new GossipService(
      {
        forkSchedule: this.forkSchedule,
        clock: this.clock,
        registry: this.registry,
        logger: modules.logger.child({ module: 'gossip' }),
      },
      { subscribe: subscriptions(config), gossipsub: overrides.gossipsub },
    )
    this.gossip.onAccepted((kind, ssz, from) => {
      if (kind === 'beacon_block' && !this.chainView.noteRelayedBlock(ssz, from)) {
        modules.logger.debug('gossip block not usable as head')
      }
    })
    // What MetaData and the ENR advertise is exactly what is relayed: the subscribed subnets.
    const subnets = this.gossip.subnets()
    this.metadata = {
      // Only the identity key survives a restart, so the sequence number is the start time: it still grows
      // across restarts, which is what peers need to refetch our MetaData.
      seqNumber: BigInt(Math.floor(Date.now() / 1000)),
      attnets: subnets.beacon_attestation,
      syncnets: subnets.sync_committee,
      custodyGroupCount: initialCustodyGroupCount(config.custodyGroupCount),
    }
  }

  private *handshakenStatuses() {
    for (const p of this.peerStore.all()) if (p.handshaken && p.status) yield p.status
  }

  get libp2p(): ContowerHost {
    if (!this.host) throw new Error('node not started')
    return this.host
  }

  get relayCache(): ResponseCache {
    if (!this.relayService) throw new Error('node not started')
    return this.relayService.cache
  }

  get listenAddresses(): Multiaddr[] {
    return this.host?.getMultiaddrs() ?? []
  }

  get metricsAddress(): { address: string; port: number } | null {
    return this.metricsServer?.address ?? null
  }

  async start(): Promise<void> {
    const { logger } = this.modules
    this.startedAtMs = Date.now()
    this.logChain()
    const connections = new ConnectionMonitor({ registry: this.registry })
    const host = (this.host = await this.createHost(connections))
    const responseTypes = new ResponseTypes({ forkSchedule: this.forkSchedule, clock: this.clock })
    const reqrespMetrics = this.registry ? createReqRespMetrics(this.registry) : null
    // One client for the handshakes and the relay's upstream calls.
    const client = new ReqRespClient({ host, responseTypes, metrics: reqrespMetrics })
    this.fleet = this.config.fleetRedis ? await this.createFleet(this.config.fleetRedis, host) : null
    this.handshake = this.createHandshake(host, client, responseTypes)
    this.relayService = this.createRelayService(host, client, responseTypes, reqrespMetrics)
    this.server = new ReqRespServer(
      { host, scores: this.scores, metrics: reqrespMetrics, logger: logger.child({ module: 'reqresp' }) },
      new Map([
        ...createLocalHandlers({ handshake: this.handshake, chainView: this.chainView, metadata: this.metadata }),
        ...this.relayService.handlers(),
      ]),
    )
    this.peerManager = this.createPeerManager(host, connections)
    this.staticPeers = new StaticPeers(
      { host, connections, logger: logger.child({ module: 'static-peers' }) },
      this.config.staticPeers,
    )
    this.statusService = this.createStatus()
    const custody = new Interval(() => this.followCustody(), NODE_DEFAULTS.autoCustodyIntervalMs)
    // Stopped in reverse: the peer services say Goodbye while the host is still up, the host goes down late.
    await this.lifecycle.start([
      ...(this.seeder ? [this.seeder] : []),
      { start: () => connections.start(host), stop: () => connections.stop() },
      { start: () => {}, stop: () => host.stop() },
      // Never blocks start-up for longer than its connect timeout: without Redis the relay serves alone.
      ...(this.fleet ? [this.fleet] : []),
      this.relayService,
      // Handlers and listeners before the host listens, so the first inbound stream already finds them.
      this.server,
      this.handshake,
      this.peerManager,
      { start: () => this.listen(), stop: () => {} },
      this.gossip,
      this.staticPeers, // stopped before the peer manager: no redials while saying Goodbye
      { start: () => this.startDiscovery(), stop: () => this.discovery?.stop() },
      ...(this.config.custodyGroupCount === 'auto' ? [custody] : []),
      this.statusService,
      { start: () => this.serveMetrics(), stop: () => this.metricsServer?.stop() },
    ])
  }

  private logChain(): void {
    const epoch = this.clock.currentEpoch
    this.modules.logger.info(
      {
        network: this.modules.network.name,
        preset: ACTIVE_PRESET,
        fork: this.forkSchedule.forkAtEpoch(epoch).name,
        forkDigest: Buffer.from(this.forkSchedule.digestAtEpoch(epoch)).toString('hex'),
        epoch,
        slot: this.clock.currentSlot,
      },
      'chain',
    )
  }

  private createHost(connections: ConnectionMonitor): Promise<ContowerHost> {
    const { config } = this
    return createHost(
      {
        privateKey: this.modules.identity.privateKey,
        registry: this.registry,
        // Static peers are trusted by the operator: never refused, whatever their score.
        isBanned: (peer) => !this.staticPeers?.isStatic(peer) && this.bans.isBanned(peer.toString()),
        gossipsub: this.gossip.gossipsubFactory(),
        inboundUpgrades: connections.inboundUpgrades,
      },
      {
        listenAddress: config.listenAddress,
        port: config.port,
        quicPort: config.quic ? config.quicPort : null,
        // Headroom over max-peers: the peer manager says Goodbye(129) to the excess, libp2p would just drop it.
        maxPeers: hostConnectionLimit(config.maxPeers),
        agentVersion: AGENT_VERSION,
      },
    )
  }

  private createHandshake(host: ContowerHost, client: ReqRespClient, responseTypes: ResponseTypes): HandshakeService {
    return new HandshakeService(
      {
        host,
        client,
        peerStore: this.peerStore,
        chainView: this.chainView,
        scores: this.scores,
        bans: this.bans,
        responseTypes,
        metadata: this.metadata,
        enrCustodyGroupCount: (peer) => this.peerManager?.enrCustodyGroupCount(peer),
        isStatic: (peer) => this.staticPeers?.isStatic(peer) ?? false,
        receivesBlocks: (peer) => this.gossip.inBlockMesh(peer),
        onHandshaken: () => this.relayService?.queue.notify(), // a request may be waiting for this very peer
        metrics: this.registry ? createPeerMetrics(this.registry, this.peerStore) : null,
        logger: this.modules.logger.child({ module: 'peers' }),
      },
      this.overrides.handshake,
    )
  }

  private createRelayService(
    host: ContowerHost,
    client: ReqRespClient,
    responseTypes: ResponseTypes,
    reqrespMetrics: ReqRespMetrics | null,
  ): RelayService {
    return new RelayService(
      {
        host,
        client,
        peerStore: this.peerStore,
        scores: this.scores,
        forkSchedule: this.forkSchedule,
        clock: this.clock,
        chainView: this.chainView,
        responseTypes,
        reqrespMetrics,
        registry: this.registry,
        logger: this.modules.logger.child({ module: 'relay' }),
        isPreferred: (peer) => this.staticPeers?.isStatic(peer) ?? false,
        fleet: this.fleet,
      },
      {
        cacheMaxBytes: this.config.cacheMaxBytes,
        rateLimits: this.config.rateLimits,
        tuning: this.overrides.relay,
        blockRoots: this.overrides.blockRoots,
      },
    )
  }

  private createPeerManager(host: ContowerHost, connections: ConnectionMonitor): PeerManager {
    const { config } = this
    return new PeerManager(
      {
        host,
        handshake: this.handshake!,
        peerStore: this.peerStore,
        scores: this.scores,
        bans: this.bans,
        isStatic: (peer) => this.staticPeers?.isStatic(peer) ?? false,
        requestMorePeers: config.discovery ? () => this.discovery?.requestMorePeers() : null,
        connections,
        addsCustody: (candidate) => this.addsCustody(candidate),
        registry: this.registry,
        logger: this.modules.logger.child({ module: 'peer-manager' }),
      },
      { targetPeers: config.targetPeers, maxPeers: config.maxPeers, ...this.overrides.peerManager },
    )
  }

  /** The host listens (TCP, and QUIC when enabled) and gossip starts; a taken port is a one-line start-up failure. */
  private async listen(): Promise<void> {
    const { config } = this
    try {
      await this.libp2p.start()
    } catch (e) {
      const quic = config.quic ? ` or ${config.quicPort} (QUIC, UDP)` : ''
      // An IPv6 address in brackets, so that its port reads as one (RFC 3986 host:port).
      const host = isIPv6(config.listenAddress) ? `[${config.listenAddress}]` : config.listenAddress
      throw new StartupError(`cannot listen on ${host}:${config.port} (TCP)${quic}: ${describeListenError(e)}`, {
        cause: e,
      })
    }
    const addrs = this.listenAddresses.map(String)
    const peerId = this.modules.identity.peerId.toString()
    this.modules.logger.info({ peerId, addrs, topics: this.gossip.topics().length }, 'libp2p host started')
  }

  /** /metrics, /health, /ready and the status page, when --metrics is on. */
  private async serveMetrics(): Promise<void> {
    const { config, registry } = this
    if (!registry) return
    registerNodeMetrics(registry, {
      version: VERSION,
      commit: COMMIT,
      peerCount: () => this.host?.getPeers().length ?? 0,
      slot: () => this.clock.currentSlot,
      headSlot: () => this.chainView.status().headSlot,
    })
    this.metricsServer = new MetricsServer(
      {
        registry,
        health: () => this.health(),
        ready: () => this.readiness(),
        status: () => this.status.snapshot(),
        logger: this.modules.logger.child({ module: 'metrics' }),
      },
      { address: config.metricsAddress, port: config.metricsPort },
    )
    try {
      await this.metricsServer.start()
    } catch (e) {
      this.metricsServer = null
      throw new StartupError(
        `cannot serve metrics on ${config.metricsAddress}:${config.metricsPort}: ${describeListenError(e)}`,
        { cause: e },
      )
    }
    const addr = this.metricsServer.address
    this.modules.logger.info({ address: addr?.address, port: addr?.port }, 'metrics and health served')
  }

  /**
   * The fleet's parts; an unreadable password file is a start-up failure, an unreachable Redis is not. Loaded only
   * with --fleet-redis: a lone relay never loads the Redis client.
   */
  private async createFleet(url: string, host: ContowerHost): Promise<Fleet> {
    const { Fleet, FleetSetupError } = await import('./fleet/fleet.js')
    const { logger } = this.modules
    try {
      return new Fleet(
        {
          bans: this.bans,
          scores: this.scores,
          hangUp: (peer) => {
            const connected = host.getPeers().find((p) => p.toString() === peer)
            if (connected) void host.hangUp(connected).catch(() => {})
          },
          ownLoad: () => this.relayService?.upstreamLimiter.openByPeer() ?? new Map(),
          registry: this.registry,
          logger: logger.child({ module: 'fleet' }),
        },
        {
          url,
          passwordFile: this.config.fleetRedisPasswordFile,
          network: this.modules.network.name,
          cache: this.overrides.fleetCache,
        },
      )
    } catch (e) {
      if (e instanceof FleetSetupError) throw new StartupError(e.message, { cause: e })
      throw e
    }
  }

  /**
   * discv5 advertising the host's bound TCP and QUIC ports; its peers become the peer manager's dial candidates
   * (their QUIC address first when we speak QUIC).
   */
  private async startDiscovery(): Promise<void> {
    if (this.config.discovery !== true) return // discv5 and the ENR libraries are not even loaded
    const { discoveryFromConfig } = await import('./discovery/fromConfig.js')
    this.discovery = discoveryFromConfig(
      {
        privateKey: this.modules.identity.privateKey,
        forkSchedule: this.forkSchedule,
        clock: this.clock,
        logger: this.modules.logger.child({ module: 'discovery' }),
        registry: this.registry,
      },
      {
        ...this.config,
        attnets: [...this.metadata.attnets],
        syncnets: [...this.metadata.syncnets],
        custodyGroupCount: this.metadata.custodyGroupCount,
      },
      { tcpPort: this.boundPort('tcp') ?? this.config.port, quicPort: this.boundPort('quic') ?? 0 },
      this.overrides.discovery,
    )
    if (!this.discovery) return
    const dialable = (addr: Multiaddr) => this.config.quic || transportOf(addr) !== 'quic'
    this.discovery.onDiscovered((peer) =>
      this.peerManager?.addCandidates([
        {
          peerId: peer.peerId,
          multiaddrs: peer.multiaddrs.filter(dialable),
          custodyGroupCount: peer.custodyGroupCount,
        },
      ]),
    )
    try {
      await this.discovery.start()
    } catch (e) {
      if (e instanceof DiscoveryError) throw new StartupError(e.message, { cause: e })
      throw e
    }
    this.modules.logger.info({ enr: this.discovery.enr }, 'discovery started')
    this.peerManager?.heartbeat() // ask for peers now rather than at the first heartbeat
  }

  /** The port the host listens on over `transport` (the bound one when the option was 0), or null. */
  boundPort(transport: 'tcp' | 'quic'): number | null {
    const addr = this.listenAddresses.find((a) => transportOf(a) === transport)
    const port = addr?.getComponents().find((c) => c.name === (transport === 'tcp' ? 'tcp' : 'udp'))?.value
    return port !== undefined ? Number(port) : null
  }

  /** What the status line and page show (see status/snapshot.ts). */
  get status(): StatusService {
    if (!this.statusService) throw new Error('node not started')
    return this.statusService
  }

  private createStatus(): StatusService {
    const { config } = this
    return new StatusService({
      registry: this.registry,
      version: VERSION,
      network: this.modules.network.name,
      startedAtMs: this.startedAtMs,
      slot: () => this.clock.currentSlot,
      headSlot: () => this.chainView.status().headSlot,
      peers: () => {
        const transports = transportsByPeer(this.libp2p)
        return [...this.peerStore.all()].map((p) => ({
          peer: p.peerId.toString(),
          client: p.client,
          direction: p.direction,
          // 'none' for a peer whose last connection closed before the store dropped it.
          transport: transports.get(p.peerId.toString()) ?? 'none',
          handshaken: p.handshaken,
          pingMs: p.pingRttMs ?? null,
          headSlot: p.status?.headSlot ?? null,
        }))
      },
      score: (peer) => this.scores.score(peer),
      targetPeers: config.targetPeers,
      mesh: () => this.gossip.meshCoverage(),
      custody: {
        groups: this.metadata.custodyGroupCount,
        attnets: this.metadata.attnets.length,
        syncnets: this.metadata.syncnets.length,
      },
      discovery: () =>
        this.discovery ? { running: this.discovery.isRunning, tableSize: this.discovery.tableSize } : null,
      staticPeers: config.staticPeers.length,
      discoveryPort: config.discoveryPort,
    })
  }

  readiness(): ReadinessReport {
    return readiness({
      handshakenPeers: () => [...this.handshakenStatuses()].length,
      seeded: () => this.seeder?.seed != null,
      discoveryRunning: this.config.discovery ? () => this.discovery?.isRunning ?? false : null,
      custody: () => this.custodyCoverage(),
    })
  }

  /** Our advertised custody columns, and how many of them some handshaken peer custodies (what we can serve). */
  custodyCoverage(): { advertisedColumns: number; coveredColumns: number } {
    const ours = custodyColumns(this.nodeId, this.metadata.custodyGroupCount)
    const covered = this.relayService?.custodyCoverage() ?? new Set<number>()
    return { advertisedColumns: ours.length, coveredColumns: ours.filter((c) => covered.has(c)).length }
  }

  /** Whether a dial candidate custodies (by its ENR cgc) a column no handshaken peer does. */
  private addsCustody(candidate: DialCandidate): boolean {
    const nodeId = nodeIdOf(candidate.peerId)
    const cgc = candidate.custodyGroupCount
    if (nodeId === null || cgc == null || cgc > NUMBER_OF_CUSTODY_GROUPS) return false
    const covered = this.relayService?.custodyCoverage() ?? new Set<number>()
    return custodyColumns(nodeId, cgc).some((c) => !covered.has(c))
  }

  private get nodeId(): bigint {
    return nodeIdOf(this.modules.identity.peerId)!
  }

  /**
   * `--custody-group-count auto`: advertise the largest custody the handshaken peers cover together; a change
   * bumps MetaData's seq (peers refetch it) and updates the ENR.
   */
  followCustody(): void {
    const covered = this.relayService?.custodyCoverage()
    if (!covered) return
    const count = autoCustodyGroupCount(this.nodeId, covered)
    if (count === this.metadata.custodyGroupCount) return
    this.modules.logger.info({ from: this.metadata.custodyGroupCount, to: count }, 'custody group count follows peers')
    this.metadata.custodyGroupCount = count
    this.metadata.seqNumber++
    this.discovery?.updateLocalFields({ custodyGroupCount: count })
  }

  health(): HealthReport {
    return {
      status: 'ok',
      version: VERSION,
      peers: this.host?.getPeers().length ?? 0,
      uptimeSeconds: Math.round((Date.now() - this.startedAtMs) / 1000),
      ...(this.fleet ? { fleet: this.fleet.health } : {}),
    }
  }

  /** Stops everything in reverse start order; safe to call twice and after a failed start. */
  stop(): Promise<void> {
    this.stopping ??= this.stopParts()
    return this.stopping
  }

  private async stopParts(): Promise<void> {
    await this.lifecycle.stop((err) => this.modules.logger.warn({ err }, 'a part failed to stop'))
    this.modules.logger.info('stopped')
  }
}

/** A timer as a part: `run` every `intervalMs` while started. */
class Interval {
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly run: () => void,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(this.run, this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }
}

/** --subscribe plus the --attnets/--syncnets subnets; a bad item is a configuration error naming it. */
function subscriptions(config: ContowerConfig): SubscribeSpec {
  const items = config.subscribe.length > 0 ? [...config.subscribe] : ['default']
  for (const id of config.attnets) items.push(`beacon_attestation_${id}`)
  for (const id of config.syncnets) items.push(`sync_committee_${id}`)
  try {
    return parseSubscribeSpec(items)
  } catch (e) {
    if (e instanceof GossipError) {
      throw new ConfigError(`invalid value for 'subscribe': ${JSON.stringify(e.input)} (${e.detail})`, 'subscribe')
    }
    throw e
  }
}

/** The OS's reason, found under libp2p's wrapping (its message carries advice and a stack trace). */
function describeListenError(e: unknown): string {
  const reasons: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this machine',
    EACCES: 'permission denied',
  }
  for (
    let err = e as (Error & { code?: string; errors?: unknown[] }) | undefined, depth = 0;
    err && depth < 5;
    depth++
  ) {
    if (err.code && reasons[err.code]) return reasons[err.code]!
    const named = /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(err.message ?? '')
    if (named) return reasons[named[1]!]!
    err = (err.errors?.[0] ?? err.cause) as typeof err
  }
  return ((e as Error).message ?? String(e)).split('\n')[0]!
}
