import type { Connection, Libp2p, MultiaddrConnection, PeerId, StreamCloseEvent } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import { createNetworkMetrics, muxerLabel, type NetworkMetrics } from './metrics.js'

export const CONNECTION_MONITOR_DEFAULTS = {
  /**
   * A connection that ends sooner than this after opening counts as a failed dial: a peer that keeps dropping
   * (muxer trouble, a full peer that hangs up at once) backs off instead of being redialled every second.
   */
  shortLivedMs: 10_000,
}

/** Why a connection ended, from how it closed (words for logs and metric labels). */
export type CloseReason =
  'remote_closed' | 'local_closed' | 'remote_reset' | 'muxer_error' | 'timeout' | 'connection_reset' | 'error'

/** Why a dial failed, from the error libp2p threw. */
export type DialFailureReason =
  | 'denied'
  | 'timeout'
  | 'aborted'
  | 'connection_refused'
  | 'connection_reset'
  | 'encryption_failed'
  | 'muxer_negotiation_failed'
  | 'no_valid_address'
  | 'error'

export interface ClosedConnection {
  peer: PeerId
  direction: 'inbound' | 'outbound'
  /** yamux, mplex (muxerLabel). */
  muxer: string
  lifetimeMs: number
  reason: CloseReason
  /** Closed within shortLivedMs of opening: to be treated as a failed dial. */
  shortLived: boolean
}

export type ClosedConnectionListener = (closed: ClosedConnection) => void

/** Gater hooks through which the monitor sees inbound sockets that never become connections (createHost calls them). */
export interface InboundUpgradeWatcher {
  socket(maConn: MultiaddrConnection): void
  encrypted(maConn: MultiaddrConnection, denied: boolean): void
  upgraded(maConn: MultiaddrConnection): void
}

type UpgradeStage = 'socket' | 'encrypted' | 'denied' | 'upgraded'
const FAILED_AT: Record<Exclude<UpgradeStage, 'upgraded'>, string> = {
  socket: 'encryption',
  encrypted: 'muxer',
  denied: 'denied',
}

/**
 * Watches connections for what the rest of Contower needs to stay connected to every kind of peer: how long each
 * lasted and why it ended (listeners hear of every close, short-lived ones flagged), why dials and inbound upgrades
 * fail, and the metrics of all that (metrics.ts). Created before the host (whose gater feeds `inboundUpgrades`),
 * started with it.
 */
export class ConnectionMonitor {
  private readonly metrics: NetworkMetrics | null
  private readonly listeners: ClosedConnectionListener[] = []
  private host: Libp2p | null = null
  private readonly stages = new WeakMap<MultiaddrConnection, UpgradeStage>()

  private readonly opts: typeof CONNECTION_MONITOR_DEFAULTS

  constructor(modules: { registry: Registry | null }, opts: Partial<typeof CONNECTION_MONITOR_DEFAULTS> = {}) {
    this.opts = { ...CONNECTION_MONITOR_DEFAULTS, ...opts }
    this.metrics = modules.registry ? createNetworkMetrics(modules.registry, () => this.host) : null
  }

  start(host: Libp2p): void {
    this.host = host
    host.addEventListener('connection:open', this.onOpen)
    for (const connection of host.getConnections()) this.watch(connection)
  }

  stop(): void {
    this.host?.removeEventListener('connection:open', this.onOpen)
    this.host = null
  }

  /** Calls `listener` after every connection close (libp2p has already dropped the connection by then). */
  onClose(listener: ClosedConnectionListener): () => void {
    this.listeners.push(listener)
    return () => {
      const i = this.listeners.indexOf(listener)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  /** Classifies and counts a failed dial; the reason is for the caller's log line. */
  dialFailed(e: unknown): DialFailureReason {
    const reason = dialFailureReason(e)
    this.metrics?.dialFailures.inc({ reason })
    return reason
  }

  readonly inboundUpgrades: InboundUpgradeWatcher = {
    socket: (maConn) => {
      this.stages.set(maConn, 'socket')
      maConn.addEventListener('close', () => {
        const stage = this.stages.get(maConn)
        if (stage && stage !== 'upgraded') this.metrics?.inboundUpgradeFailures.inc({ stage: FAILED_AT[stage] })
      })
    },
    encrypted: (maConn, denied) => {
      this.stages.set(maConn, denied ? 'denied' : 'encrypted')
    },
    upgraded: (maConn) => {
      this.stages.set(maConn, 'upgraded')
    },
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    this.watch(evt.detail)
  }

  private watch(connection: Connection): void {
    connection.addEventListener('close', (evt) => this.closed(connection, evt), { once: true })
  }

  private closed(connection: Connection, evt: StreamCloseEvent): void {
    const lifetimeMs = Math.max(0, Date.now() - connection.timeline.open)
    const closed: ClosedConnection = {
      peer: connection.remotePeer,
      direction: connection.direction,
      muxer: muxerLabel(connection.multiplexer),
      lifetimeMs,
      reason: closeReason(evt),
      shortLived: lifetimeMs < this.opts.shortLivedMs,
    }
    this.metrics?.lifetime.observe({ muxer: closed.muxer, direction: closed.direction }, lifetimeMs / 1000)
    this.metrics?.closes.inc({
      direction: closed.direction,
      reason: closed.reason,
      short_lived: String(closed.shortLived),
    })
    for (const listener of this.listeners) listener(closed)
  }
}

/** Errors the muxers raise on frames they cannot parse (the symptom of two ends running different muxers). */
const MUXER_ERRORS = new Set(['InvalidFrameError', 'InvalidMessageError', 'ProtocolError', 'InvalidParametersError'])

export function closeReason(evt: StreamCloseEvent): CloseReason {
  const error = evt.error
  if (!error) return evt.local ? 'local_closed' : 'remote_closed'
  if (error.name === 'StreamResetError') return 'remote_reset'
  if (MUXER_ERRORS.has(error.name)) return 'muxer_error'
  if (error.name === 'TimeoutError') return 'timeout'
  if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') return 'connection_reset'
  return 'error'
}

export function dialFailureReason(e: unknown): DialFailureReason {
  // libp2p reports a dial of several addresses as an AggregateError: the first failure is representative.
  const error = (e instanceof AggregateError && e.errors.length > 0 ? e.errors[0] : e) as NodeJS.ErrnoException
  const byName: Record<string, DialFailureReason> = {
    DialDeniedError: 'denied',
    ConnectionInterceptedError: 'denied',
    TimeoutError: 'timeout',
    AbortError: 'aborted',
    EncryptionFailedError: 'encryption_failed',
    MuxerUnavailableError: 'muxer_negotiation_failed',
    NoValidAddressesError: 'no_valid_address',
  }
  const named = byName[error?.name ?? '']
  if (named) return named
  if (error?.code === 'ECONNREFUSED') return 'connection_refused'
  if (error?.code === 'ECONNRESET') return 'connection_reset'
  return 'error'
}
