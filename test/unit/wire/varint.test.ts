import { describe, expect, it } from 'vitest'
import { WireErrorCode } from '../../../src/wire/errors.js'
import { decodeVarint, encodeVarint, varintLength } from '../../../src/wire/varint.js'
import { expectWireError, fromHex, readerOf, toHex } from './helpers.js'

// Encodings from the protobuf encoding guide (1, 150 = 96 01, 300 = ac 02) and direct LEB128 arithmetic.
const KNOWN: [number, string][] = [
  [0, '00'],
  [1, '01'],
  [127, '7f'],
  [128, '8001'],
  [150, '9601'],
  [300, 'ac02'],
  [16_383, 'ff7f'],
  [16_384, '808001'],
  [10_485_760, '80808005'], // MAX_PAYLOAD_SIZE
  [2 ** 32, '8080808010'],
  [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
]

describe('varint', () => {
  it.each(KNOWN)('encodes %d as %s', (value, hex) => {
    expect(toHex(encodeVarint(value))).toBe(hex)
    expect(varintLength(value)).toBe(hex.length / 2)
  })

  it.each(KNOWN)('decodes %d from %s, from a buffer and from a stream', async (value, hex) => {
    expect(decodeVarint(fromHex(`${hex}ee`))).toEqual({ value, bytesRead: hex.length / 2 })
    const reader = readerOf(fromHex(`${hex}ee`), 1)
    expect(await reader.readVarint()).toBe(value)
    expect(reader.bytesConsumed).toBe(hex.length / 2)
  })

  it('decodes at an offset', () => {
    expect(decodeVarint(fromHex('ffac02'), 1)).toEqual({ value: 300, bytesRead: 2 })
  })

  it.each([
    ['8000', 'zero with a redundant group'],
    ['8100', '1 with a redundant group'],
    ['ac8200', '300 with a redundant group'],
    ['80808000', 'zero in 4 bytes'],
  ])('rejects non-minimal %s (%s)', async (hex) => {
    expect(() => decodeVarint(fromHex(hex))).toThrow(WireErrorCode.VARINT_NOT_MINIMAL)
    await expectWireError(readerOf(fromHex(hex)).readVarint(), WireErrorCode.VARINT_NOT_MINIMAL)
  })

  it('rejects an 11-byte varint after reading at most 10 bytes', async () => {
    const eleven = fromHex('8080808080808080808001')
    expect(() => decodeVarint(eleven)).toThrow(WireErrorCode.VARINT_TOO_LONG)
    const reader = readerOf(eleven, 1)
    await expectWireError(reader.readVarint(), WireErrorCode.VARINT_TOO_LONG)
    expect(reader.bytesConsumed).toBe(10)
  })

  it('rejects the over-long varint from Lodestar encodingStrategies fixtures (13 bytes)', async () => {
    await expectWireError(readerOf(fromHex('80808080808080808080808010')).readVarint(), WireErrorCode.VARINT_TOO_LONG)
  })

  it('rejects values above Number.MAX_SAFE_INTEGER (2^53 and the uint64 maximum)', () => {
    expect(() => decodeVarint(fromHex('80808080808080808001'))).toThrow(WireErrorCode.VARINT_OVERFLOW) // 2^63
    expect(() => decodeVarint(fromHex('8080808080808010'))).toThrow(WireErrorCode.VARINT_OVERFLOW) // 2^53
    expect(() => decodeVarint(fromHex('ffffffffffffffffff01'))).toThrow(WireErrorCode.VARINT_OVERFLOW)
  })

  it('reports a truncated varint as UNEXPECTED_EOF', async () => {
    expect(() => decodeVarint(fromHex('ac'))).toThrow(WireErrorCode.UNEXPECTED_EOF)
    await expectWireError(readerOf(fromHex('ac80')).readVarint(), WireErrorCode.UNEXPECTED_EOF)
  })

  it('refuses to encode negative, fractional or unsafe values', () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(() => encodeVarint(bad)).toThrow(WireErrorCode.INVALID_ARGUMENT)
    }
  })
})
