// Goodbye reasons and the cool-down each one earns: how long a peer is refused (not dialled, and not accepted)
// after a Goodbye was sent to it or received from it. The one table every disconnect goes through.

/** consensus-specs phase0 Goodbye reasons, plus the client codes Lodestar and Teku use. */
export enum GoodbyeReason {
  ClientShutdown = 1,
  IrrelevantNetwork = 2,
  Fault = 3,
  UnableToVerifyNetwork = 128,
  TooManyPeers = 129,
  /** Teku: the peer asked faster than its limits allow. */
  RateLimited = 130,
  ScoreTooLow = 250,
  Banned = 251,
}

/**
 * Cool-downs, from Lodestar's `RealScore.applyReconnectionCoolDown` (beacon-node/src/network/peers/score/score.ts,
 * applied by `PeerManager.goodbyeAndDisconnect` to every Goodbye it sends): IRRELEVANT_NETWORK 240 min,
 * TOO_MANY_PEERS 5 min, ERROR and CLIENT_SHUTDOWN 60 min, BANNED and SCORE_TOO_LOW none (the score keeps them
 * out), any other code none.
 */
export const COOL_DOWN_DEFAULTS = {
  /** Lodestar: a peer on another network or chain will not become useful within hours. */
  irrelevantNetworkMs: 240 * 60_000,
  /** Lodestar: a full peer (on either side) may have room again in a few minutes. */
  tooManyPeersMs: 5 * 60_000,
  /** Lodestar: after a fault, an hour before trying the peer again. */
  faultMs: 60 * 60_000,
  /** Lodestar: a peer we said goodbye to on shutdown (only matters if we do not restart). */
  clientShutdownMs: 60 * 60_000,
  /** A peer that told us we are banned or score too low: Lodestar refuses such a peer for 30 min before decay. */
  refusedByPeerMs: 30 * 60_000,
  /** A peer whose score fell to the ban threshold (Goodbye 251): refused for an hour. */
  bannedMs: 60 * 60_000,
  /** Teku, after Goodbye 130 (rate limiting), refuses the peer's connections for two minutes: no redial before. */
  rateLimitedMs: 2 * 60_000,
}

export type CoolDownTable = typeof COOL_DOWN_DEFAULTS

/** 'ban' for misbehaviour, 'cool_down' for everything else; both refuse the peer in both directions. */
export type RefusalKind = 'ban' | 'cool_down'

export interface CoolDown {
  ms: number
  kind: RefusalKind
}

/**
 * The cool-down a Goodbye earns, or null for none. `sent`: we said goodbye (Lodestar's table). `received`: the
 * peer did, and only where redialling it would just earn another Goodbye (it is full, on another network, or
 * refuses us); a peer that shut down or hit a fault may come back at once and is welcome to.
 */
export function coolDownFor(
  reason: number,
  direction: 'sent' | 'received',
  table: CoolDownTable = COOL_DOWN_DEFAULTS,
): CoolDown | null {
  const coolDown = (ms: number): CoolDown => ({ ms, kind: 'cool_down' })
  switch (reason) {
    case GoodbyeReason.IrrelevantNetwork:
      return coolDown(table.irrelevantNetworkMs)
    case GoodbyeReason.TooManyPeers:
      return coolDown(table.tooManyPeersMs)
    case GoodbyeReason.RateLimited:
      return direction === 'received' ? coolDown(table.rateLimitedMs) : null
    case GoodbyeReason.Fault:
      return direction === 'sent' ? coolDown(table.faultMs) : null
    case GoodbyeReason.ClientShutdown:
      return direction === 'sent' ? coolDown(table.clientShutdownMs) : null
    case GoodbyeReason.ScoreTooLow:
    case GoodbyeReason.Banned:
      // Sent: the score state (and the ban HandshakeService applies at the ban threshold) keeps them out.
      return direction === 'received' ? coolDown(table.refusedByPeerMs) : null
    default:
      return null
  }
}
