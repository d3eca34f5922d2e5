import { ContowerError } from '../errors.js'
/**
 * Typed errors of the limits module. Their codes are programming errors of a caller (a bad
 * operator-written quota is config's QuotaSpecError).
 */

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

export class LimitError extends ContowerError<LimitErrorCode> {
  constructor(
    code: LimitErrorCode,
    readonly detail: LimitErrorDetail = {},
  ) {
    const parts = Object.entries(detail).map(([k, v]) => `${k}=${v}`)
    super(code, parts.length === 0 ? code : `${code} (${parts.join(', ')})`)
  }
}

/** Costs are item counts (blocks, roots, columns): finite and not negative. 0 takes nothing. */
export function assertCost(cost: number): void {
  if (!Number.isFinite(cost) || cost < 0) throw new LimitError(LimitErrorCode.INVALID_COST, { cost })
}
