import { ContowerError } from '../errors.js'
import { RespCode } from '../wire/constants.js'

/** The error answers a handler may give, by the spec's name (also the server's metrics result). */
export type ResponseErrorCode = 'invalid_request' | 'server_error' | 'resource_unavailable' | 'rate_limited'

const RESPONSE_ERROR_CODES: Record<number, ResponseErrorCode> = {
  [RespCode.InvalidRequest]: 'invalid_request',
  [RespCode.ServerError]: 'server_error',
  [RespCode.ResourceUnavailable]: 'resource_unavailable',
  [RespCode.RateLimited]: 'rate_limited',
}

/** Thrown by a request handler: the requester gets an error chunk with this response code and message. */
export class ResponseError extends ContowerError<ResponseErrorCode> {
  constructor(
    readonly respCode: RespCode,
    message: string,
  ) {
    super(RESPONSE_ERROR_CODES[respCode] ?? 'server_error', message)
  }
}

export enum RequestErrorCode {
  /** Could not open a stream or negotiate the protocol. */
  DIAL_FAILED = 'DIAL_FAILED',
  /** The request was not written and half-closed within REQUEST_TIMEOUT_MS (a connection that stopped moving). */
  REQUEST_TIMEOUT = 'REQUEST_TIMEOUT',
  /** No first response byte within TTFB_TIMEOUT_MS. */
  TTFB_TIMEOUT = 'TTFB_TIMEOUT',
  /** A later chunk did not complete within RESP_TIMEOUT_MS. */
  RESP_TIMEOUT = 'RESP_TIMEOUT',
  /** Malformed framing, bounds, CRC, unknown context bytes, undecodable SSZ… */
  INVALID_RESPONSE = 'INVALID_RESPONSE',
  /** More chunks than the request allows. */
  TOO_MANY_CHUNKS = 'TOO_MANY_CHUNKS',
  /** The responder answered with an error code. */
  ERROR_RESPONSE = 'ERROR_RESPONSE',
  /** The stream was reset or the connection closed mid-response. */
  STREAM_FAILED = 'STREAM_FAILED',
  /** Our caller gave up (its signal fired): no fault of the peer's. */
  ABORTED = 'ABORTED',
}

/** An outbound request that failed, with what the caller needs to penalise or fail over. */
export class RequestError extends ContowerError<RequestErrorCode> {
  constructor(
    code: RequestErrorCode,
    readonly protocol: string,
    message: string,
    readonly detail: { respCode?: number; cause?: unknown } = {},
  ) {
    super(code, `${protocol}: ${code}: ${message}`, { cause: detail.cause })
  }
}

export { RespCode }
