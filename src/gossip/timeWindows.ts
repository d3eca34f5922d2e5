/**
 * The gossip time checks of the spec, on unix milliseconds, each with the MAXIMUM_GOSSIP_CLOCK_DISPARITY allowance:
 * phase0 p2p-interface.md `is_future_slot`, `is_within_slot_range`; altair `is_current_slot`; deneb
 * `is_within_epoch`, `is_current_or_previous_epoch`; gloas `is_current_or_next_slot`, `is_past_slot`.
 */
import type { Clock } from '../chain/clock.js'

export class TimeWindows {
  readonly slotsPerEpoch: number
  private readonly genesisTimeMs: number
  private readonly slotDurationMs: number

  constructor(
    clock: Pick<Clock, 'genesisTimeMs' | 'slotDurationMs' | 'slotsPerEpoch'>,
    readonly disparityMs: number,
  ) {
    this.genesisTimeMs = clock.genesisTimeMs
    this.slotDurationMs = clock.slotDurationMs
    this.slotsPerEpoch = clock.slotsPerEpoch
  }

  /** compute_time_at_slot_ms (Infinity for a slot beyond 2^53, as a u64 decoded by Lodestar may be). */
  slotStartMs(slot: number): number {
    return this.genesisTimeMs + slot * this.slotDurationMs
  }

  epochAtSlot(slot: number): number {
    return Math.floor(slot / this.slotsPerEpoch)
  }

  /** The wall clock's epoch (compute_epoch_at_slot of the current slot; negative before genesis). */
  currentEpoch(nowMs: number): number {
    return Math.floor(Math.floor((nowMs - this.genesisTimeMs) / this.slotDurationMs) / this.slotsPerEpoch)
  }

  /** The slot is in the future even for a clock `disparityMs` ahead of ours. */
  isFutureSlot(slot: number, nowMs: number): boolean {
    return nowMs + this.disparityMs < this.slotStartMs(slot)
  }

  /** Now is within [start of `slot`, end of `slot + range`], widened by the disparity at both ends. */
  isWithinSlotRange(slot: number, range: number, nowMs: number): boolean {
    if (nowMs + this.disparityMs < this.slotStartMs(slot)) return false
    return !(this.slotStartMs(slot + range + 1) + this.disparityMs < nowMs)
  }

  isCurrentSlot(slot: number, nowMs: number): boolean {
    return this.isWithinSlotRange(slot, 0, nowMs)
  }

  /** gloas is_current_or_next_slot: `slot` is the current slot or the next one (slot 0 has no slot before it). */
  isCurrentOrNextSlot(slot: number, nowMs: number): boolean {
    return this.isCurrentSlot(slot, nowMs) || (slot > 0 && this.isCurrentSlot(slot - 1, nowMs))
  }

  /** gloas is_past_slot: `slot` started more than the disparity ago. */
  isPastSlot(slot: number, nowMs: number): boolean {
    return nowMs > this.slotStartMs(slot) + this.disparityMs
  }

  isWithinEpoch(epoch: number, nowMs: number): boolean {
    return this.isWithinSlotRange(epoch * this.slotsPerEpoch, this.slotsPerEpoch - 1, nowMs)
  }

  isCurrentOrPreviousEpoch(epoch: number, nowMs: number): boolean {
    return this.isWithinEpoch(epoch, nowMs) || this.isWithinEpoch(epoch + 1, nowMs)
  }
}
