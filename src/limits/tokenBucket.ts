import { LimitError, LimitErrorCode, assertCost } from './errors.js'
import type { Quota } from '../spec/quotas.js'
import { assertQuota } from './quota.js'

/**
 * A token bucket stored as one instant, GCRA style (the algorithm Lodestar's limiter uses, so both sides agree on
 * the same numbers): `tat`, the "theoretical arrival time", is when the bucket will be full again. With
 * `msPerToken = seconds * 1000 / tokens` and the burst window `windowMs = seconds * 1000`:
 * - tokens available at `now` = (windowMs - max(0, tat - now)) / msPerToken, so `tat <= now` means full;
 * - taking `cost` tokens at instant `s` moves `tat` to max(tat, s) + cost * msPerToken, and is allowed when the
 *   result is at most `windowMs` past `s` (never more than `tokens` owed).
 * A reservation takes tokens at a future instant; `tat` then runs more than `windowMs` ahead of `now` (a debt
 * the refill pays off), which queues later callers behind it.
 */

export interface TokenBucketModules {
  /** ms clock; tests pass a fake one. Default: Date.now. */
  now?: () => number
}

export interface TokenBucketOpts {
  /**
   * Delay variation to allow for when the bucket is counted again at the other end (a peer's own limiter): while
   * refilling, a take waits until the tokens were there `jitterMs` ago, so a request that reaches the peer that much
   * sooner, relative to the ones before it, than it was sent still finds them there. A bucket full for that long
   * is not held back. Default 0.
   */
  jitterMs?: number
}

export class TokenBucket {
  /** Most tokens the bucket holds (the quota's tokens). */
  readonly capacity: number
  /** ms one token takes to refill. */
  readonly msPerToken: number
  /** ms an empty bucket takes to fill. */
  readonly windowMs: number
  private readonly now: () => number
  private readonly jitterMs: number
  /** Starts in the past: a new bucket is full. */
  private tat = -Infinity

  constructor(modules: TokenBucketModules, quota: Quota, opts: TokenBucketOpts = {}) {
    assertQuota(quota)
    this.jitterMs = opts.jitterMs ?? 0
    if (!(this.jitterMs >= 0 && Number.isFinite(this.jitterMs))) {
      throw new LimitError(LimitErrorCode.INVALID_OPTION, { jitterMs: this.jitterMs })
    }
    this.capacity = quota.tokens
    this.windowMs = quota.seconds * 1000
    this.msPerToken = this.windowMs / quota.tokens
    this.now = modules.now ?? Date.now
  }

  /** Tokens there now; fractional while refilling, negative while reservations are outstanding. */
  available(): number {
    const owedMs = Math.max(0, this.tat - this.now())
    return (this.windowMs - owedMs) / this.msPerToken
  }

  isFull(): boolean {
    return this.tat <= this.now()
  }

  /** Whole ms until `cost` tokens are there: 0 if now, Infinity if `cost` exceeds the capacity. */
  msUntil(cost: number): number {
    assertCost(cost)
    if (cost > this.capacity) return Infinity
    // Counted as if it were jitterMs ago (see TokenBucketOpts); with 0, max(tat, now) + cost * msPerToken - windowMs - now.
    const then = this.now() - this.jitterMs
    const waitMs = Math.max(this.tat, then) + cost * this.msPerToken - this.windowMs - then
    // Rounded up: timers and clocks tick in whole ms, and waking early would find the tokens missing. No float
    // slack: tryTake evaluates the same expression, so after waiting this long it sees a wait <= 0.
    return waitMs <= 0 ? 0 : Math.ceil(waitMs)
  }

  /**
   * Takes every token there is now and a whole window's refill: nothing can be taken for `windowMs`, then tokens
   * come back at the usual rate (a peer that said we ask too fast). Reservations already made stay.
   */
  exhaust(): void {
    this.tat = Math.max(this.tat, this.now() + 2 * this.windowMs)
  }

  /** Takes `cost` tokens if they are all there now; otherwise takes nothing. */
  tryTake(cost: number): boolean {
    if (this.msUntil(cost) !== 0) return false
    this.takeAt(this.now(), cost)
    return true
  }

  /**
   * Takes `cost` tokens at `now + delayMs`, where `delayMs >= msUntil(cost)` (else throws RESERVATION_TOO_EARLY).
   * Later callers see the tokens gone at once, so reservations queue in call order.
   */
  reserve(cost: number, delayMs: number): void {
    const waitMs = this.msUntil(cost)
    if (!(delayMs >= waitMs)) {
      throw new LimitError(LimitErrorCode.RESERVATION_TOO_EARLY, { cost, delayMs, waitMs })
    }
    this.takeAt(this.now() + delayMs, cost)
  }

  private takeAt(instant: number, cost: number): void {
    this.tat = Math.max(this.tat, instant) + cost * this.msPerToken
  }
}
