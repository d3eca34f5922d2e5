import { RespCode } from '../wire/constants.js'

/** Thrown by a request handler: the requester gets an error chunk with this code and message. */
export class ResponseError extends Error {
  constructor(
    readonly code: RespCode,
    message: string,
  ) {
    super(message)
    this.name = 'ResponseError'
  }
}

export enum RequestErrorCode {
  /** Could not open a stream or negotiate the protocol. */
  DIAL_FAILED = 'DIAL_FAILED',
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
export class RequestError extends Error {
  constructor(
    readonly code: RequestErrorCode,
    readonly protocol: string,
    message: string,
    readonly detail: { respCode?: number; cause?: unknown } = {},
  ) {
    super(`${protocol}: ${code}: ${message}`, { cause: detail.cause })
    this.name = 'RequestError'
  }
}

export { RespCode }
