// Rate limits: GCRA token buckets, the inbound limiter (what peers may ask of Contower) and the upstream self-limit
// (what Contower may ask of each peer without being banned).
export { LimitError, LimitErrorCode, QUOTA_SPEC_FORM, QuotaSpecError, type LimitErrorDetail } from './errors.js'
export {
  INBOUND_LIMITER_DEFAULTS,
  InboundRateLimiter,
  type InboundDecision,
  type InboundRateLimiterModules,
  type InboundRateLimiterOpts,
  type InboundRefusal,
} from './inboundLimiter.js'
export { GLOBAL_QUOTA_KEY, LODESTAR_QUOTAS, parseQuotaSpec, quotaMap, type Quota } from './quota.js'
export { TokenBucket, type TokenBucketOpts } from './tokenBucket.js'
export {
  UPSTREAM_LIMITER_DEFAULTS,
  UpstreamLimiter,
  type UpstreamLease,
  type UpstreamLimiterModules,
  type UpstreamLimiterOpts,
} from './upstreamLimiter.js'
