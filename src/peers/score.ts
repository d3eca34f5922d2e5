// Peer scores, modelled on Lodestar's: -100..100, actions subtract fixed amounts, the score decays towards 0
// with a 10-minute half-life; at or below the thresholds a peer is disconnected or banned.
import { PeerAction } from '../reqresp/peerAction.js'

export const PEER_ACTION_SCORE: Record<PeerAction, number> = {
  [PeerAction.Fatal]: -200,
  [PeerAction.LowToleranceError]: -10,
  [PeerAction.MidToleranceError]: -5,
  [PeerAction.HighToleranceError]: -1,
}

export const SCORE_DEFAULTS = {
  minScore: -100,
  maxScore: 100,
  /** Lodestar: disconnect with Goodbye(250) at or below this. */
  disconnectThreshold: -20,
  /** Lodestar: ban with Goodbye(251) at or below this. */
  banThreshold: -50,
  /** Lodestar: scores halve towards zero every 10 minutes. */
  halfLifeMs: 10 * 60_000,
  /** Scores this close to zero are forgotten, so the map does not grow with every peer ever seen. */
  forgetBelowAbs: 0.1,
} as const

/** SCORE_DEFAULTS' keys, any numbers. */
export type ScoreParams = Record<keyof typeof SCORE_DEFAULTS, number>

export interface PeerScoresModules {
  /** ms clock; tests pass a fake one. Default: Date.now. */
  now?: () => number
}

export type ScoreState = 'healthy' | 'disconnect' | 'ban'

interface Entry {
  score: number
  updatedMs: number
}

export type PeerScoreListener = (peer: string, action: PeerAction, reason: string, state: ScoreState) => void

/** One score per peer id (string form). Pure bookkeeping: acting on the state is the caller's job. */
export class PeerScores {
  private readonly entries = new Map<string, Entry>()
  private readonly listeners: PeerScoreListener[] = []
  private readonly now: () => number
  private readonly params: ScoreParams

  constructor(modules: PeerScoresModules = {}, opts: Partial<ScoreParams> = {}) {
    this.now = modules.now ?? (() => Date.now())
    this.params = { ...SCORE_DEFAULTS, ...opts }
  }

  onAction(listener: PeerScoreListener): void {
    this.listeners.push(listener)
  }

  score(peer: string): number {
    const entry = this.entries.get(peer)
    if (!entry) return 0
    this.decay(entry)
    if (Math.abs(entry.score) < this.params.forgetBelowAbs) this.entries.delete(peer)
    return entry.score
  }

  state(peer: string): ScoreState {
    const score = this.score(peer)
    if (score <= this.params.banThreshold) return 'ban'
    if (score <= this.params.disconnectThreshold) return 'disconnect'
    return 'healthy'
  }

  apply(peer: string, action: PeerAction, reason: string): ScoreState {
    const entry = this.entries.get(peer) ?? { score: 0, updatedMs: this.now() }
    this.decay(entry)
    entry.score = Math.max(this.params.minScore, entry.score + PEER_ACTION_SCORE[action])
    this.entries.set(peer, entry)
    const state = this.state(peer)
    for (const l of this.listeners) l(peer, action, reason, state)
    return state
  }

  get size(): number {
    return this.entries.size
  }

  private decay(entry: Entry): void {
    const now = this.now()
    const elapsed = now - entry.updatedMs
    if (elapsed > 0) {
      entry.score *= 0.5 ** (elapsed / this.params.halfLifeMs)
      entry.updatedMs = now
    }
  }
}
