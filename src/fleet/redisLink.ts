import { ContowerError } from '../errors.js'
import { readFileSync } from 'node:fs'
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from '../logger.js'

export const REDIS_LINK_DEFAULTS = {
  /** Connecting must not hold up start-up: the relay starts without its fleet and joins it when Redis answers. */
  connectTimeoutMs: 2_000,
  /**
   * A write or publish that takes longer is dropped. Nothing waits for them (reads race their own 20 ms budget), so
   * this only bounds what a stuck Redis can hold: generous, so a busy machine's large writes still land.
   */
  commandTimeoutMs: 5_000,
  /** First reconnect delay, doubling per failure up to maxRetryDelayMs. */
  retryDelayMs: 500,
  /** A connection attempt every 5 s costs nothing, and the fleet is back within 5 s of Redis. */
  maxRetryDelayMs: 5_000,
}

export type RedisLinkOpts = typeof REDIS_LINK_DEFAULTS & {
  /** redis:// or rediss:// URL; a password in the URL is used as it is. */
  url: string
  /** File holding the password (first line), for URLs without one: keeps it out of env and process lists. */
  passwordFile?: string
}

export type LinkState = 'connecting' | 'up' | 'down'

/**
 * Two Redis connections (commands, and the subscriber that pub/sub needs to itself), reconnecting with backoff for
 * ever. Commands fail at once while a connection is down (no offline queue): callers treat that as a miss. The
 * state changes are logged once each, not per retry.
 */
export class RedisLink {
  readonly commands: Redis
  readonly subscriber: Redis
  private readonly opts: RedisLinkOpts
  private readonly stateListeners: Array<(state: LinkState) => void> = []
  private current: LinkState = 'connecting'
  /** Set once the first connection attempt has ended: from then on, not ready means down. */
  private attempted = false

  constructor(
    private readonly modules: { logger: Logger },
    opts: Partial<typeof REDIS_LINK_DEFAULTS> & { url: string; passwordFile?: string },
  ) {
    this.opts = { ...REDIS_LINK_DEFAULTS, ...opts }
    const options: RedisOptions = {
      lazyConnect: true,
      connectTimeout: this.opts.connectTimeoutMs,
      commandTimeout: this.opts.commandTimeoutMs,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(this.opts.retryDelayMs * 2 ** (times - 1), this.opts.maxRetryDelayMs),
      connectionName: 'contower',
    }
    if (this.opts.passwordFile) options.password = readPassword(this.opts.passwordFile)
    this.commands = new Redis(this.opts.url, options)
    // The subscriber may queue its SUBSCRIBE until connected: it re-subscribes by itself after each reconnect.
    this.subscriber = new Redis(this.opts.url, { ...options, enableOfflineQueue: true, commandTimeout: undefined })
    for (const client of [this.commands, this.subscriber]) {
      client.on('ready', () => this.update())
      client.on('close', () => this.update())
      client.on('error', () => this.update()) // ioredis emits each failed attempt; the state change is what we log
    }
  }

  get state(): LinkState {
    return this.current
  }

  onState(listener: (state: LinkState) => void): void {
    this.stateListeners.push(listener)
  }

  /** Starts connecting; never throws and never waits much longer than the connect timeout. */
  async start(): Promise<void> {
    const ready = (client: Redis) =>
      client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', resolve))
    const connecting = Promise.allSettled([this.commands.connect(), this.subscriber.connect()]).then(() =>
      Promise.all([ready(this.commands), ready(this.subscriber)]),
    )
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise((resolve) => (timer = setTimeout(resolve, this.opts.connectTimeoutMs)))
    await Promise.race([connecting, timeout])
    clearTimeout(timer)
    this.attempted = true
    this.update()
  }

  stop(): void {
    this.commands.disconnect()
    this.subscriber.disconnect()
  }

  private update(): void {
    const ready = this.commands.status === 'ready' && this.subscriber.status === 'ready'
    const next: LinkState = ready ? 'up' : this.attempted ? 'down' : 'connecting'
    if (next === this.current) return
    this.current = next
    const where = redactedUrl(this.opts.url)
    if (next === 'up') this.modules.logger.info({ redis: where }, 'fleet redis connected')
    else if (next === 'down')
      this.modules.logger.warn({ redis: where }, 'fleet redis unavailable: serving without the fleet, retrying')
    for (const l of this.stateListeners) l(next)
  }
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(invalid url)'
  }
}

/** Thrown when the fleet cannot even be set up (its password file is unreadable): a start-up failure. */
export class FleetSetupError extends ContowerError<'FLEET_SETUP'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLEET_SETUP', message, options)
  }
}

function readPassword(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n')[0].trim()
  } catch (e) {
    throw new FleetSetupError(`cannot read fleet-redis-password-file ${path}: ${(e as Error).message}`, { cause: e })
  }
}
