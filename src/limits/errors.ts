/**
 * Typed errors of the limits module. A bad quota spec comes from an operator (config file, env, flag), so its
 * message names the text and the expected form; the other codes are programming errors of a caller.
 */

/** The form `parseQuotaSpec` accepts, quoted in every QuotaSpecError. */
export const QUOTA_SPEC_FORM = 'protocol:tokens/seconds, e.g. beacon_blocks_by_range:128/10'

export class QuotaSpecError extends Error {
  readonly code = 'QUOTA_SPEC_INVALID'

  constructor(
    /** The spec as written. */
    readonly text: string,
    /** What is wrong with it, e.g. `tokens must be a positive integer`. */
    readonly problem: string,
  ) {
    super(`invalid quota spec ${JSON.stringify(text)}: ${problem} (expected ${QUOTA_SPEC_FORM})`)
    this.name = 'QuotaSpecError'
  }
}

export enum LimitErrorCode {
  /** A quota with non-positive or non-finite tokens or seconds. */
  INVALID_QUOTA = 'LIMIT_INVALID_QUOTA',
  /** A cost that is negative, NaN or infinite. */
  INVALID_COST = 'LIMIT_INVALID_COST',
  /** A limiter option outside its range (e.g. safetyFactor 0). */
  INVALID_OPTION = 'LIMIT_INVALID_OPTION',
  /** `TokenBucket.reserve` asked for tokens earlier than they can be there. */
  RESERVATION_TOO_EARLY = 'LIMIT_RESERVATION_TOO_EARLY',
}

export type LimitErrorDetail = Readonly<Record<string, string | number | boolean | null>>

export class LimitError extends Error {
  constructor(
    readonly code: LimitErrorCode,
    readonly detail: LimitErrorDetail = {},
  ) {
    const parts = Object.entries(detail).map(([k, v]) => `${k}=${v}`)
    super(parts.length === 0 ? code : `${code} (${parts.join(', ')})`)
    this.name = 'LimitError'
  }
}

/** Costs are item counts (blocks, roots, columns): finite and not negative. 0 takes nothing. */
export function assertCost(cost: number): void {
  if (!Number.isFinite(cost) || cost < 0) throw new LimitError(LimitErrorCode.INVALID_COST, { cost })
}
