import type { DialCandidate } from './candidates.js'

export interface DialQueueModules {
  /** ms clock; tests pass a fake one. Default: Date.now. */
  now?: () => number
}

export interface DialQueueOptions {
  /** Candidates kept waiting at most; more are refused (discovery offers fresh ones all the time). */
  maxQueued: number
  /** A candidate older than this is dropped unseen: its address may be stale, discovery will offer it again. */
  maxAgeMs: number
  /** After a first failed dial, the peer is not dialled again for this long; each further failure doubles it. */
  failureBackoffMs: number
  /** The longest backoff; a peer whose failures stop for this long past its backoff starts again from the first. */
  maxFailureBackoffMs: number
}

interface Failures {
  count: number
  untilMs: number
}

interface Queued {
  candidate: DialCandidate
  addedAtMs: number
}

/**
 * The dial queue's bookkeeping, without any I/O: candidates first in, first out (one entry per peer), and the
 * peers whose last dial failed, each until its backoff ends. The backoff doubles with each failure in a row, so a
 * peer lost to a passing fault (a restart, a loaded machine) is back within seconds while one that keeps failing is
 * tried about once a maxFailureBackoffMs.
 */
export class DialQueue {
  private readonly queued = new Map<string, Queued>()
  private readonly failures = new Map<string, Failures>()
  private readonly now: () => number

  constructor(
    modules: DialQueueModules,
    private readonly opts: DialQueueOptions,
  ) {
    this.now = modules.now ?? Date.now
  }

  get length(): number {
    return this.queued.size
  }

  get full(): boolean {
    return this.queued.size >= this.opts.maxQueued
  }

  has(peer: string): boolean {
    return this.queued.has(peer)
  }

  /**
   * Adds a candidate unless its peer is already queued or the queue is full; returns whether it was added.
   * `first`: ahead of everyone queued (a peer worth more than the others, e.g. one custodying uncovered columns).
   */
  push(candidate: DialCandidate, first = false): boolean {
    const peer = candidate.peerId.toString()
    if (this.queued.has(peer) || this.full) return false
    const entry = { candidate, addedAtMs: this.now() }
    if (!first) {
      this.queued.set(peer, entry)
      return true
    }
    const rest = [...this.queued]
    this.queued.clear()
    for (const [p, e] of [[peer, entry] as const, ...rest]) this.queued.set(p, e)
    return true
  }

  /** The oldest candidate that is not stale, removed from the queue; null when none is left. */
  shift(): DialCandidate | null {
    const now = this.now()
    for (const [peer, entry] of this.queued) {
      this.queued.delete(peer)
      if (now - entry.addedAtMs <= this.opts.maxAgeMs) return entry.candidate
    }
    return null
  }

  markFailed(peer: string): void {
    const now = this.now()
    const last = this.failures.get(peer)
    const count = last && !this.forgotten(last, now) ? last.count + 1 : 1
    const backoffMs = Math.min(this.opts.failureBackoffMs * 2 ** (count - 1), this.opts.maxFailureBackoffMs)
    this.failures.set(peer, { count, untilMs: now + backoffMs })
  }

  /** The peer held a connection: its next failure backs off from the start again. */
  forgive(peer: string): void {
    this.failures.delete(peer)
  }

  inBackoff(peer: string): boolean {
    const last = this.failures.get(peer)
    return last !== undefined && last.untilMs > this.now()
  }

  /** Forgets old failures and stale candidates, so neither map grows with every peer ever seen. */
  prune(): void {
    const now = this.now()
    for (const [peer, last] of this.failures) if (this.forgotten(last, now)) this.failures.delete(peer)
    for (const [peer, entry] of this.queued) if (now - entry.addedAtMs > this.opts.maxAgeMs) this.queued.delete(peer)
  }

  private forgotten(last: Failures, now: number): boolean {
    return now - last.untilMs >= this.opts.maxFailureBackoffMs
  }

  clear(): void {
    this.queued.clear()
  }
}
