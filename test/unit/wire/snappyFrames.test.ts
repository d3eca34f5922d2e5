import snappy from 'snappyjs'
import { describe, expect, it } from 'vitest'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { SNAPPY_STREAM_IDENTIFIER } from '../../../src/wire/constants.js'
import { maskedCrc32c } from '../../../src/wire/crc32c.js'
import { WireErrorCode } from '../../../src/wire/errors.js'
import { decompressBlock } from '../../../src/wire/snappyBlock.js'
import { encodeSnappyFrames, maxCompressedLength, readSnappyFrames } from '../../../src/wire/snappyFrames.js'
import {
  compressibleBytes,
  concat,
  expectWireError,
  fromHex,
  randomBytes,
  readerOf,
  sourceOf,
  split,
  toHex,
  Uint8ArrayList,
} from './helpers.js'

/** One framing chunk: type, u24le length, body. */
function chunk(type: number, body: Uint8Array): Uint8Array {
  const n = body.length
  return concat(Uint8Array.of(type, n & 0xff, (n >>> 8) & 0xff, n >>> 16), body)
}

function u32le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24)
}

/** An uncompressed data chunk (type 0x01) with a correct or given masked CRC. */
function rawChunk(data: Uint8Array, crc = maskedCrc32c(data)): Uint8Array {
  return chunk(0x01, concat(u32le(crc), data))
}

/** A compressed data chunk (type 0x00) whose CRC covers `data`. */
function compressedChunk(data: Uint8Array, block = snappy.compress(data)): Uint8Array {
  return chunk(0x00, concat(u32le(maskedCrc32c(data)), block))
}

/** Walks a framed stream and lists its chunks, to check what the encoder chose. */
function chunkTypes(framed: Uint8Array): { type: number; length: number }[] {
  const out: { type: number; length: number }[] = []
  for (let p = 0; p < framed.length;) {
    const length = framed[p + 1]! | (framed[p + 2]! << 8) | (framed[p + 3]! << 16)
    out.push({ type: framed[p]!, length })
    p += 4 + length
  }
  return out
}

const ID = SNAPPY_STREAM_IDENTIFIER
const SIZES = [1, 100, 65_535, 65_536, 65_537, 200_000]

describe('maxCompressedLength', () => {
  it('is 32 + n + floor(n / 6)', () => {
    expect(maxCompressedLength(0)).toBe(32)
    expect(maxCompressedLength(84)).toBe(130) // Lighthouse: Status max_compress_len
    expect(maxCompressedLength(157_916)).toBe(184_267) // Lighthouse: altair block max_compress_len
    expect(maxCompressedLength(5)).toBe(37)
  })
})

describe('encodeSnappyFrames / readSnappyFrames round trips', () => {
  for (const [name, make] of [
    ['random', randomBytes],
    ['compressible', compressibleBytes],
  ] as const) {
    it.each(SIZES)(`${name} data of %d bytes`, async (n) => {
      const data = make(n)
      const framed = encodeSnappyFrames(data)
      expect(toHex(framed.subarray(0, 10))).toBe('ff060000734e61507059')
      const chunks = chunkTypes(framed).slice(1)
      expect(chunks).toHaveLength(Math.ceil(n / 65_536))
      // Incompressible data goes out uncompressed, compressible data compressed, except a 1-byte tail chunk that
      // compression cannot shrink (the 65537 case).
      const types = chunks.map((c) => c.type)
      if (n >= 100) expect(types[0]).toBe(name === 'random' ? 0x01 : 0x00)
      if (n % 65_536 === 1) expect(types[types.length - 1]).toBe(0x01)
      const reader = readerOf(framed, 4096)
      expect(await readSnappyFrames(reader, n)).toEqual(data)
      expect(reader.bytesConsumed).toBe(framed.length)
      expect(await reader.isEnd()).toBe(true)
    })
  }

  it('decodes when the input arrives one byte at a time', async () => {
    const data = compressibleBytes(70_000)
    const reader = readerOf(encodeSnappyFrames(data), 1)
    expect(await readSnappyFrames(reader, data.length)).toEqual(data)
  })

  it('decodes from Uint8ArrayList pieces (what libp2p streams yield)', async () => {
    const data = randomBytes(70_000)
    const pieces = split(encodeSnappyFrames(data), 1000)
    const lists = [new Uint8ArrayList(...pieces.slice(0, 30)), new Uint8ArrayList(...pieces.slice(30))]
    expect(await readSnappyFrames(new ByteReader(sourceOf(lists)), data.length)).toEqual(data)
  })

  it('keeps only a prefix when asked, still checking every frame past it', async () => {
    for (const data of [randomBytes(200_000), compressibleBytes(200_000)]) {
      const framed = encodeSnappyFrames(data)
      for (const keep of [0, 100, 65_536, 70_000]) {
        const reader = readerOf(framed, 3000)
        expect(await readSnappyFrames(reader, data.length, undefined, keep)).toEqual(data.subarray(0, keep))
        expect(reader.bytesConsumed).toBe(framed.length)
      }
      // A flipped byte in the last frame, far past the prefix, still fails its checksum (or its decoding).
      const corrupt = framed.slice()
      corrupt[corrupt.length - 10] ^= 0xff
      const err = await readSnappyFrames(readerOf(corrupt, 3000), data.length, undefined, 100).catch((e) => e)
      expect([WireErrorCode.BAD_CRC, WireErrorCode.SNAPPY_DECODE]).toContain(err.code)
    }
    // A stream producing more than declared is refused in prefix mode too.
    const data = randomBytes(1000)
    await expectWireError(
      readSnappyFrames(readerOf(encodeSnappyFrames(data)), 999, undefined, 10),
      WireErrorCode.UNCOMPRESSED_LENGTH_MISMATCH,
    )
  })

  it('encodes an empty payload as the bare stream identifier', () => {
    expect(encodeSnappyFrames(new Uint8Array(0))).toEqual(ID)
  })

  it('n = 0 consumes a following stream identifier, or nothing', async () => {
    const withId = readerOf(concat(ID, Uint8Array.of(0x07)))
    expect(await readSnappyFrames(withId, 0)).toHaveLength(0)
    expect(withId.bytesConsumed).toBe(10)
    const bare = readerOf(new Uint8Array(0))
    expect(await readSnappyFrames(bare, 0)).toHaveLength(0)
    expect(bare.bytesConsumed).toBe(0)
    const nextChunk = readerOf(fromHex('00ff0600'))
    expect(await readSnappyFrames(nextChunk, 0)).toHaveLength(0)
    expect(nextChunk.bytesConsumed).toBe(0)
  })

  it('stops at exactly n bytes and leaves what follows unread', async () => {
    const data = randomBytes(300)
    const framed = encodeSnappyFrames(data)
    const reader = readerOf(concat(framed, fromHex('abcdef')), 7)
    expect(await readSnappyFrames(reader, 300)).toEqual(data)
    expect(reader.bytesConsumed).toBe(framed.length)
  })
})

describe('readSnappyFrames tolerates what the framing format allows', () => {
  // Long enough that max_compressed_len(n) leaves room for the extra chunks.
  const data = new TextEncoder().encode('hello snappy framing '.repeat(10))

  it('skips padding (0xfe) and reserved skippable chunks (0x80, 0xfd)', async () => {
    const stream = concat(
      ID,
      chunk(0xfe, fromHex('000000')),
      chunk(0x80, fromHex('aabb')),
      rawChunk(data.subarray(0, 5)),
      chunk(0xfd, new Uint8Array(0)),
      compressedChunk(data.subarray(5)),
    )
    const reader = readerOf(stream, 3)
    expect(await readSnappyFrames(reader, data.length)).toEqual(data)
    expect(reader.bytesConsumed).toBe(stream.length)
  })

  it('accepts a repeated stream identifier between chunks', async () => {
    const stream = concat(ID, rawChunk(data.subarray(0, 4)), ID, rawChunk(data.subarray(4)))
    expect(await readSnappyFrames(readerOf(stream), data.length)).toEqual(data)
  })
})

describe('readSnappyFrames rejects', () => {
  const data = new TextEncoder().encode('0123456789abcdef0123456789abcdef')

  it('a stream that does not start with the identifier', async () => {
    await expectWireError(readSnappyFrames(readerOf(rawChunk(data)), data.length), WireErrorCode.BAD_STREAM_IDENTIFIER)
    const paddingFirst = concat(chunk(0xfe, new Uint8Array(1)), ID, rawChunk(data))
    await expectWireError(readSnappyFrames(readerOf(paddingFirst), data.length), WireErrorCode.BAD_STREAM_IDENTIFIER)
  })

  it('a wrong magic or identifier length', async () => {
    const wrongMagic = concat(fromHex('ff060000734e6150705a'), rawChunk(data))
    await expectWireError(readSnappyFrames(readerOf(wrongMagic), data.length), WireErrorCode.BAD_STREAM_IDENTIFIER)
    const wrongLength = concat(fromHex('ff070000734e615070590a'), rawChunk(data))
    await expectWireError(readSnappyFrames(readerOf(wrongLength), data.length), WireErrorCode.BAD_STREAM_IDENTIFIER)
  })

  it('a bad checksum, on uncompressed and compressed chunks', async () => {
    const badCrc = concat(ID, rawChunk(data, maskedCrc32c(data) ^ 1))
    const err = await expectWireError(readSnappyFrames(readerOf(badCrc), data.length), WireErrorCode.BAD_CRC)
    expect(err.detail).toMatchObject({ expected: maskedCrc32c(data) ^ 1, actual: maskedCrc32c(data) })
    const good = concat(ID, compressedChunk(data))
    const flipped = good.slice()
    flipped[10 + 4 + 4 + 2]! ^= 0x01 // first literal byte: after identifier, header, CRC, length and literal tag
    await expectWireError(readSnappyFrames(readerOf(flipped), data.length), WireErrorCode.BAD_CRC)
  })

  it.each([0x02, 0x40, 0x7f])('reserved unskippable chunk type 0x%s', async (type) => {
    const stream = concat(ID, chunk(type, fromHex('00000000')), rawChunk(data))
    await expectWireError(readSnappyFrames(readerOf(stream), data.length), WireErrorCode.BAD_CHUNK_TYPE)
  })

  it('truncation anywhere as UNEXPECTED_EOF', async () => {
    const stream = concat(ID, rawChunk(data.subarray(0, 10)), compressedChunk(data.subarray(10)))
    for (const cut of [0, 5, 10, 12, 20, 10 + 8 + 10, stream.length - 1]) {
      await expectWireError(
        readSnappyFrames(readerOf(stream.subarray(0, cut), 2), data.length),
        WireErrorCode.UNEXPECTED_EOF,
      )
    }
  })

  it('frames that produce more than n bytes', async () => {
    const stream = concat(ID, rawChunk(data.subarray(0, 20)), rawChunk(data.subarray(20)))
    const reader = readerOf(stream)
    await expectWireError(readSnappyFrames(reader, 25), WireErrorCode.UNCOMPRESSED_LENGTH_MISMATCH)
    const compressed = concat(ID, compressedChunk(data))
    await expectWireError(readSnappyFrames(readerOf(compressed), 31), WireErrorCode.UNCOMPRESSED_LENGTH_MISMATCH)
  })

  it('chunks above the framing limits', async () => {
    const big = compressibleBytes(65_537)
    await expectWireError(readSnappyFrames(readerOf(concat(ID, rawChunk(big))), 100_000), WireErrorCode.CHUNK_TOO_LARGE)
    await expectWireError(
      readSnappyFrames(readerOf(concat(ID, compressedChunk(big))), 100_000),
      WireErrorCode.CHUNK_TOO_LARGE,
    )
    await expectWireError(
      readSnappyFrames(readerOf(concat(ID, chunk(0x01, fromHex('010203')))), 10),
      WireErrorCode.CHUNK_TOO_SHORT,
    )
  })

  it('more than max_compressed_len(n) bytes, without reading past the budget', async () => {
    // n = 84: budget 130 = identifier 10 + 29 empty padding chunks (116) + 4 → the next header would cross it.
    const paddings = Array.from({ length: 40 }, () => chunk(0xfe, new Uint8Array(0)))
    const reader = readerOf(concat(ID, ...paddings, rawChunk(randomBytes(84))), 1)
    const err = await expectWireError(readSnappyFrames(reader, 84), WireErrorCode.TOO_MANY_COMPRESSED_BYTES)
    expect(err.detail).toMatchObject({ budget: 130 })
    expect(reader.bytesConsumed).toBeLessThanOrEqual(130)
    expect(reader.bytesConsumed).toBe(10 + 30 * 4)
  })

  it('a chunk header announcing a body beyond the budget, before reading the body', async () => {
    const huge = chunk(0xfe, new Uint8Array(200))
    const reader = readerOf(concat(ID, huge), 1)
    await expectWireError(readSnappyFrames(reader, 50), WireErrorCode.TOO_MANY_COMPRESSED_BYTES)
    expect(reader.bytesConsumed).toBe(14)
  })
})

describe('strict snappy block decoding', () => {
  it('rejects a block whose tags produce less than its declared length (snappyjs zero-fills it)', async () => {
    const short = fromHex('0a' + '04' + 'aabb') // declares 10 bytes, one 2-byte literal
    expect(snappy.uncompress(short)).toHaveLength(10) // what we must not forward
    expect(() => decompressBlock(short, 10)).toThrow(WireErrorCode.SNAPPY_DECODE)
    // Even with a CRC matching snappyjs's zero-filled output, the frame is refused.
    const zeroFilled = fromHex('aabb0000000000000000')
    const frame = concat(ID, chunk(0x00, concat(u32le(maskedCrc32c(zeroFilled)), short)))
    await expectWireError(readSnappyFrames(readerOf(frame), 10), WireErrorCode.SNAPPY_DECODE)
  })

  it.each([
    ['copy with offset 0', '0800' + '0100' + '0d00'], // literal 'x', copy1 len 7 offset 0
    ['copy before the start', '0800' + '0100' + '0d02'], // offset 2 > 1 byte produced
    ['copy past the declared length', '0500' + '0100' + '0d01'], // 1 + 7 > 5
    ['literal past the input', '0a' + '24' + 'aabb'], // literal of 10, 2 bytes given
    ['literal past the declared length', '02' + '08' + 'aabbcc'], // literal of 3 > 2
    ['truncated copy', '08' + '0061' + '02'],
    ['bad header', 'ffffffffff0f'],
  ])('rejects %s', (_name, hex) => {
    expect(() => decompressBlock(fromHex(hex), 65_536)).toThrow(WireErrorCode.SNAPPY_DECODE)
  })

  it('decodes overlapping copies, long literals and all copy tag kinds', () => {
    for (const data of [compressibleBytes(65_536), randomBytes(5000), new Uint8Array(1000).fill(7)]) {
      expect(decompressBlock(snappy.compress(data), 65_536)).toEqual(data)
    }
    // Hand-built: literal "ab"; copy1 len 6 offset 2 (overlapping) → "abababab"; copy2 len 2 offset 8 → "ab";
    // copy4 len 1 offset 8 → "a".
    const block = fromHex('0b' + '04' + '6162' + '0902' + '060800' + '0308000000')
    expect(new TextDecoder().decode(decompressBlock(block, 11))).toBe('abababababa')
  })
})
