/**
 * Contower's place in the gossip mesh. Owns the subscriptions (the `--subscribe` topics for the current fork digest,
 * the next digest's from two epochs before its fork, the old digest's until two epochs after it), validates every
 * message gossipsub delivers and reports ACCEPT / IGNORE / REJECT back, so gossipsub forwards only what passed.
 * A message is only ever forwarded on the topic it came on: nothing crosses from one digest to another.
 *
 *   const gossip = new GossipService({ forkSchedule, clock, registry, logger }, { subscribe })
 *   const host = await createHost({ …, gossipsub: gossip.gossipsubFactory() }, …)
 *   await host.start(); gossip.start()   …   gossip.stop(); await host.stop()
 */
import {
  gossipsub,
  type GossipSub,
  type GossipSubComponents,
  type GossipsubMessage,
  type PublishResult,
  TopicValidatorResult,
} from '@libp2p/gossipsub'
import type { Registry } from 'prom-client'
import type { Clock } from '../chain/clock.js'
import type { DigestBoundary, ForkSchedule } from '../chain/forkSchedule.js'
import type { Logger } from '../logger.js'
import { promMetricsRegister } from '../metrics/promRegister.js'
import { compressBlock } from '../wire/snappyBlock.js'
import { GossipError, GossipErrorCode } from './errors.js'
import { GossipCodec, type TopicInfo } from './gossipCodec.js'
import {
  GOSSIPSUB_DUPLICATES_METRIC,
  GOSSIPSUB_FORWARDS_METRIC,
  gossipsubMetricsTap,
  type MetricTap,
} from './gossipsubMetrics.js'
import { createGossipMetrics, type GossipMetrics } from './metrics.js'
import { GOSSIPSUB_PARAMS_DEFAULTS, type GossipsubParamsOpts, gossipsubOptions } from './params.js'
import { DEFAULT_SUBSCRIBE, type SubscribeSpec, subscribedSubnets } from './subscribeSpec.js'
import { formatTopic, isSubnetKind, kindExistsInFork, parseTopic, TOPIC_KINDS, type TopicKind } from './topics.js'
import { GossipValidator, OLD_DIGEST_EPOCHS } from './validation.js'
import { ignore, type Verdict } from './verdict.js'
import { VERDICT_LOG_DEFAULTS, VerdictLog, type VerdictLogOpts } from './verdictLog.js'

export const GOSSIP_SERVICE_DEFAULTS = {
  /** The default topic set (global topics only): see subscribeSpec.ts. */
  subscribe: DEFAULT_SUBSCRIBE.map((kind) => ({ kind, subnet: null })) as SubscribeSpec,
  /** Join the next digest's topics this many epochs before its fork, so meshes exist when it starts (Lodestar: 2). */
  nextDigestLookaheadEpochs: 2,
  /** Leave the old digest's topics this many epochs after the fork (altair p2p-interface.md). */
  oldDigestEpochs: OLD_DIGEST_EPOCHS,
  /** gossipsub parameters that depend on the deployment (validator count estimate, IP whitelist). */
  gossipsub: GOSSIPSUB_PARAMS_DEFAULTS as Partial<GossipsubParamsOpts>,
  /** Debug lines per dropped message, and the warning threshold of rejections per peer (verdictLog.ts). */
  verdictLog: VERDICT_LOG_DEFAULTS as Partial<VerdictLogOpts>,
}

export type GossipServiceOpts = typeof GOSSIP_SERVICE_DEFAULTS

export interface GossipServiceModules {
  forkSchedule: ForkSchedule
  clock: Clock
  /** Where the gossip metrics register; null = no metrics. */
  registry: Registry | null
  logger: Logger
  /** Unix ms for validation time windows; Date.now unless a test fakes time. */
  now?: () => number
}

/** An accepted message: its topic kind, its SSZ bytes, and the peer it reached us from (its propagation source). */
export type AcceptedListener = (kind: TopicKind, ssz: Uint8Array, from: string) => void

const KNOWN_KINDS: ReadonlySet<string> = new Set(TOPIC_KINDS)
/** setTimeout's largest delay. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/**
 * The router methods Contower calls beyond the exported GossipSub interface: @libp2p/gossipsub 17's class has them
 * (asyncValidation depends on the second) but does not export its type.
 */
export interface GossipSubRouter extends GossipSub {
  getMeshPeers(topic: string): string[]
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: TopicValidatorResult): void
}

function asRouter(gs: GossipSub): GossipSubRouter {
  const router = gs as GossipSubRouter
  if (typeof router.reportMessageValidationResult !== 'function' || typeof router.getMeshPeers !== 'function') {
    throw new TypeError('this @libp2p/gossipsub has no reportMessageValidationResult/getMeshPeers')
  }
  return router
}

export class GossipService {
  readonly codec: GossipCodec
  readonly validator: GossipValidator
  readonly metrics: GossipMetrics | null
  private readonly opts: GossipServiceOpts
  private gossipsub: GossipSubRouter | null = null
  /** Topics we are subscribed to, with what validation needs about them. */
  private readonly subscribed = new Map<string, TopicInfo>()
  private timer: NodeJS.Timeout | null = null
  private started = false
  private readonly acceptedListeners: AcceptedListener[] = []
  private readonly verdictLog: VerdictLog

  constructor(
    private readonly modules: GossipServiceModules,
    opts: Partial<GossipServiceOpts> = {},
  ) {
    this.opts = { ...GOSSIP_SERVICE_DEFAULTS, ...opts }
    this.codec = new GossipCodec({ forkSchedule: modules.forkSchedule })
    this.validator = new GossipValidator({ clock: modules.clock, forkSchedule: modules.forkSchedule, now: modules.now })
    this.verdictLog = new VerdictLog({ logger: modules.logger, now: modules.now }, this.opts.verdictLog)
    this.metrics = modules.registry
      ? createGossipMetrics(modules.registry, { meshPeersPerMainTopic: () => this.meshPeersPerMainTopic() })
      : null
  }

  /** The gossipsub service for createHost: our options, and the instance is kept for start(). */
  gossipsubFactory(): (components: GossipSubComponents) => GossipSub {
    const { metrics } = this
    const byKind =
      (count: (kind: string) => void): MetricTap =>
      (label) =>
        count(KNOWN_KINDS.has(label) ? label : 'unknown')
    const { registry } = this.modules
    const metricsRegister =
      metrics && registry
        ? gossipsubMetricsTap(
            {
              [GOSSIPSUB_DUPLICATES_METRIC]: byKind((kind) => metrics.duplicates.inc({ kind })),
              [GOSSIPSUB_FORWARDS_METRIC]: byKind((kind) => metrics.forwarded.inc({ kind })),
            },
            promMetricsRegister(registry),
          )
        : null
    const factory = gossipsub(
      gossipsubOptions(
        { forkSchedule: this.modules.forkSchedule, codec: this.codec, metricsRegister },
        this.opts.gossipsub,
      ),
    )
    return (components) => {
      const gs = factory(components)
      this.attach(gs)
      return gs
    }
  }

  /** Use this gossipsub instance (done by gossipsubFactory(); for a host built another way, before start()). */
  attach(gs: GossipSub): void {
    if (this.started) throw new GossipError(GossipErrorCode.LIFECYCLE, 'gossipsub', 'attach before start()')
    this.gossipsub = asRouter(gs)
  }

  /** Subscribe and validate; the host (and so gossipsub) must already be started. */
  start(): void {
    if (this.started) return
    if (this.gossipsub === null) {
      throw new GossipError(GossipErrorCode.LIFECYCLE, 'gossipsub', 'create the host with gossipsubFactory() first')
    }
    this.started = true
    this.gossipsub.addEventListener('gossipsub:message', this.onMessage)
    this.refreshSubscriptions()
  }

  /**
   * Leave every topic and stop validating; idempotent. Call it before stopping the host: a topic left subscribed
   * without a validator would take messages that are never forwarded, which peers score as a failing mesh member.
   */
  stop(): void {
    if (!this.started) return
    this.started = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const gs = this.gossipsub
    gs?.removeEventListener('gossipsub:message', this.onMessage)
    for (const topic of this.subscribed.keys()) {
      try {
        gs?.unsubscribe(topic)
      } catch {
        // gossipsub already stopped (the host went first): its subscriptions are gone anyway.
      }
    }
    this.subscribed.clear()
  }

  /** Topic strings we are subscribed to now. */
  topics(): string[] {
    return [...this.subscribed.keys()]
  }

  /** Subnets the subscriptions cover: what MetaData/ENR attnets, syncnets (and custody) should advertise. */
  subnets(): Record<'beacon_attestation' | 'sync_committee' | 'data_column_sidecar', number[]> {
    return subscribedSubnets(this.opts.subscribe)
  }

  /** The fork-digest boundaries whose topics we should be on at `epoch`. */
  activeBoundaries(epoch: number): DigestBoundary[] {
    const { forkSchedule } = this.modules
    const current = forkSchedule.boundaryAtEpoch(epoch)
    const out = [current]
    const next = forkSchedule.nextBoundary(epoch)
    if (next && next.epoch - epoch <= this.opts.nextDigestLookaheadEpochs) out.push(next)
    const index = forkSchedule.boundaries.indexOf(current)
    const previous = index > 0 ? forkSchedule.boundaries[index - 1]! : null
    if (previous && epoch < current.epoch + this.opts.oldDigestEpochs) out.push(previous)
    return out
  }

  /**
   * Publish SSZ bytes on `topic` (snappy-compressed here). The topic must be one of this chain's; it need not be
   * subscribed. Rejects with gossipsub's error when no peer takes it.
   */
  async publish(topic: string, ssz: Uint8Array): Promise<PublishResult> {
    const parsed = parseTopic(topic)
    if (this.codec.topicInfo(topic) === null) {
      throw new GossipError(
        GossipErrorCode.TOPIC_UNKNOWN_DIGEST,
        topic,
        `no fork of this chain has digest ${parsed.digestHex}`,
      )
    }
    if (!this.started || this.gossipsub === null) {
      throw new GossipError(GossipErrorCode.LIFECYCLE, topic, 'the gossip service is not running')
    }
    try {
      const result = await this.gossipsub.publish(topic, compressBlock(ssz))
      this.metrics?.published.inc({ kind: parsed.kind })
      return result
    } catch (e) {
      this.metrics?.publishErrors.inc({ kind: parsed.kind })
      throw e
    }
  }

  /** Mesh peers of each subscribed global topic at the current digest. */
  *meshPeersPerMainTopic(): Generator<[TopicKind, number]> {
    const gs = this.gossipsub
    if (!gs || !this.started) return
    const current = this.modules.forkSchedule.boundaryAtEpoch(this.modules.clock.currentEpoch)
    for (const [topic, info] of this.subscribed) {
      if (info.boundary === current && !isSubnetKind(info.kind)) yield [info.kind, gs.getMeshPeers(topic).length]
    }
  }

  /** Whether `peer` is in the mesh of the current digest's beacon_block topic: it gets every block Contower relays. */
  inBlockMesh(peer: string): boolean {
    const gs = this.gossipsub
    if (!gs || !this.started) return false
    const current = this.modules.forkSchedule.boundaryAtEpoch(this.modules.clock.currentEpoch)
    // A topic we are not subscribed to has no mesh: no peer is in it.
    return gs.getMeshPeers(formatTopic(current.digestHex, { kind: 'beacon_block', subnet: null })).includes(peer)
  }

  /** Subscribed topics at the current digest, and how many have a mesh peer: the status line's coverage. */
  meshCoverage(): { topics: number; covered: number } {
    const gs = this.gossipsub
    const current = this.modules.forkSchedule.boundaryAtEpoch(this.modules.clock.currentEpoch)
    let topics = 0
    let covered = 0
    for (const [topic, info] of this.subscribed) {
      if (info.boundary !== current) continue
      topics++
      if (gs && this.started && gs.getMeshPeers(topic).length > 0) covered++
    }
    return { topics, covered }
  }

  /** Bring subscriptions in line with the clock, then check again at the next slot. */
  private refreshSubscriptions(): void {
    if (!this.started || this.gossipsub === null) return
    const gs = this.gossipsub
    const wanted = new Map<string, TopicInfo>()
    for (const boundary of this.activeBoundaries(this.modules.clock.currentEpoch)) {
      for (const name of this.opts.subscribe) {
        if (!kindExistsInFork(name.kind, boundary.fork.name)) continue
        const topic = formatTopic(boundary.digestHex, name)
        const info = this.codec.topicInfo(topic)
        if (info) wanted.set(topic, info)
      }
    }
    const added: string[] = []
    const removed: string[] = []
    for (const [topic, info] of wanted) {
      if (this.subscribed.has(topic)) continue
      gs.subscribe(topic)
      this.subscribed.set(topic, info)
      added.push(topic)
    }
    for (const topic of this.subscribed.keys()) {
      if (wanted.has(topic)) continue
      gs.unsubscribe(topic)
      this.subscribed.delete(topic)
      removed.push(topic)
    }
    if (added.length > 0 || removed.length > 0) {
      const digests = (topics: string[]) => [...new Set(topics.map((t) => t.split('/')[2]))]
      this.modules.logger.info(
        { subscribed: added.length, unsubscribed: removed.length, added: digests(added), removed: digests(removed) },
        'gossip subscriptions',
      )
    }
    // Long before genesis the wait is capped (setTimeout fires at once beyond 2^31 - 1 ms) and simply repeated.
    const waitMs = Math.min(this.modules.clock.msUntilNextSlot() + 1, MAX_TIMER_DELAY_MS)
    this.timer = setTimeout(() => this.refreshSubscriptions(), waitMs)
    this.timer.unref?.()
  }

  private readonly onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msgId, propagationSource, msg } = evt.detail
    const info = this.subscribed.get(msg.topic) ?? this.codec.topicInfo(msg.topic)
    const decoded = this.codec.takeDecoded(msg, info?.maxBytes ?? 0)
    let verdict: Verdict
    try {
      verdict = this.validator.validate(info, msg.data, decoded)
    } catch (err) {
      this.modules.logger.error({ err, topic: msg.topic }, 'gossip validator failed')
      verdict = ignore('validator_error')
    }
    const peer = propagationSource.toString()
    this.gossipsub?.reportMessageValidationResult(msgId, peer, RESULTS[verdict.result])
    this.count(info?.kind ?? 'unknown', verdict)
    this.verdictLog.record(msg.topic, verdict, peer)
    if (verdict.result === 'accept' && info && decoded.ok) {
      for (const listener of this.acceptedListeners) listener(info.kind, decoded.ssz, peer)
    }
  }

  /** Calls `listener` with every message accepted (and so forwarded). */
  onAccepted(listener: AcceptedListener): () => void {
    this.acceptedListeners.push(listener)
    return () => {
      const i = this.acceptedListeners.indexOf(listener)
      if (i >= 0) this.acceptedListeners.splice(i, 1)
    }
  }

  private count(kind: string, verdict: Verdict): void {
    const m = this.metrics
    if (!m) return
    m.received.inc({ kind })
    if (verdict.result === 'accept') m.accepted.inc({ kind })
    else if (verdict.result === 'ignore') m.ignored.inc({ kind, reason: verdict.reason })
    else {
      m.rejected.inc({ kind, reason: verdict.reason })
      m.validationFailures.inc()
    }
  }
}

const RESULTS = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
} as const
