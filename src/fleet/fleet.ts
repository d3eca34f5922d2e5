import { randomBytes } from 'node:crypto'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import type { BanList } from '../peers/banList.js'
import type { PeerScores } from '../peers/score.js'
import { createFleetMetrics, type FleetMetrics } from './metrics.js'
import { RedisLink } from './redisLink.js'
import { FleetReputation } from './reputation.js'
import { SharedCache, type SharedCacheOpts } from './sharedCache.js'
import { UpstreamLoad } from './upstreamLoad.js'

export { FleetSetupError, redactedUrl } from './redisLink.js'
export type { SharedLookup } from './sharedCache.js'

export interface FleetModules {
  bans: BanList
  scores: PeerScores
  hangUp: (peer: string) => void
  ownLoad: () => ReadonlyMap<string, number>
  registry: Registry | null
  logger: Logger
}

export interface FleetOpts {
  url: string
  passwordFile?: string
  /** Network name: instances of different networks never share anything, even on one Redis. */
  network: string
  /** Tests on a loaded machine widen the read budget; operators keep the default. */
  cache?: Partial<SharedCacheOpts>
}

/**
 * Several Contowers acting as one through a Redis-protocol server (Redis 7, Valkey): a shared second cache tier,
 * shared bans and severe penalties, and announcements of upstream load. Redis is optional at every moment: the
 * instance starts without it, keeps serving when it goes away, and rejoins when it comes back.
 */
export class Fleet {
  readonly cache: SharedCache
  readonly load: UpstreamLoad
  readonly instanceId = randomBytes(8).toString('hex')
  private readonly link: RedisLink
  private readonly reputation: FleetReputation
  private readonly metrics: FleetMetrics | null

  constructor(modules: FleetModules, opts: FleetOpts) {
    const namespace = `contower:v1:${opts.network}`
    this.link = new RedisLink({ logger: modules.logger }, { url: opts.url, passwordFile: opts.passwordFile })
    this.metrics = modules.registry
      ? createFleetMetrics(modules.registry, { up: () => this.link.state === 'up' })
      : null
    this.cache = new SharedCache({ link: this.link, metrics: this.metrics }, namespace, opts.cache)
    this.reputation = new FleetReputation(
      { ...modules, link: this.link, metrics: this.metrics },
      namespace,
      this.instanceId,
    )
    this.load = new UpstreamLoad(
      { link: this.link, ownLoad: modules.ownLoad, metrics: this.metrics },
      namespace,
      this.instanceId,
    )
  }

  /** 'ok' while Redis answers, 'degraded' while the instance serves alone. */
  get health(): 'ok' | 'degraded' {
    return this.link.state === 'up' ? 'ok' : 'degraded'
  }

  async start(): Promise<void> {
    await this.reputation.start()
    this.load.start()
    await this.link.start()
  }

  stop(): void {
    this.load.stop()
    this.reputation.stop()
    this.link.stop()
  }
}
