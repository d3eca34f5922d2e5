import { describe, expect, it } from 'vitest'
import { ByteReader } from '../../../src/wire/byteReader.js'
import {
  encodeErrorChunk,
  encodeRequest,
  encodeResponseChunk,
  type ResponseChunk,
  type ResponseChunkOptions,
  readRequest,
  readResponseChunk,
  readResponseChunks,
} from '../../../src/wire/chunks.js'
import { MAX_PAYLOAD_SIZE_BYTES, RespCode } from '../../../src/wire/constants.js'
import { WireError, WireErrorCode } from '../../../src/wire/errors.js'
import {
  compressibleBytes,
  concat,
  expectWireError,
  flatRaw,
  fromHex,
  randomBytes,
  readerOf,
  sourceOf,
  split,
  toHex,
} from './helpers.js'

const ID_HEX = 'ff060000734e61507059'
const STATUS_BOUNDS = { minSize: 84, maxSize: 84 }
const BLOCK_BOUNDS = { minSize: 100, maxSize: 300_000 }
const DIGEST_A = fromHex('6a95a1a9')
const DIGEST_B = fromHex('ad532ceb')

/** Protocol options for a "ctx" protocol that knows two digests. */
const withContext: ResponseChunkOptions = {
  contextBytes: true,
  boundsFor(ctx) {
    if (ctx !== null && (toHex(ctx) === toHex(DIGEST_A) || toHex(ctx) === toHex(DIGEST_B))) return BLOCK_BOUNDS
    throw new WireError(WireErrorCode.UNKNOWN_CONTEXT_BYTES, { digest: ctx === null ? null : toHex(ctx) })
  },
}
const noContext = (bounds = STATUS_BOUNDS): ResponseChunkOptions => ({ contextBytes: false, boundsFor: () => bounds })

async function collect(reader: ByteReader, opts: ResponseChunkOptions): Promise<ResponseChunk[]> {
  const out: ResponseChunk[] = []
  for await (const chunk of readResponseChunks(reader, opts)) out.push(chunk)
  return out
}

describe('requests', () => {
  it('round-trip and leave the stream at EOF', async () => {
    for (const ssz of [randomBytes(84), compressibleBytes(200_000)]) {
      const bounds = { minSize: 0, maxSize: 300_000 }
      expect(await readRequest(readerOf(encodeRequest(ssz), 1000), bounds)).toEqual(ssz)
    }
  })

  it('encode an empty payload as varint 0 + stream identifier and read it back, with or without frames', async () => {
    expect(toHex(encodeRequest(new Uint8Array(0)))).toBe(`00${ID_HEX}`)
    const bounds = { minSize: 0, maxSize: 4096 }
    expect(await readRequest(readerOf(encodeRequest(new Uint8Array(0))), bounds)).toHaveLength(0)
    expect(await readRequest(readerOf(fromHex('00')), bounds)).toHaveLength(0)
  })

  it('reject bytes after the payload as TRAILING_BYTES', async () => {
    const ssz = randomBytes(84)
    await expectWireError(
      readRequest(readerOf(concat(encodeRequest(ssz), fromHex('00'))), STATUS_BOUNDS),
      WireErrorCode.TRAILING_BYTES,
    )
    // A second identifier after the payload is trailing data too.
    await expectWireError(
      readRequest(readerOf(concat(encodeRequest(ssz), fromHex(ID_HEX))), STATUS_BOUNDS),
      WireErrorCode.TRAILING_BYTES,
    )
  })

  it('reject an empty or truncated stream as UNEXPECTED_EOF', async () => {
    await expectWireError(readRequest(readerOf(new Uint8Array(0)), STATUS_BOUNDS), WireErrorCode.UNEXPECTED_EOF)
    const encoded = encodeRequest(randomBytes(84))
    await expectWireError(readRequest(readerOf(encoded.subarray(0, 50)), STATUS_BOUNDS), WireErrorCode.UNEXPECTED_EOF)
  })

  it.each([
    ['above maxSize', 85, STATUS_BOUNDS, WireErrorCode.LENGTH_OUT_OF_BOUNDS],
    ['below minSize', 83, STATUS_BOUNDS, WireErrorCode.LENGTH_OUT_OF_BOUNDS],
    [
      'above MAX_PAYLOAD_SIZE',
      MAX_PAYLOAD_SIZE_BYTES + 1,
      { minSize: 0, maxSize: 2 ** 40 },
      WireErrorCode.PAYLOAD_TOO_LARGE,
    ],
  ])('reject a declared length %s before reading any payload', async (_name, declared, bounds, code) => {
    const varint = encodeVarintForTest(declared)
    const source = sourceOf([varint, fromHex(ID_HEX), randomBytes(1000)])
    const reader = new ByteReader(source)
    const err = await expectWireError(readRequest(reader, bounds), code)
    expect(err.detail).toMatchObject({ length: declared })
    expect(reader.bytesConsumed).toBe(varint.length)
    expect(source.pulls).toBe(1) // the payload pieces were never even requested
  })

  it('reject a malformed varint prefix', async () => {
    await expectWireError(
      readRequest(readerOf(fromHex(`d400${ID_HEX}`)), STATUS_BOUNDS),
      WireErrorCode.VARINT_NOT_MINIMAL,
    )
  })

  it('refuse to encode a payload above MAX_PAYLOAD_SIZE', () => {
    expect(() => encodeRequest(new Uint8Array(MAX_PAYLOAD_SIZE_BYTES + 1))).toThrow(WireErrorCode.PAYLOAD_TOO_LARGE)
  })
})

/** Independent of varint.ts: 7-bit groups, low first. */
function encodeVarintForTest(value: number): Uint8Array {
  const out: number[] = []
  while (value >= 0x80) {
    out.push((value % 128) | 0x80)
    value = Math.floor(value / 128)
  }
  out.push(value)
  return Uint8Array.from(out)
}

describe('response chunks', () => {
  it('success without context bytes: result 0, varint, frames', async () => {
    const ssz = randomBytes(84)
    const encoded = encodeResponseChunk(RespCode.Success, ssz)
    expect(toHex(encoded.subarray(0, 12))).toBe(`0054${ID_HEX}`)
    const reader = readerOf(encoded)
    const chunk = await readResponseChunk(reader, noContext())
    expect(flatRaw(chunk)).toEqual({ result: 0, ssz, raw: encoded })
    expect(await readResponseChunk(reader, noContext())).toBeNull()
  })

  it('success with context bytes passes them to boundsFor', async () => {
    const ssz = compressibleBytes(150_000)
    const encoded = encodeResponseChunk(RespCode.Success, ssz, DIGEST_B)
    expect(toHex(encoded.subarray(0, 5))).toBe(`00${toHex(DIGEST_B)}`)
    const seen: (string | null)[] = []
    const chunk = await readResponseChunk(readerOf(encoded, 999), {
      contextBytes: true,
      boundsFor: (ctx) => {
        seen.push(ctx === null ? null : toHex(ctx))
        return BLOCK_BOUNDS
      },
    })
    expect(seen).toEqual([toHex(DIGEST_B)])
    expect(chunk?.contextBytes).toEqual(DIGEST_B)
    expect(chunk?.ssz).toEqual(ssz)
    expect(chunk?.raw.subarray()).toEqual(encoded)
  })

  it('unknown context bytes fail before the length prefix is read', async () => {
    const encoded = encodeResponseChunk(RespCode.Success, randomBytes(200), fromHex('deadbeef'))
    const reader = readerOf(encoded)
    await expectWireError(readResponseChunk(reader, withContext), WireErrorCode.UNKNOWN_CONTEXT_BYTES)
    expect(reader.bytesConsumed).toBe(5)
  })

  it('a success chunk length outside the bounds fails before the payload', async () => {
    const encoded = encodeResponseChunk(RespCode.Success, randomBytes(90))
    const reader = readerOf(encoded, 1)
    await expectWireError(readResponseChunk(reader, noContext()), WireErrorCode.LENGTH_OUT_OF_BOUNDS)
    expect(reader.bytesConsumed).toBe(2)
  })

  it('error chunk: exact bytes, message, no context bytes even on ctx protocols', async () => {
    const encoded = encodeErrorChunk(RespCode.ResourceUnavailable, 'boom')
    // result 3, length 4, identifier, uncompressed chunk of 8 bytes: masked CRC32C("boom") then "boom".
    const crc = fromHex('00000000')
    new DataView(crc.buffer).setUint32(0, maskedCrcOf('boom'), true)
    expect(toHex(encoded)).toBe(`0304${ID_HEX}01080000${toHex(crc)}626f6f6d`)
    const chunk = await readResponseChunk(readerOf(encoded), withContext)
    expect(flatRaw(chunk)).toEqual({ result: 3, errorMessage: 'boom', raw: encoded })
  })

  it('error messages are truncated to 256 bytes without splitting a character', async () => {
    const ascii = await readResponseChunk(
      readerOf(encodeErrorChunk(RespCode.ServerError, 'x'.repeat(300))),
      noContext(),
    )
    expect(ascii?.errorMessage).toBe('x'.repeat(256))
    const euro = await readResponseChunk(
      readerOf(encodeErrorChunk(RespCode.ServerError, `ab${'€'.repeat(100)}`)),
      noContext(),
    )
    expect(euro?.errorMessage).toBe(`ab${'€'.repeat(84)}`) // 2 + 84 * 3 = 254 bytes
    const empty = encodeErrorChunk(RespCode.InvalidRequest, '')
    expect(toHex(empty)).toBe(`0100${ID_HEX}`)
    expect((await readResponseChunk(readerOf(empty), noContext()))?.errorMessage).toBe('')
  })

  it('accepts a bare error result byte at EOF (Lodestar omits empty messages)', async () => {
    expect(flatRaw(await readResponseChunk(readerOf(fromHex('02')), noContext()))).toEqual({
      result: 2,
      errorMessage: '',
      raw: fromHex('02'),
    })
  })

  it('accepts client-specific codes 128-255 and rejects reserved 4-127', async () => {
    for (const code of [128, 200, 255]) {
      const chunk = await readResponseChunk(readerOf(encodeErrorChunk(code, 'rate limited')), noContext())
      expect(chunk).toMatchObject({ result: code, errorMessage: 'rate limited' })
    }
    for (const code of [4, 64, 127]) {
      const stream = concat(Uint8Array.of(code), encodeErrorChunk(1, 'x').subarray(1))
      await expectWireError(readResponseChunk(readerOf(stream), noContext()), WireErrorCode.BAD_RESULT_CODE)
      expect(() => encodeErrorChunk(code, 'x')).toThrow(WireErrorCode.INVALID_ARGUMENT)
    }
    expect(() => encodeErrorChunk(0, 'x')).toThrow(WireErrorCode.INVALID_ARGUMENT)
    expect(() => encodeErrorChunk(256, 'x')).toThrow(WireErrorCode.INVALID_ARGUMENT)
  })

  it('an error message longer than 256 bytes on the wire is rejected', async () => {
    const tooLong = concat(fromHex('02'), encodeRequest(new Uint8Array(257).fill(0x61)))
    await expectWireError(readResponseChunk(readerOf(tooLong), noContext()), WireErrorCode.LENGTH_OUT_OF_BOUNDS)
  })

  it('rejects context bytes of the wrong length when encoding', () => {
    expect(() => encodeResponseChunk(RespCode.Success, randomBytes(10), fromHex('010203'))).toThrow(
      WireErrorCode.INVALID_ARGUMENT,
    )
  })

  it('EOF inside a chunk is UNEXPECTED_EOF; EOF between chunks is the end', async () => {
    await expectWireError(readResponseChunk(readerOf(fromHex('00')), noContext()), WireErrorCode.UNEXPECTED_EOF)
    await expectWireError(readResponseChunk(readerOf(fromHex('006a95')), withContext), WireErrorCode.UNEXPECTED_EOF)
    expect(await readResponseChunk(readerOf(new Uint8Array(0)), noContext())).toBeNull()
  })

  it('several chunks in one stream, each with its exact raw bytes, in any piece size', async () => {
    const payloads = [compressibleBytes(70_000), randomBytes(150), compressibleBytes(200)]
    const encoded = [
      encodeResponseChunk(RespCode.Success, payloads[0]!, DIGEST_A),
      encodeResponseChunk(RespCode.Success, payloads[1]!, DIGEST_B),
      encodeResponseChunk(RespCode.Success, payloads[2]!, DIGEST_A),
      encodeErrorChunk(RespCode.ServerError, 'upstream went away'),
    ]
    const stream = concat(...encoded)
    for (const pieceSize of [1, 7, 4096, stream.length]) {
      const chunks = await collect(new ByteReader(sourceOf(split(stream, pieceSize))), withContext)
      expect(chunks.map((c) => c.raw.subarray())).toEqual(encoded)
      expect(chunks.map((c) => c.ssz)).toEqual([...payloads, undefined])
      expect(chunks.map((c) => (c.contextBytes ? toHex(c.contextBytes) : null))).toEqual([
        toHex(DIGEST_A),
        toHex(DIGEST_B),
        toHex(DIGEST_A),
        null,
      ])
      expect(chunks[3]).toMatchObject({ result: RespCode.ServerError, errorMessage: 'upstream went away' })
    }
  })

  it('readResponseChunks stops after an error chunk without reading on', async () => {
    const stream = concat(encodeErrorChunk(1, 'bad'), fromHex('ffffffff'))
    const reader = readerOf(stream)
    const chunks = await collect(reader, noContext())
    expect(chunks).toHaveLength(1)
    expect(reader.bytesConsumed).toBe(stream.length - 4)
  })

  it('a pending chunk read rejects with ABORTED when the signal fires', async () => {
    const partial = encodeResponseChunk(RespCode.Success, randomBytes(84)).subarray(0, 20)
    const reader = new ByteReader(sourceOf([partial], { hang: true }))
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 10)
    await expectWireError(readResponseChunk(reader, noContext(), controller.signal), WireErrorCode.ABORTED)
  })
})

function maskedCrcOf(text: string): number {
  // Bit-at-a-time CRC32C + snappy mask, independent of src/wire/crc32c.ts.
  let crc = 0xffffffff
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  crc = (crc ^ 0xffffffff) >>> 0
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0
}
