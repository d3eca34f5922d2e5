// The grammar of an operator-written quota, `protocol:tokens/seconds`, checked when config loads.
import { ContowerError } from '../errors.js'
import type { Quota } from '../spec/quotas.js'

/** The form `parseQuotaSpec` accepts, quoted in every QuotaSpecError. */
export const QUOTA_SPEC_FORM = 'protocol:tokens/seconds, e.g. beacon_blocks_by_range:128/10'

export class QuotaSpecError extends ContowerError<'QUOTA_SPEC_INVALID'> {
  constructor(
    /** The spec as written. */
    readonly text: string,
    /** What is wrong with it, e.g. `tokens must be a positive integer`. */
    readonly problem: string,
  ) {
    super('QUOTA_SPEC_INVALID', `invalid quota spec ${JSON.stringify(text)}: ${problem} (expected ${QUOTA_SPEC_FORM})`)
  }
}

const PROTOCOL_RE = /^[a-z][a-z0-9_]*$/
const TOKENS_RE = /^[0-9]+$/
const SECONDS_RE = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/

/** Parses `protocol:tokens/seconds` (e.g. `beacon_blocks_by_range:128/10`); throws QuotaSpecError naming the text. */
export function parseQuotaSpec(text: string): { protocol: string; quota: Quota } {
  const match = /^([^:]*):([^/]*)\/(.*)$/.exec(text.trim())
  if (!match) throw new QuotaSpecError(text, 'not of the form protocol:tokens/seconds')
  const [, protocol, tokensText, secondsText] = match
  if (!PROTOCOL_RE.test(protocol)) throw new QuotaSpecError(text, 'protocol must be a req/resp name like status')
  const tokens = Number(tokensText)
  if (!TOKENS_RE.test(tokensText) || !Number.isSafeInteger(tokens) || tokens <= 0) {
    throw new QuotaSpecError(text, 'tokens must be a positive integer')
  }
  const seconds = Number(secondsText)
  if (!SECONDS_RE.test(secondsText) || !Number.isFinite(seconds) || seconds <= 0) {
    throw new QuotaSpecError(text, 'seconds must be a positive number')
  }
  return { protocol, quota: { tokens, seconds } }
}
