import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { transportOf } from '../network/transport.js'
import type { RefusalKind } from './goodbye.js'
import type { ScoreState } from './score.js'

/** A peer discovery found (or anyone else offers): its id and the addresses to dial it on, in the order to try. */
export interface DialCandidate {
  peerId: PeerId
  /** QUIC first when the peer has it, TCP as the fallback: the first that connects wins. */
  multiaddrs: readonly Multiaddr[]
  /** The `cgc` of its ENR, when discovery found it. */
  custodyGroupCount?: number | null
}

/** What the peer manager made of a candidate: `queued`, or why it will not be dialled. */
export type CandidateVerdict =
  | 'queued'
  | 'self'
  /** No TCP or QUIC address among the candidate's (the only transports our host dials). */
  | 'no_dialable_address'
  | 'static'
  | 'connected'
  | 'banned'
  | 'cooling_down'
  | 'bad_score'
  | 'dial_backoff'
  | 'already_queued'
  | 'queue_full'

/** What candidate filtering needs to know about a peer id (string form). */
export interface CandidateFacts {
  selfId: string
  isConnected(peer: string): boolean
  isStatic(peer: string): boolean
  refusal(peer: string): RefusalKind | null
  scoreState(peer: string): ScoreState
  /** A recent dial to it failed: wait before trying again. */
  inDialBackoff(peer: string): boolean
  isQueued(peer: string): boolean
  queueFull(): boolean
}

/**
 * Decides whether a candidate goes into the dial queue. Checked again just before its dial, since a peer may
 * have connected, been banned or cooled down while it waited. Static peers have their own dialler.
 */
export function candidateVerdict(candidate: DialCandidate, facts: CandidateFacts): CandidateVerdict {
  const peer = candidate.peerId.toString()
  if (peer === facts.selfId) return 'self'
  if (!candidate.multiaddrs.some((a) => transportOf(a) !== 'other')) return 'no_dialable_address'
  if (facts.isStatic(peer)) return 'static'
  if (facts.isConnected(peer)) return 'connected'
  const refusal = facts.refusal(peer)
  if (refusal === 'ban') return 'banned'
  if (refusal === 'cool_down') return 'cooling_down'
  // Lodestar's discovery skips peers whose score is not healthy; they would be disconnected on arrival.
  if (facts.scoreState(peer) !== 'healthy') return 'bad_score'
  if (facts.inDialBackoff(peer)) return 'dial_backoff'
  if (facts.isQueued(peer)) return 'already_queued'
  if (facts.queueFull()) return 'queue_full'
  return 'queued'
}
