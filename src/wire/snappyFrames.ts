/**
 * Snappy framing format (google/snappy `framing_format.txt`) as ssz_snappy uses it: the stream identifier, then data
 * chunks of at most 65536 uncompressed bytes, each `type, u24le length, u32le masked CRC32C(uncompressed), data`.
 */
import type { ByteReader } from './byteReader.js'
import {
  SNAPPY_CHECKSUM_BYTES,
  SNAPPY_CHUNK_HEADER_BYTES,
  SNAPPY_MAX_COMPRESSED_BLOCK_BYTES,
  SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES,
  SNAPPY_STREAM_IDENTIFIER,
  SnappyChunkType,
} from './constants.js'
import { maskedCrc32c } from './crc32c.js'
import { WireError, WireErrorCode } from './errors.js'
import { blockUncompressedLength, compressBlock, decompressBlockInto } from './snappyBlock.js'

const EMPTY = new Uint8Array(0)

/**
 * Snappy's worst-case compressed size for n bytes; a reader MUST NOT read more than this after the length prefix.
 * p2p-interface.md `max_compressed_len(n) = 32 + n + n / 6` (Uint64 division, hence floor).
 */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6)
}

/**
 * Frames `data`: stream identifier, then one chunk per 65536 bytes, compressed unless compression does not shrink
 * it (the same choice Lodestar and golang/snappy make). The output starts with `prefix`, so a caller can put the
 * result byte, context bytes and length prefix in front without another copy.
 */
export function encodeSnappyFrames(data: Uint8Array, prefix: Uint8Array = EMPTY): Uint8Array {
  const chunkCount = Math.ceil(data.length / SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES)
  const bodies: Uint8Array[] = new Array(chunkCount)
  const types = new Uint8Array(chunkCount)
  const crcs = new Uint32Array(chunkCount)
  let total = prefix.length + SNAPPY_STREAM_IDENTIFIER.length

  for (let i = 0; i < chunkCount; i++) {
    const start = i * SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES
    const chunk = data.subarray(start, start + SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES)
    const compressed = compressBlock(chunk)
    const useCompressed = compressed.length < chunk.length
    bodies[i] = useCompressed ? compressed : chunk
    types[i] = useCompressed ? SnappyChunkType.COMPRESSED : SnappyChunkType.UNCOMPRESSED
    crcs[i] = maskedCrc32c(chunk)
    total += SNAPPY_CHUNK_HEADER_BYTES + SNAPPY_CHECKSUM_BYTES + bodies[i]!.length
  }

  const out = new Uint8Array(total)
  out.set(prefix, 0)
  out.set(SNAPPY_STREAM_IDENTIFIER, prefix.length)
  let offset = prefix.length + SNAPPY_STREAM_IDENTIFIER.length
  for (let i = 0; i < chunkCount; i++) {
    const body = bodies[i]!
    const chunkLength = SNAPPY_CHECKSUM_BYTES + body.length
    out[offset] = types[i]!
    out[offset + 1] = chunkLength & 0xff
    out[offset + 2] = (chunkLength >>> 8) & 0xff
    out[offset + 3] = chunkLength >>> 16
    writeU32le(out, offset + 4, crcs[i]!)
    out.set(body, offset + 8)
    offset += 8 + body.length
  }
  return out
}

/**
 * Reads snappy frames from `reader` until exactly `n` uncompressed bytes are produced and returns them, decoded
 * straight into one buffer (no per-frame buffers, no final concatenation). With `keep` below `n` every frame is
 * still read, decompressed and checksummed, but only the first `keep` bytes are returned: a relay that reads a few
 * fixed-offset fields need not hold the payload it forwards as received. Never consumes
 * more than `maxCompressedLength(n)` bytes: a chunk header or body that would cross that budget fails before it is
 * read. Padding (0xfe) and reserved skippable chunks (0x80-0xfd) are skipped; later stream identifiers are allowed.
 *
 * n = 0: frames are optional (Lodestar sends a lone stream identifier, a lazy framing writer sends nothing), so a
 * stream identifier is consumed only if it comes next; otherwise nothing is read. This waits for 10 bytes or EOF.
 */
export async function readSnappyFrames(
  reader: ByteReader,
  n: number,
  signal?: AbortSignal,
  keep = n,
): Promise<Uint8Array> {
  if (n === 0) {
    const next = await reader.peek(SNAPPY_STREAM_IDENTIFIER.length, signal)
    if (bytesEqual(next, SNAPPY_STREAM_IDENTIFIER)) await reader.skip(next.length, signal)
    return EMPTY
  }

  const budget = maxCompressedLength(n)
  const out = new Uint8Array(Math.min(n, keep))
  let consumed = 0
  let produced = 0
  let sawIdentifier = false

  while (produced < n) {
    if (consumed + SNAPPY_CHUNK_HEADER_BYTES > budget) throw tooManyBytes(consumed + SNAPPY_CHUNK_HEADER_BYTES, budget)
    const header = await reader.readExact(SNAPPY_CHUNK_HEADER_BYTES, signal)
    const type = header[0]!
    const length = header[1]! | (header[2]! << 8) | (header[3]! << 16)
    consumed += SNAPPY_CHUNK_HEADER_BYTES
    if (consumed + length > budget) throw tooManyBytes(consumed + length, budget)

    if (!sawIdentifier && type !== SnappyChunkType.STREAM_IDENTIFIER) {
      throw new WireError(WireErrorCode.BAD_STREAM_IDENTIFIER, { reason: 'stream does not start with one', type })
    }

    if (type === SnappyChunkType.STREAM_IDENTIFIER) {
      if (length !== SNAPPY_STREAM_IDENTIFIER.length - SNAPPY_CHUNK_HEADER_BYTES) {
        throw new WireError(WireErrorCode.BAD_STREAM_IDENTIFIER, { length })
      }
      const body = await reader.readExact(length, signal)
      if (!bytesEqual(body, SNAPPY_STREAM_IDENTIFIER.subarray(SNAPPY_CHUNK_HEADER_BYTES))) {
        throw new WireError(WireErrorCode.BAD_STREAM_IDENTIFIER, { reason: 'wrong magic' })
      }
      sawIdentifier = true
    } else if (type === SnappyChunkType.COMPRESSED || type === SnappyChunkType.UNCOMPRESSED) {
      produced += await readDataChunk(reader, type, length, n - produced, out, produced, signal)
    } else if (type >= SnappyChunkType.RESERVED_SKIPPABLE_FIRST) {
      // 0x80-0xfd reserved skippable and 0xfe padding: contents are ignored.
      await reader.skip(length, signal)
    } else {
      throw new WireError(WireErrorCode.BAD_CHUNK_TYPE, { type })
    }
    consumed += length
  }

  return out
}

/** Where data chunks past the kept prefix are decompressed: one chunk at a time, used synchronously, so shared. */
const decodeScratch = new Uint8Array(SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES)

/**
 * Reads one data chunk's body (at most `remaining` uncompressed bytes), verifies its checksum, puts what falls inside
 * `out` there at `offset` and returns how many bytes it produced.
 */
async function readDataChunk(
  reader: ByteReader,
  type: number,
  length: number,
  remaining: number,
  out: Uint8Array,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  if (length < SNAPPY_CHECKSUM_BYTES) throw new WireError(WireErrorCode.CHUNK_TOO_SHORT, { type, length })
  const bodyLength = length - SNAPPY_CHECKSUM_BYTES
  const compressed = type === SnappyChunkType.COMPRESSED
  const maxBody = compressed ? SNAPPY_MAX_COMPRESSED_BLOCK_BYTES : SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES
  if (bodyLength > maxBody) throw new WireError(WireErrorCode.CHUNK_TOO_LARGE, { type, length })

  const expectedCrc = readU32le(await reader.readExact(SNAPPY_CHECKSUM_BYTES, signal), 0)
  let data: Uint8Array
  let inOut: boolean
  if (compressed) {
    // Decoded at once, so the block may sit in the reader's scratch buffer.
    const block = await reader.readTransient(bodyLength, signal)
    const size = blockUncompressedLength(block).length
    checkChunkOutput(size, remaining)
    inOut = offset + size <= out.length
    data = decompressBlockInto(block, inOut ? out : decodeScratch, inOut ? offset : 0)
  } else {
    checkChunkOutput(bodyLength, remaining)
    inOut = offset + bodyLength <= out.length
    data = inOut
      ? await reader.readInto(out, offset, bodyLength, signal)
      : await reader.readTransient(bodyLength, signal)
  }
  if (!inOut && offset < out.length) out.set(data.subarray(0, out.length - offset), offset)

  const actualCrc = maskedCrc32c(data)
  if (actualCrc !== expectedCrc) {
    throw new WireError(WireErrorCode.BAD_CRC, { expected: expectedCrc, actual: actualCrc })
  }
  return data.length
}

function checkChunkOutput(size: number, remaining: number): void {
  if (size > SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES) {
    throw new WireError(WireErrorCode.CHUNK_TOO_LARGE, { uncompressed: size })
  }
  if (size > remaining) {
    throw new WireError(WireErrorCode.UNCOMPRESSED_LENGTH_MISMATCH, { chunk: size, remaining })
  }
}

function tooManyBytes(wouldRead: number, budget: number): WireError {
  return new WireError(WireErrorCode.TOO_MANY_COMPRESSED_BYTES, { wouldRead, budget })
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function readU32le(b: Uint8Array, offset: number): number {
  return (b[offset]! | (b[offset + 1]! << 8) | (b[offset + 2]! << 16) | (b[offset + 3]! << 24)) >>> 0
}

function writeU32le(b: Uint8Array, offset: number, value: number): void {
  b[offset] = value & 0xff
  b[offset + 1] = (value >>> 8) & 0xff
  b[offset + 2] = (value >>> 16) & 0xff
  b[offset + 3] = value >>> 24
}
