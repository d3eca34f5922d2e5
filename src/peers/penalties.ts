import { RequestError, RequestErrorCode } from '../reqresp/errors.js'
import { RespCode } from '../wire/constants.js'
import { PeerAction } from '../reqresp/peerAction.js'

/**
 * The one place that maps a failed outbound request to a penalty for the peer that answered it (null: no
 * fault of theirs). Lodestar's mapping, roughly: garbage is costly, slowness is cheap, honest refusal is free.
 */
export function penaltyForRequestError(err: RequestError): PeerAction | null {
  switch (err.code) {
    case RequestErrorCode.INVALID_RESPONSE:
    case RequestErrorCode.TOO_MANY_CHUNKS:
      return PeerAction.LowToleranceError
    case RequestErrorCode.TTFB_TIMEOUT:
    case RequestErrorCode.RESP_TIMEOUT:
      return PeerAction.MidToleranceError
    case RequestErrorCode.DIAL_FAILED:
    case RequestErrorCode.STREAM_FAILED:
      return PeerAction.HighToleranceError
    case RequestErrorCode.ABORTED:
      return null
    case RequestErrorCode.ERROR_RESPONSE:
      // ResourceUnavailable is an honest "don't have it"; ServerError/InvalidRequest hint at a broken peer.
      return err.detail.respCode === RespCode.ResourceUnavailable ? null : PeerAction.HighToleranceError
  }
}

export function isRequestError(e: unknown): e is RequestError {
  return e instanceof RequestError
}
