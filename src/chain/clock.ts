import type { ChainConfig } from './chainConfig.js'

/** phase0 p2p-interface.md MAXIMUM_GOSSIP_CLOCK_DISPARITY: tolerated clock skew for gossip time checks. */
export const MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS = 500
/** After a longer stall (suspend, blocked loop) only the current slot is announced, not every missed one. */
const MAX_CATCH_UP_SLOTS = 64
/** setTimeout's largest delay (2^31 - 1 ms, ~24.8 days); a longer wait for genesis is done in steps. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

export type SlotListener = (slot: number) => void
export type EpochListener = (epoch: number) => void

export interface ClockModules {
  /** Wall clock in unix milliseconds; tests pass a fake one. Default: Date.now. */
  now?: () => number
}

export interface ClockOpts {
  /** Unix seconds. */
  genesisTime: number
  /** May be fractional (a SLOT_DURATION_MS that is not a whole second). */
  secondsPerSlot: number
  slotsPerEpoch: number
  /** Where a listener's exception goes; by default a process warning, so one listener cannot stop the clock. */
  onListenerError?: (err: unknown) => void
}

/**
 * Slot and epoch arithmetic from genesis time, plus slot/epoch events while started. Before genesis the
 * current slot is 0; the first events fire at genesis (slot 0, epoch 0).
 */
export class Clock {
  readonly genesisTimeMs: number
  readonly slotDurationMs: number
  readonly slotsPerEpoch: number
  private readonly now: () => number
  private readonly onListenerError: (err: unknown) => void
  private readonly slotListeners = new Set<SlotListener>()
  private readonly epochListeners = new Set<EpochListener>()
  private timer: NodeJS.Timeout | null = null
  /** Last slot and epoch announced to listeners; -1 before genesis. */
  private lastSlot = -1
  private lastEpoch = -1

  constructor(modules: ClockModules, opts: ClockOpts) {
    if (!(opts.secondsPerSlot > 0)) throw new RangeError(`secondsPerSlot must be positive: ${opts.secondsPerSlot}`)
    if (!Number.isInteger(opts.slotsPerEpoch) || opts.slotsPerEpoch <= 0) {
      throw new RangeError(`slotsPerEpoch must be a positive integer: ${opts.slotsPerEpoch}`)
    }
    this.genesisTimeMs = opts.genesisTime * 1000
    this.slotDurationMs = Math.round(opts.secondsPerSlot * 1000)
    this.slotsPerEpoch = opts.slotsPerEpoch
    this.now = modules.now ?? (() => Date.now())
    this.onListenerError =
      opts.onListenerError ?? ((err) => process.emitWarning(`clock listener failed: ${String(err)}`, 'ContowerClock'))
  }

  static fromChainConfig(config: ChainConfig, genesisTime: number, modules: ClockModules = {}): Clock {
    return new Clock(modules, {
      genesisTime,
      secondsPerSlot: config.secondsPerSlot,
      slotsPerEpoch: config.slotsPerEpoch,
    })
  }

  /** Slot at unix-ms `ms`; 0 before genesis. */
  slotAtMs(ms: number): number {
    if (ms < this.genesisTimeMs) return 0
    return Math.floor((ms - this.genesisTimeMs) / this.slotDurationMs)
  }

  get currentSlot(): number {
    return this.slotAtMs(this.now())
  }

  get currentEpoch(): number {
    return this.epochAtSlot(this.currentSlot)
  }

  /** The slot `toleranceMs` from now (negative looks back), for gossip windows. */
  currentSlotWithToleranceMs(toleranceMs: number): number {
    return this.slotAtMs(this.now() + toleranceMs)
  }

  isBeforeGenesis(): boolean {
    return this.now() < this.genesisTimeMs
  }

  epochAtSlot(slot: number): number {
    return Math.floor(slot / this.slotsPerEpoch)
  }

  firstSlotOfEpoch(epoch: number): number {
    return epoch * this.slotsPerEpoch
  }

  /** Unix ms now, on this clock. */
  nowMs(): number {
    return this.now()
  }

  /** Unix ms at which `slot` starts. */
  slotStartMs(slot: number): number {
    return this.genesisTimeMs + slot * this.slotDurationMs
  }

  /** Milliseconds until the next slot starts (until genesis, before genesis). */
  msUntilNextSlot(): number {
    const now = this.now()
    if (now < this.genesisTimeMs) return this.genesisTimeMs - now
    return this.slotStartMs(this.slotAtMs(now) + 1) - now
  }

  /**
   * Whether `slot` is the current slot for some clock within ±disparityMs of ours (phase0 p2p-interface.md:
   * "with a MAXIMUM_GOSSIP_CLOCK_DISPARITY allowance").
   */
  isSlotWithinDisparity(slot: number, disparityMs = MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS): boolean {
    if (this.isBeforeGenesis() && this.now() + disparityMs < this.genesisTimeMs) return false
    return this.currentSlotWithToleranceMs(-disparityMs) <= slot && slot <= this.currentSlotWithToleranceMs(disparityMs)
  }

  /** Call `listener` at the start of every slot while started; returns an unsubscribe function. */
  onSlot(listener: SlotListener): () => void {
    this.slotListeners.add(listener)
    return () => this.slotListeners.delete(listener)
  }

  /** Call `listener` at the start of every epoch while started; returns an unsubscribe function. */
  onEpoch(listener: EpochListener): () => void {
    this.epochListeners.add(listener)
    return () => this.epochListeners.delete(listener)
  }

  get running(): boolean {
    return this.timer !== null
  }

  /** Start announcing slots. The slot in progress is not announced; the next boundary is. */
  start(): void {
    if (this.timer) return
    const beforeGenesis = this.isBeforeGenesis()
    this.lastSlot = beforeGenesis ? -1 : this.currentSlot
    this.lastEpoch = beforeGenesis ? -1 : this.epochAtSlot(this.lastSlot)
    this.schedule()
  }

  /** Stop announcing; idempotent. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.tick(), Math.min(this.msUntilNextSlot(), MAX_TIMER_DELAY_MS))
  }

  private tick(): void {
    const own = this.timer
    if (!this.isBeforeGenesis()) {
      const current = this.currentSlot
      const first = current - this.lastSlot > MAX_CATCH_UP_SLOTS ? current : this.lastSlot + 1
      for (let slot = first; slot <= current && this.timer === own; slot++) {
        this.lastSlot = slot
        for (const listener of this.slotListeners) this.call(listener, slot)
        const epoch = this.epochAtSlot(slot)
        if (epoch > this.lastEpoch) {
          this.lastEpoch = epoch
          for (const listener of this.epochListeners) this.call(listener, epoch)
        }
      }
    }
    // A listener may have called stop() (or stop() and start()): then this tick no longer owns the timer.
    if (this.timer === own) this.schedule()
  }

  private call(listener: (value: number) => void, value: number): void {
    try {
      listener(value)
    } catch (err) {
      this.onListenerError(err)
    }
  }
}
