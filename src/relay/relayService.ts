import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import { BLOCK_ROOT_HASHER_DEFAULTS, BlockRootHasher } from '../chain/blockRootHasher.js'
import type { ChainView } from '../chain/chainView.js'
import type { Clock } from '../chain/clock.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import { GLOBAL_QUOTA_KEY } from '../spec/quotas.js'
import { InboundRateLimiter } from '../limits/inboundLimiter.js'
import { quotaMap } from '../limits/quota.js'
import { UpstreamLimiter } from '../limits/upstreamLimiter.js'
import type { Logger } from '../logger.js'
import type { PeerStore } from '../peers/peerStore.js'
import type { PeerScores } from '../peers/score.js'
import type { ReqRespClient } from '../reqresp/client.js'
import type { ReqRespMetrics } from '../reqresp/metrics.js'
import { PROTOCOLS, type ProtocolDef } from '../reqresp/protocols.js'
import type { ResponseTypes } from '../reqresp/responseTypes.js'
import type { RequestHandler } from '../reqresp/server.js'
import { coveredColumns } from './columnPlan.js'
import { createRelayMetrics } from './metrics.js'
import { RELAY_DEFAULTS, Relay, type SharedResponseTier } from './relay.js'
import { ResponseCache } from './responseCache.js'
import { UPSTREAM_QUEUE_DEFAULTS, UpstreamQueue } from './upstreamQueue.js'
import { UPSTREAM_SELECTOR_DEFAULTS, UpstreamSelector } from './upstreamSelector.js'

export const RELAY_SERVICE_DEFAULTS = {
  ...RELAY_DEFAULTS,
  ...UPSTREAM_QUEUE_DEFAULTS,
  ...UPSTREAM_SELECTOR_DEFAULTS,
  /** How often idle limiter buckets are dropped (bounded memory with peer churn). */
  pruneIntervalMs: 60_000,
}

export interface RelayServiceModules {
  host: Libp2p
  /** The node's one req/resp client: the relay asks its upstreams through it. */
  client: ReqRespClient
  peerStore: PeerStore
  scores: PeerScores
  forkSchedule: ForkSchedule
  clock: Clock
  chainView: ChainView
  responseTypes: ResponseTypes
  reqrespMetrics: ReqRespMetrics | null
  registry: Registry | null
  logger: Logger
  isPreferred(peer: string): boolean
  /** The fleet's shared cache tier and the load other instances put on each upstream; absent without a fleet. */
  fleet?: { cache: SharedResponseTier; load: { elsewhere(peer: string): number } } | null
}

export interface RelayServiceOpts {
  cacheMaxBytes: number
  /** protocol:tokens/seconds overrides of the inbound quotas; `global:` sets the all-peers bucket. */
  rateLimits: readonly string[]
  tuning?: Partial<typeof RELAY_SERVICE_DEFAULTS>
  /** Where block roots are hashed (tests and benchmarks name the worker's file; default: the build's). */
  blockRoots?: Partial<typeof BLOCK_ROOT_HASHER_DEFAULTS>
}

/** The relay and everything in its path (limiters, cache, queue, upstream choice), with their lifecycle. */
export class RelayService {
  readonly cache: ResponseCache
  readonly queue: UpstreamQueue
  readonly upstreamLimiter: UpstreamLimiter
  readonly inboundLimiter: InboundRateLimiter
  private readonly selector: UpstreamSelector
  private readonly relay: Relay
  private readonly blockRoots: BlockRootHasher
  private readonly tuning: typeof RELAY_SERVICE_DEFAULTS
  private pruneTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly modules: RelayServiceModules,
    opts: RelayServiceOpts,
  ) {
    const tuning = (this.tuning = { ...RELAY_SERVICE_DEFAULTS, ...opts.tuning })
    const quotas = quotaMap(opts.rateLimits)
    const globalQuota = quotas.get(GLOBAL_QUOTA_KEY) ?? null
    quotas.delete(GLOBAL_QUOTA_KEY)
    this.inboundLimiter = new InboundRateLimiter({}, { quotas, globalQuota })
    // Each upstream is held to its own client's quotas; until identify names the client, to every client's.
    this.upstreamLimiter = new UpstreamLimiter({ clientOf: (peer) => modules.peerStore.get(peer)?.client ?? 'other' })
    this.cache = new ResponseCache({}, { maxBytes: opts.cacheMaxBytes })
    this.selector = new UpstreamSelector(
      {
        peerStore: modules.peerStore,
        scores: modules.scores,
        limiter: this.upstreamLimiter,
        clock: modules.clock,
        isPreferred: modules.isPreferred,
        fleetLoad: modules.fleet ? (peer) => modules.fleet!.load.elsewhere(peer) : undefined,
      },
      tuning,
    )
    const metrics = modules.registry
      ? createRelayMetrics(modules.registry, {
          cacheStats: () => this.cache.stats,
          queueDepth: () => this.queue.depth,
          custodyCoverage: () => this.custodyCoverage().size,
          blockRootStats: () => this.blockRoots.stats,
        })
      : null
    this.queue = new UpstreamQueue(
      { selector: this.selector, onWait: (ms) => metrics?.queueWaitSeconds.observe(ms / 1000) },
      tuning,
    )
    this.blockRoots = new BlockRootHasher(
      {
        onWorkerError: (e) =>
          modules.logger.warn({ err: e.message }, 'block root worker failed; hashing on the main thread'),
      },
      opts.blockRoots,
    )
    this.relay = new Relay(
      {
        client: modules.client,
        selector: this.selector,
        queue: this.queue,
        cache: this.cache,
        limiter: this.inboundLimiter,
        scores: modules.scores,
        forkSchedule: modules.forkSchedule,
        clock: modules.clock,
        responseTypes: modules.responseTypes,
        chainView: modules.chainView,
        metrics,
        logger: modules.logger,
        shared: modules.fleet?.cache ?? null,
        blockRoots: this.blockRoots,
      },
      tuning,
    )
  }

  /** Columns that at least one handshaken peer custodies: what a column request can be answered with. */
  custodyCoverage(): Set<number> {
    const peers = [...this.modules.peerStore.all()].filter((p) => p.handshaken)
    return coveredColumns(peers.map((p) => p.custody?.columns))
  }

  /** A handler for every data protocol of the registry: all of them are forwarded. */
  handlers(): Map<ProtocolDef, RequestHandler> {
    const out = new Map<ProtocolDef, RequestHandler>()
    for (const def of PROTOCOLS.values()) if (def.kind === 'data') out.set(def, this.relay.handlerFor(def))
    return out
  }

  start(): void {
    this.modules.host.addEventListener('peer:disconnect', this.onDisconnect)
    this.pruneTimer = setInterval(() => {
      this.inboundLimiter.prune()
      this.upstreamLimiter.prune()
    }, this.tuning.pruneIntervalMs)
    this.pruneTimer.unref()
  }

  stop(): void {
    this.modules.host.removeEventListener('peer:disconnect', this.onDisconnect)
    if (this.pruneTimer) clearInterval(this.pruneTimer)
    this.pruneTimer = null
    this.queue.notify() // waiters re-check and find their requests aborted by the server
    void this.blockRoots.stop() // roots still pending are hashed on this thread
  }

  // Upstream buckets outlive a disconnect: a peer that reconnects still remembers what we asked of it.
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    this.inboundLimiter.forgetPeer(peer)
    this.selector.forgetPeer(peer)
  }
}
