import { PeerAction } from '../reqresp/peerAction.js'
import type { BanList } from '../peers/banList.js'
import type { PeerScores } from '../peers/score.js'
import type { Logger } from '../logger.js'
import type { FleetMetrics } from './metrics.js'
import type { RedisLink } from './redisLink.js'

/** Penalties worth telling the fleet about: invalid data and worse. Scores themselves stay local. */
const SHARED_ACTIONS: ReadonlySet<PeerAction> = new Set([PeerAction.Fatal, PeerAction.LowToleranceError])
/** A fleet message is a few hundred bytes; anything larger is not ours. */
const MAX_MESSAGE_BYTES = 1_024
/** Bans longer than a day are not something one instance may impose on the whole fleet. */
const MAX_SHARED_BAN_MS = 24 * 60 * 60_000

export type ReputationEvent =
  | { v: 1; from: string; kind: 'ban'; peer: string; ms: number }
  | { v: 1; from: string; kind: 'penalty'; peer: string; action: PeerAction; reason: string }

export interface ReputationModules {
  link: RedisLink
  bans: BanList
  scores: PeerScores
  /** Disconnects a peer the fleet banned, if it is connected. */
  hangUp: (peer: string) => void
  metrics: FleetMetrics | null
  logger: Logger
}

/**
 * Shared reputation: bans and severe penalties decided by one instance are published on the fleet's channel and
 * applied by every other instance as they arrive (pub/sub: within milliseconds while Redis is up; an event sent
 * while an instance is cut off is lost to it, as a ban by a peer's other neighbours would be).
 */
export class FleetReputation {
  private readonly channel: string
  /** True while a fleet event is being applied: what that triggers locally is not published back. */
  private applying = false

  constructor(
    private readonly modules: ReputationModules,
    namespace: string,
    private readonly instanceId: string,
  ) {
    this.channel = `${namespace}:reputation`
  }

  async start(): Promise<void> {
    const { link, bans, scores } = this.modules
    link.subscriber.on('messageBuffer', this.onMessage)
    // Queued by ioredis until connected, and re-sent after every reconnect.
    void link.subscriber.subscribe(this.channel).catch(() => {})
    bans.onBan((peer, ms, kind) => {
      if (kind === 'ban') this.publish({ v: 1, from: this.instanceId, kind: 'ban', peer, ms })
    })
    scores.onAction((peer, action, reason) => {
      if (SHARED_ACTIONS.has(action)) {
        const label = reason
          .toLowerCase()
          .replace(/[^a-z0-9_]/g, '_')
          .slice(0, 64)
        this.publish({ v: 1, from: this.instanceId, kind: 'penalty', peer, action, reason: label })
      }
    })
  }

  stop(): void {
    this.modules.link.subscriber.off('messageBuffer', this.onMessage)
  }

  private publish(event: ReputationEvent): void {
    if (this.applying || this.modules.link.state !== 'up') return
    this.modules.link.commands.publish(this.channel, JSON.stringify(event)).then(
      () => this.modules.metrics?.reputationEvents.inc({ direction: 'published', kind: event.kind }),
      () => this.modules.metrics?.reputationEvents.inc({ direction: 'publish_failed', kind: event.kind }),
    )
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (channel.toString() !== this.channel) return
    const event = parseEvent(message)
    if (!event) {
      this.modules.metrics?.invalidData.inc({ source: 'reputation', reason: 'format' })
      return
    }
    if (event.from === this.instanceId) return
    this.applying = true
    try {
      if (event.kind === 'ban') {
        this.modules.bans.ban(event.peer, Math.min(event.ms, MAX_SHARED_BAN_MS), 'ban')
        this.modules.hangUp(event.peer)
      } else {
        this.modules.scores.apply(event.peer, event.action, `fleet_${event.reason}`)
      }
    } finally {
      this.applying = false
    }
    this.modules.metrics?.reputationEvents.inc({ direction: 'applied', kind: event.kind })
    this.modules.logger.debug({ peer: event.peer, kind: event.kind, from: event.from }, 'fleet reputation applied')
  }
}

/** A well-formed event, or null: every field is checked, since anything may publish on a Redis channel. */
export function parseEvent(message: Buffer): ReputationEvent | null {
  if (message.byteLength > MAX_MESSAGE_BYTES) return null
  let e: Record<string, unknown>
  try {
    e = JSON.parse(message.toString('utf8'))
  } catch {
    return null
  }
  if (typeof e !== 'object' || e === null || e.v !== 1) return null
  if (typeof e.from !== 'string' || typeof e.peer !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{20,100}$/.test(e.peer)) {
    return null
  }
  if (e.kind === 'ban' && typeof e.ms === 'number' && Number.isFinite(e.ms) && e.ms > 0) {
    return { v: 1, from: e.from, kind: 'ban', peer: e.peer, ms: e.ms }
  }
  if (
    e.kind === 'penalty' &&
    SHARED_ACTIONS.has(e.action as PeerAction) &&
    typeof e.reason === 'string' &&
    /^[a-z0-9_]{1,64}$/.test(e.reason)
  ) {
    return { v: 1, from: e.from, kind: 'penalty', peer: e.peer, action: e.action as PeerAction, reason: e.reason }
  }
  return null
}
