/**
 * What an operator sees of dropped gossip: a debug line per IGNORE and REJECT (topic, reason, the peer that
 * forwarded it), and a warning when one peer's messages are rejected more than `warnRejectionsPerWindow` times in a
 * window: a peer that keeps sending what the spec calls invalid, or a rule of ours that is wrong (issue 14: a whole
 * fork's blocks rejected showed only as a metric).
 *
 * Memory is bounded: at most `maxTrackedPeers` windows are kept; a new peer past that replaces the oldest window.
 */
import type { Logger } from '../logger.js'
import type { Verdict } from './verdict.js'

export const VERDICT_LOG_DEFAULTS = {
  /** Rejections of one peer's messages within a window above which a warning is logged (once per window). */
  warnRejectionsPerWindow: 10,
  windowMs: 60_000,
  /** Far above any peer count: a flood of peer ids cannot grow this without bound. */
  maxTrackedPeers: 1024,
}

export type VerdictLogOpts = typeof VERDICT_LOG_DEFAULTS

const DEBUG_MESSAGES = { ignore: 'gossip message ignored', reject: 'gossip message rejected' } as const

interface PeerWindow {
  startMs: number
  rejections: number
  warned: boolean
}

export class VerdictLog {
  private readonly opts: VerdictLogOpts
  /** Insertion order = window start order: the first entry is the oldest window. */
  private readonly windows = new Map<string, PeerWindow>()

  constructor(
    private readonly modules: { logger: Logger; now?: () => number },
    opts: Partial<VerdictLogOpts> = {},
  ) {
    this.opts = { ...VERDICT_LOG_DEFAULTS, ...opts }
  }

  /** Peers whose rejection window is held now. */
  get trackedPeers(): number {
    return this.windows.size
  }

  record(topic: string, verdict: Verdict, peer: string): void {
    if (verdict.result === 'accept') return
    const { logger } = this.modules
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ topic, reason: verdict.reason, peer }, DEBUG_MESSAGES[verdict.result])
    }
    if (verdict.result === 'reject') this.countRejection(topic, verdict.reason, peer)
  }

  private countRejection(topic: string, reason: string, peer: string): void {
    const nowMs = (this.modules.now ?? Date.now)()
    let w = this.windows.get(peer)
    if (w && nowMs - w.startMs >= this.opts.windowMs) {
      this.windows.delete(peer)
      w = undefined
    }
    if (!w) {
      if (this.windows.size >= this.opts.maxTrackedPeers) this.windows.delete(this.windows.keys().next().value!)
      w = { startMs: nowMs, rejections: 0, warned: false }
      this.windows.set(peer, w)
    }
    w.rejections++
    if (w.rejections > this.opts.warnRejectionsPerWindow && !w.warned) {
      w.warned = true
      this.modules.logger.warn(
        { peer, rejections: w.rejections, windowMs: this.opts.windowMs, topic, reason },
        'gossip messages from one peer rejected repeatedly: a misbehaving peer, or a validation rule that is wrong',
      )
    }
  }
}
