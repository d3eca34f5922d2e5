/**
 * ssz_snappy request and response chunks. p2p-interface.md "Req/Resp interaction" and "Encoding strategies":
 *
 *   request        ::= <varint n> <snappy frames of n SSZ bytes>
 *   response_chunk ::= <result> [<context-bytes>] <varint n> <snappy frames of n SSZ bytes>
 *
 * Lengths are checked against the type's bounds and MAX_PAYLOAD_SIZE before any payload byte is read.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import type { ByteReader } from './byteReader.js'
import {
  CONTEXT_BYTES_LENGTH,
  FIRST_CLIENT_RESULT_CODE,
  FIRST_RESERVED_RESULT_CODE,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_PAYLOAD_SIZE_BYTES,
  RespCode,
} from './constants.js'
import { WireError, WireErrorCode } from './errors.js'
import { encodeSnappyFrames, readSnappyFrames } from './snappyFrames.js'
import { varintLength, writeVarint } from './varint.js'

/** Bytes for the wire in one piece or several (a libp2p stream sends either as it is). */
export type WireBytes = Uint8Array | Uint8ArrayList

/** SSZ size bounds of the expected type (`minSize`/`maxSize` of a @chainsafe/ssz type fit as is). */
export interface SszBounds {
  minSize: number
  maxSize: number
}

export interface ResponseChunkOptions {
  /** Whether success chunks of this protocol carry 4 context bytes (a ForkDigest). */
  contextBytes: boolean
  /** Bounds of the payload type for these context bytes (null without them); may throw UNKNOWN_CONTEXT_BYTES. */
  boundsFor(contextBytes: Uint8Array | null): SszBounds
  /**
   * Keep only this many leading bytes of a success payload in `ssz` (all when absent). Every frame is still read,
   * decompressed and checksummed; for a caller that forwards `raw` and reads only fixed-offset fields.
   */
  sszPrefixBytes?: number
}

export interface ResponseChunk {
  /** RespCode, or a client-specific code 128-255. */
  result: number
  /** Present on success chunks of protocols with context bytes. */
  contextBytes?: Uint8Array
  /** The SSZ payload of a success chunk (its first `sszPrefixBytes` bytes when the caller asked for a prefix). */
  ssz?: Uint8Array
  /** The error message of an error chunk, decoded leniently as UTF-8 ('' when the responder sent none). */
  errorMessage?: string
  /**
   * Exactly the bytes this chunk occupied on the wire, for forwarding without re-encoding: views of the pieces the
   * stream delivered, not a copy (a libp2p stream sends a Uint8ArrayList as it is).
   */
  raw: Uint8ArrayList
}

const ERROR_MESSAGE_BOUNDS: SszBounds = { minSize: 0, maxSize: MAX_ERROR_MESSAGE_BYTES }
const utf8Encoder = new TextEncoder()
// Spec: "Clients MUST treat as valid any byte sequences", so invalid UTF-8 becomes U+FFFD instead of an error.
const utf8Decoder = new TextDecoder('utf-8', { fatal: false })

/** varint(len) + snappy frames: a request, or the payload part of a response chunk. */
export function encodeSszSnappy(ssz: Uint8Array, header: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (ssz.length > MAX_PAYLOAD_SIZE_BYTES) {
    throw new WireError(WireErrorCode.PAYLOAD_TOO_LARGE, { length: ssz.length, max: MAX_PAYLOAD_SIZE_BYTES })
  }
  const prefix = new Uint8Array(header.length + varintLength(ssz.length))
  prefix.set(header, 0)
  writeVarint(ssz.length, prefix, header.length)
  return encodeSnappyFrames(ssz, prefix)
}

export function encodeRequest(ssz: Uint8Array): Uint8Array {
  return encodeSszSnappy(ssz)
}

/** A success chunk: result 0, the context bytes when the protocol has them, then the payload. */
export function encodeResponseChunk(result: RespCode.Success, ssz: Uint8Array, contextBytes?: Uint8Array): Uint8Array {
  if (result !== RespCode.Success) throw new WireError(WireErrorCode.INVALID_ARGUMENT, { result })
  if (contextBytes !== undefined && contextBytes.length !== CONTEXT_BYTES_LENGTH) {
    throw new WireError(WireErrorCode.INVALID_ARGUMENT, { contextBytesLength: contextBytes.length })
  }
  const header = new Uint8Array(1 + (contextBytes?.length ?? 0))
  header[0] = result
  if (contextBytes !== undefined) header.set(contextBytes, 1)
  return encodeSszSnappy(ssz, header)
}

/**
 * An error chunk: the result code, then the message as ssz_snappy `List[Byte, 256]` (UTF-8, cut to 256 bytes at a
 * character boundary), no context bytes.
 */
export function encodeErrorChunk(code: number, message: string): Uint8Array {
  if (!isErrorResultCode(code)) throw new WireError(WireErrorCode.INVALID_ARGUMENT, { result: code })
  return encodeSszSnappy(truncateUtf8(utf8Encoder.encode(message), MAX_ERROR_MESSAGE_BYTES), Uint8Array.of(code))
}

/**
 * Reads a length prefix, checks it against `bounds` and MAX_PAYLOAD_SIZE, then reads and decompresses the payload
 * (returning its first `keep` bytes when given).
 */
export async function readSszSnappy(
  reader: ByteReader,
  bounds: SszBounds,
  signal?: AbortSignal,
  keep?: number,
): Promise<Uint8Array> {
  const length = await reader.readVarint(signal)
  checkDeclaredLength(length, bounds)
  return readSnappyFrames(reader, length, signal, keep)
}

/** Reads one request payload; the requester must have half-closed right after it. */
export async function readRequest(reader: ByteReader, bounds: SszBounds, signal?: AbortSignal): Promise<Uint8Array> {
  const ssz = await readSszSnappy(reader, bounds, signal)
  if (!(await reader.isEnd(signal))) throw new WireError(WireErrorCode.TRAILING_BYTES, { after: reader.bytesConsumed })
  return ssz
}

/** Reads one response chunk, or returns null at a clean EOF before it starts. */
export async function readResponseChunk(
  reader: ByteReader,
  opts: ResponseChunkOptions,
  signal?: AbortSignal,
): Promise<ResponseChunk | null> {
  if (await reader.isEnd(signal)) return null
  reader.startCapture()
  try {
    const result = await reader.readByte(signal)
    if (result === RespCode.Success) {
      let contextBytes: Uint8Array | null = null
      if (opts.contextBytes) contextBytes = (await reader.readExact(CONTEXT_BYTES_LENGTH, signal)).slice()
      const bounds = opts.boundsFor(contextBytes)
      const ssz = await readSszSnappy(reader, bounds, signal, opts.sszPrefixBytes)
      const raw = reader.endCapture()
      return contextBytes === null ? { result, ssz, raw } : { result, contextBytes, ssz, raw }
    }
    if (!isErrorResultCode(result)) throw new WireError(WireErrorCode.BAD_RESULT_CODE, { result })
    // Lodestar sends a bare result byte when it has no message; accept EOF there as an empty message.
    let message: Uint8Array = new Uint8Array(0)
    if (!(await reader.isEnd(signal))) message = await readSszSnappy(reader, ERROR_MESSAGE_BOUNDS, signal)
    return { result, errorMessage: utf8Decoder.decode(message), raw: reader.endCapture() }
  } finally {
    reader.cancelCapture()
  }
}

/**
 * Yields response chunks until a clean EOF. Stops after an error chunk (only the last chunk may be one) without
 * reading further; the caller decides what to do with the stream.
 */
export async function* readResponseChunks(
  reader: ByteReader,
  opts: ResponseChunkOptions,
  signal?: AbortSignal,
): AsyncGenerator<ResponseChunk, void, undefined> {
  for (;;) {
    const chunk = await readResponseChunk(reader, opts, signal)
    if (chunk === null) return
    yield chunk
    if (chunk.result !== RespCode.Success) return
  }
}

function checkDeclaredLength(length: number, bounds: SszBounds): void {
  if (length > MAX_PAYLOAD_SIZE_BYTES) {
    throw new WireError(WireErrorCode.PAYLOAD_TOO_LARGE, { length, max: MAX_PAYLOAD_SIZE_BYTES })
  }
  if (length < bounds.minSize || length > bounds.maxSize) {
    throw new WireError(WireErrorCode.LENGTH_OUT_OF_BOUNDS, {
      length,
      minSize: bounds.minSize,
      maxSize: bounds.maxSize,
    })
  }
}

/** 1-3 and the client-specific 128-255; 0 is success and 4-127 are reserved. */
function isErrorResultCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code > RespCode.Success && code < FIRST_RESERVED_RESULT_CODE) ||
      (code >= FIRST_CLIENT_RESULT_CODE && code <= 0xff))
  )
}

/** Cuts UTF-8 to at most `max` bytes without splitting a character. */
function truncateUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes
  let end = max
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}
