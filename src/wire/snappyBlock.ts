/**
 * Snappy block format (google/snappy `format_description.txt`), the payload of a compressed framing chunk.
 * Compression uses snappyjs. Decompression is our own strict decoder: snappyjs's `uncompress` does not check that the
 * tags produce exactly the declared length (it zero-fills short output and drops overlong copies), so a peer could
 * send a block every other client rejects, with a CRC that matches the zero-filled result, and we would forward it.
 */
import snappy from 'snappyjs'
import { WireError, WireErrorCode } from './errors.js'

const TAG_LITERAL = 0
const TAG_COPY_1 = 1
const TAG_COPY_2 = 2
/** Literal lengths 1-60 live in the tag; 61-64 mean "the length-1 follows in 1-4 bytes". */
const MAX_INLINE_LITERAL = 60
/** The block's uncompressed-length header is a varint of at most 32 bits (5 bytes). */
const MAX_HEADER_VARINT_BYTES = 5
/** Below this many bytes a plain loop beats subarray()+set(). */
const SHORT_COPY_BYTES = 16

export function compressBlock(uncompressed: Uint8Array): Uint8Array {
  return snappy.compress(uncompressed)
}

/** Reads a block's uncompressed-length header. */
export function blockUncompressedLength(block: Uint8Array): { length: number; headerBytes: number } {
  let length = 0
  for (let i = 0; i < MAX_HEADER_VARINT_BYTES && i < block.length; i++) {
    const byte = block[i]!
    length += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) {
      if (length > 0xffffffff) break
      return { length, headerBytes: i + 1 }
    }
  }
  throw decodeError('bad length header')
}

/** Decompresses a whole block; `maxLength` is checked before anything is allocated. */
export function decompressBlock(block: Uint8Array, maxLength: number): Uint8Array {
  const { length } = blockUncompressedLength(block)
  if (length > maxLength) throw decodeError('declared length above limit', length)
  return decompressBlockInto(block, new Uint8Array(length), 0)
}

/**
 * Decompresses a whole block into `target` at `offset` and returns the view it filled. Its declared length must fit
 * there; copies never reach before `offset`, so earlier bytes of `target` are safe.
 */
export function decompressBlockInto(block: Uint8Array, target: Uint8Array, offset: number): Uint8Array {
  const { length, headerBytes } = blockUncompressedLength(block)
  if (length > target.length - offset) throw decodeError('declared length above limit', length)
  const out = target.subarray(offset, offset + length)
  const end = block.length
  let ip = headerBytes
  let op = 0

  while (ip < end) {
    const tag = block[ip++]!
    const kind = tag & 3
    if (kind === TAG_LITERAL) {
      let len = (tag >>> 2) + 1
      if (len > MAX_INLINE_LITERAL) {
        const extra = len - MAX_INLINE_LITERAL
        if (ip + extra > end) throw decodeError('truncated literal length', op)
        len = 0
        for (let k = 0; k < extra; k++) len += block[ip + k]! * 2 ** (8 * k)
        len += 1
        ip += extra
      }
      if (ip + len > end || op + len > length) throw decodeError('literal out of bounds', op)
      if (len < SHORT_COPY_BYTES) {
        for (let k = 0; k < len; k++) out[op + k] = block[ip + k]!
      } else {
        out.set(block.subarray(ip, ip + len), op)
      }
      ip += len
      op += len
      continue
    }

    let len: number
    let offset: number
    if (kind === TAG_COPY_1) {
      if (ip + 1 > end) throw decodeError('truncated copy', op)
      len = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | block[ip]!
      ip += 1
    } else if (kind === TAG_COPY_2) {
      if (ip + 2 > end) throw decodeError('truncated copy', op)
      len = (tag >>> 2) + 1
      offset = block[ip]! | (block[ip + 1]! << 8)
      ip += 2
    } else {
      if (ip + 4 > end) throw decodeError('truncated copy', op)
      len = (tag >>> 2) + 1
      offset = (block[ip]! | (block[ip + 1]! << 8) | (block[ip + 2]! << 16) | (block[ip + 3]! << 24)) >>> 0
      ip += 4
    }
    if (offset === 0 || offset > op) throw decodeError('copy offset out of range', op)
    if (op + len > length) throw decodeError('copy past declared length', op)
    if (offset >= len && len >= SHORT_COPY_BYTES) {
      out.copyWithin(op, op - offset, op - offset + len)
    } else {
      // Overlapping copies repeat the last `offset` bytes, so they must go byte by byte.
      for (let k = 0; k < len; k++) out[op + k] = out[op - offset + k]!
    }
    op += len
  }

  if (op !== length) throw decodeError('block shorter than declared length', op)
  return out
}

function decodeError(reason: string, at = -1): WireError {
  return new WireError(WireErrorCode.SNAPPY_DECODE, at < 0 ? { reason } : { reason, at })
}
