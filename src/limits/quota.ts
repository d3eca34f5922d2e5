import { parseQuotaSpec } from '../config/quotaSpec.js'
import { INBOUND_QUOTAS, type Quota } from '../spec/quotas.js'
import { LimitError, LimitErrorCode } from './errors.js'

/** Contower's inbound quotas (or another base) with operator overrides in spec form on top; later specs win. */
export function quotaMap(
  overrides: readonly string[] = [],
  base: Readonly<Record<string, Quota>> = INBOUND_QUOTAS,
): Map<string, Quota> {
  const map = new Map(Object.entries(base).map(([protocol, q]) => [protocol, { ...q }]))
  for (const spec of overrides) {
    const { protocol, quota } = parseQuotaSpec(spec)
    map.set(protocol, quota)
  }
  return map
}

/** Throws LimitError(INVALID_QUOTA) unless tokens and seconds are positive and finite. */
export function assertQuota(quota: Quota): void {
  const { tokens, seconds } = quota
  if (!(Number.isFinite(tokens) && tokens > 0 && Number.isFinite(seconds) && seconds > 0)) {
    throw new LimitError(LimitErrorCode.INVALID_QUOTA, { tokens, seconds })
  }
}
