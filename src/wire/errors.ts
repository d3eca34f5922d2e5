import { ContowerError } from '../errors.js'

/**
 * Typed failures of the req/resp wire codec. Every error thrown by `src/wire` is a `WireError`, so callers can map
 * `code` to a response code (InvalidRequest for bad requests) or a peer penalty in one pure function.
 */
export enum WireErrorCode {
  /** A varint kept its continuation bit set past the 10th byte. */
  VARINT_TOO_LONG = 'VARINT_TOO_LONG',
  /** A varint carried redundant trailing zero groups (e.g. `80 00` for 0). */
  VARINT_NOT_MINIMAL = 'VARINT_NOT_MINIMAL',
  /** A varint decoded to more than Number.MAX_SAFE_INTEGER (any such length is out of bounds anyway). */
  VARINT_OVERFLOW = 'VARINT_OVERFLOW',
  /** The declared SSZ length is outside the type's [minSize, maxSize]. */
  LENGTH_OUT_OF_BOUNDS = 'LENGTH_OUT_OF_BOUNDS',
  /** The declared (or, when encoding, the actual) SSZ length exceeds MAX_PAYLOAD_SIZE. */
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  /** The snappy stream did not start with, or carried a malformed, stream identifier. */
  BAD_STREAM_IDENTIFIER = 'BAD_STREAM_IDENTIFIER',
  /** A reserved unskippable snappy chunk type (0x02-0x7f). */
  BAD_CHUNK_TYPE = 'BAD_CHUNK_TYPE',
  /** A snappy chunk longer than the framing format allows (or one that uncompresses to more than 65536 bytes). */
  CHUNK_TOO_LARGE = 'CHUNK_TOO_LARGE',
  /** A data chunk too short to hold its 4-byte checksum. */
  CHUNK_TOO_SHORT = 'CHUNK_TOO_SHORT',
  /** The masked CRC32C of a chunk's uncompressed data did not match. */
  BAD_CRC = 'BAD_CRC',
  /** Reading the payload would exceed max_compressed_len(n) compressed bytes. */
  TOO_MANY_COMPRESSED_BYTES = 'TOO_MANY_COMPRESSED_BYTES',
  /** The frames would produce more uncompressed bytes than the length prefix declared. */
  UNCOMPRESSED_LENGTH_MISMATCH = 'UNCOMPRESSED_LENGTH_MISMATCH',
  /** Bytes followed a request payload where EOF (requester half-close) was expected. */
  TRAILING_BYTES = 'TRAILING_BYTES',
  /** The stream ended inside a varint, a frame or before n bytes were produced. */
  UNEXPECTED_EOF = 'UNEXPECTED_EOF',
  /** Context bytes that the caller cannot map to a fork (thrown by the caller's `boundsFor`). */
  UNKNOWN_CONTEXT_BYTES = 'UNKNOWN_CONTEXT_BYTES',
  /** A result byte in the reserved range 4-127. */
  BAD_RESULT_CODE = 'BAD_RESULT_CODE',
  /** A malformed snappy block inside a compressed chunk. */
  SNAPPY_DECODE = 'SNAPPY_DECODE',
  /** The caller's AbortSignal fired while a read was pending. */
  ABORTED = 'ABORTED',
  /** The underlying byte source threw (stream reset, muxer error ...); the original error is the `cause`. */
  SOURCE_ERROR = 'SOURCE_ERROR',
  /** An encoder was called with an argument the wire format cannot carry. */
  INVALID_ARGUMENT = 'INVALID_ARGUMENT',
}

export type WireErrorDetail = Readonly<Record<string, string | number | boolean | null>>

export class WireError extends ContowerError<WireErrorCode> {
  constructor(
    code: WireErrorCode,
    readonly detail: WireErrorDetail = {},
    options?: { cause?: unknown },
  ) {
    super(code, formatMessage(code, detail), options)
  }
}

export function isWireError(err: unknown, code?: WireErrorCode): err is WireError {
  return err instanceof WireError && (code === undefined || err.code === code)
}

function formatMessage(code: WireErrorCode, detail: WireErrorDetail): string {
  const parts = Object.entries(detail).map(([k, v]) => `${k}=${v}`)
  return parts.length === 0 ? code : `${code} (${parts.join(', ')})`
}
