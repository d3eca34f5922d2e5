import { RequestError, RequestErrorCode } from '../reqresp/errors.js'
import { RespCode } from '../wire/constants.js'
import { PeerAction } from '../reqresp/peerAction.js'

/**
 * The one place that maps a failed outbound request to a penalty for the peer that answered it, keyed by the error's
 * code (null: no fault of theirs). Lodestar's mapping, roughly: garbage is costly, slowness is cheap, honest refusal
 * is free.
 */
export const REQUEST_ERROR_PENALTIES: Readonly<Record<RequestErrorCode, PeerAction | null>> = {
  [RequestErrorCode.INVALID_RESPONSE]: PeerAction.LowToleranceError,
  [RequestErrorCode.TOO_MANY_CHUNKS]: PeerAction.LowToleranceError,
  [RequestErrorCode.REQUEST_TIMEOUT]: PeerAction.MidToleranceError,
  [RequestErrorCode.TTFB_TIMEOUT]: PeerAction.MidToleranceError,
  [RequestErrorCode.RESP_TIMEOUT]: PeerAction.MidToleranceError,
  [RequestErrorCode.DIAL_FAILED]: PeerAction.HighToleranceError,
  [RequestErrorCode.STREAM_FAILED]: PeerAction.HighToleranceError,
  [RequestErrorCode.ABORTED]: null,
  // ServerError/InvalidRequest hint at a broken peer; ResourceUnavailable (below) is an honest "don't have it".
  [RequestErrorCode.ERROR_RESPONSE]: PeerAction.HighToleranceError,
}

export function penaltyForRequestError(err: RequestError): PeerAction | null {
  if (err.code === RequestErrorCode.ERROR_RESPONSE && err.detail.respCode === RespCode.ResourceUnavailable) return null
  if (isRateLimitAnswer(err)) return null // we asked too fast: our fault, not theirs
  return REQUEST_ERROR_PENALTIES[err.code]
}

/**
 * An answer that says the peer limits us: code 139 (Lighthouse, Grandine, Contower), or an error whose message says so
 * (Prysm answers InvalidRequest "rate limited", Teku InvalidRequest "Peer has been rate limited", Lodestar ServerError
 * "REQUEST_ERROR_RATE_LIMITED").
 */
export function isRateLimitAnswer(err: RequestError): boolean {
  if (err.code !== RequestErrorCode.ERROR_RESPONSE) return false
  return err.detail.respCode === RespCode.RateLimited || /rate[ _-]?limit/i.test(err.message)
}

export function isRequestError(e: unknown): e is RequestError {
  return e instanceof RequestError
}
