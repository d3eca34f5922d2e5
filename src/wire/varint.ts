/**
 * Unsigned LEB128 ("protobuf") varints for the ssz_snappy length prefix. p2p-interface.md: at most 10 bytes, SHOULD be
 * minimal — we reject non-minimal encodings, as Lighthouse and Lodestar do — and lengths are kept as JS numbers, so a
 * value must fit Number.MAX_SAFE_INTEGER (any larger value would fail MAX_PAYLOAD_SIZE anyway).
 */
import { MAX_VARINT_BYTES } from './constants.js'
import { WireError, WireErrorCode } from './errors.js'

const CONTINUATION_BIT = 0x80
const PAYLOAD_MASK = 0x7f

/** 128^i: multiplication instead of shifts, because JS bitwise operators truncate to 32 bits. */
const GROUP_WEIGHTS: readonly number[] = Array.from({ length: MAX_VARINT_BYTES }, (_, i) => 2 ** (7 * i))

/** Number of bytes `encodeVarint(value)` produces. */
export function varintLength(value: number): number {
  assertEncodable(value)
  let length = 1
  while (value >= CONTINUATION_BIT) {
    value = Math.floor(value / 128)
    length++
  }
  return length
}

/** Writes `value` at `offset` and returns the offset after it. The caller sizes `out` with `varintLength`. */
export function writeVarint(value: number, out: Uint8Array, offset: number): number {
  assertEncodable(value)
  while (value >= CONTINUATION_BIT) {
    out[offset++] = (value % 128) | CONTINUATION_BIT
    value = Math.floor(value / 128)
  }
  out[offset++] = value
  return offset
}

export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value))
  writeVarint(value, out, 0)
  return out
}

/**
 * Adds the `index`-th byte of a varint to `value` and validates it; shared by `decodeVarint` and the streaming
 * `ByteReader.readVarint` so both apply the same rules. The caller stops when `byte < 0x80`.
 */
export function accumulateVarintByte(value: number, index: number, byte: number): number {
  if (index === MAX_VARINT_BYTES - 1 && byte & CONTINUATION_BIT) {
    throw new WireError(WireErrorCode.VARINT_TOO_LONG, { maxBytes: MAX_VARINT_BYTES })
  }
  const next = value + (byte & PAYLOAD_MASK) * GROUP_WEIGHTS[index]!
  if (next > Number.MAX_SAFE_INTEGER) {
    throw new WireError(WireErrorCode.VARINT_OVERFLOW, { bytes: index + 1 })
  }
  // A final group of zero adds nothing: the same value has a shorter encoding.
  if (byte === 0 && index > 0) {
    throw new WireError(WireErrorCode.VARINT_NOT_MINIMAL, { bytes: index + 1 })
  }
  return next
}

/** Decodes a varint from `bytes` at `offset`. A truncated varint is UNEXPECTED_EOF. */
export function decodeVarint(bytes: Uint8Array, offset = 0): { value: number; bytesRead: number } {
  let value = 0
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[offset + i]
    if (byte === undefined) {
      throw new WireError(WireErrorCode.UNEXPECTED_EOF, { while: 'varint', bytes: i })
    }
    value = accumulateVarintByte(value, i, byte)
    if (byte < CONTINUATION_BIT) return { value, bytesRead: i + 1 }
  }
  // Unreachable: accumulateVarintByte throws on a 10th byte with the continuation bit set.
  throw new WireError(WireErrorCode.VARINT_TOO_LONG, { maxBytes: MAX_VARINT_BYTES })
}

function assertEncodable(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new WireError(WireErrorCode.INVALID_ARGUMENT, { varint: String(value) })
  }
}
