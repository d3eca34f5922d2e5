/**
 * light_client_finality_update and light_client_optimistic_update (altair light-client/p2p-interface.md), the checks
 * open to a node without a chain: newer than every update already forwarded (a finality update at the same slot
 * passes once, when it first shows a sync-committee supermajority), received no earlier than
 * get_sync_message_due_ms() after the start of its signature slot, and sound: its branches prove its headers and its
 * slots are in order (lightClientProofs.ts). All fail as IGNORE: a full node ignores an update that is not the one it
 * computed, and a broken one never is. Not judged: whether the update matches a locally computed one (full nodes) or
 * its signature verifies (light clients).
 *
 * The "already forwarded" state is shared across fork digests, as the spec asks of application caches.
 */
import { popcount } from '../chain/bits.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import { type LightClientUpdateLike, updateFault } from '../chain/lightClientProofs.js'
import type { ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, type Verdict } from './verdict.js'

/** altair validator.md SYNC_MESSAGE_DUE_BPS (a third of the slot), when the config omits it. */
const DEFAULT_SYNC_MESSAGE_DUE_BPS = 3333
/** Basis points in a whole (phase0 get_slot_component_duration_ms). */
const BASIS_POINTS = 10_000

interface FinalityUpdateLike extends LightClientUpdateLike {
  finalizedHeader: NonNullable<LightClientUpdateLike['finalizedHeader']>
}

/** Remembers what was forwarded; `validate*` record an accepted update as forwarded. */
export class LightClientGate {
  private readonly syncMessageDueMs: number
  private finalizedSlot = -1
  private finalizedSupermajority = false
  private optimisticSlot = -1

  constructor(private readonly forkSchedule: ForkSchedule) {
    const { config } = forkSchedule
    const bps = config.values.optionalUint('SYNC_MESSAGE_DUE_BPS') ?? DEFAULT_SYNC_MESSAGE_DUE_BPS
    this.syncMessageDueMs = Math.floor((bps * config.slotDurationMs) / BASIS_POINTS)
  }

  validateFinalityUpdate(ctx: ValidationContext, update: FinalityUpdateLike): Verdict {
    const slot = update.finalizedHeader.beacon.slot
    const supermajority = hasSupermajority(update.syncAggregate)
    const newer = slot > this.finalizedSlot
    const upgrade = slot === this.finalizedSlot && supermajority && !this.finalizedSupermajority
    if (!newer && !upgrade) return ignore('not_newer')
    if (this.tooEarly(ctx, update.signatureSlot)) return ignore('too_early')
    if (updateFault(this.forkSchedule, update) !== null) return ignore('invalid_proof')
    this.finalizedSlot = slot
    this.finalizedSupermajority = supermajority
    return ACCEPT
  }

  validateOptimisticUpdate(ctx: ValidationContext, update: LightClientUpdateLike): Verdict {
    const slot = update.attestedHeader.beacon.slot
    if (!(slot > this.optimisticSlot)) return ignore('not_newer')
    if (this.tooEarly(ctx, update.signatureSlot)) return ignore('too_early')
    if (updateFault(this.forkSchedule, update) !== null) return ignore('invalid_proof')
    this.optimisticSlot = slot
    return ACCEPT
  }

  private tooEarly(ctx: ValidationContext, signatureSlot: number): boolean {
    return ctx.nowMs + ctx.windows.disparityMs < ctx.windows.slotStartMs(signatureSlot) + this.syncMessageDueMs
  }
}

/** More than 2/3 of the sync committee signed. */
function hasSupermajority(aggregate: LightClientUpdateLike['syncAggregate']): boolean {
  const bits = aggregate.syncCommitteeBits
  return popcount(bits.uint8Array) * 3 > bits.bitLen * 2
}
