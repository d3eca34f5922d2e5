// The vocabulary in which req/resp (and every layer above it) reports a misbehaving peer. The peers layer turns
// actions into scores (peers/score.ts); req/resp only reports them, through the interface below.

export enum PeerAction {
  /** Provably malicious or broken beyond repair: ban at once. */
  Fatal = 'fatal',
  /** Tolerated a few times (e.g. undecodable requests). */
  LowToleranceError = 'low_tolerance',
  /** Tolerated several times. */
  MidToleranceError = 'mid_tolerance',
  /** Tolerated often (e.g. a timeout). */
  HighToleranceError = 'high_tolerance',
}

/** Where a penalty goes: the peers layer's scores, or whatever a test or a caller plugs in. */
export interface PeerPenalties {
  apply(peer: string, action: PeerAction, reason: string): unknown
}
