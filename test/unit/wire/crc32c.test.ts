import { describe, expect, it } from 'vitest'
import { crc32c, crc32cImplementation, crc32cJs, maskCrc, maskedCrc32c } from '../../../src/wire/crc32c.js'
import { fromHex, randomBytes } from './helpers.js'

/** Bit-at-a-time reference CRC32C, to check the table-driven code on arbitrary input. */
function slowCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of data) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

describe.each([
  ['crc32c (the one in use)', crc32c],
  ['crc32cJs (the fallback)', crc32cJs],
])('%s', (_name, crc32c) => {
  it('matches the standard check value crc32c("123456789") = 0xe3069283', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
  })

  it('matches RFC 3720 (iSCSI) B.4 test vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c)
  })

  it('agrees with a bit-at-a-time CRC on every length 0..40 and on a large buffer', () => {
    const data = randomBytes(100_003)
    for (let n = 0; n <= 40; n++) expect(crc32c(data.subarray(0, n))).toBe(slowCrc32c(data.subarray(0, n)))
    expect(crc32c(data)).toBe(slowCrc32c(data))
    expect(crc32c(data.subarray(3, 50_000))).toBe(slowCrc32c(data.subarray(3, 50_000)))
  })
})

describe('crc32c in use', () => {
  it('is the native one on this platform (a prebuilt @node-rs/crc32 binary ships for linux-x64)', () => {
    expect(crc32cImplementation).toBe('native')
  })

  it('masks like snappy: known value from a Lodestar ping frame', () => {
    // Lodestar reqresp test/fixtures/messages.ts sszSnappyPing: chunk `01 0c0000 0175de41 0100000000000000`,
    // so the masked CRC of Ping(1) is 0x41de7501 (little endian on the wire).
    expect(maskedCrc32c(fromHex('0100000000000000'))).toBe(0x41de7501)
    expect(maskCrc(0)).toBe(0xa282ead8)
    expect(maskCrc(0xffffffff)).toBe((0xffffffff + 0xa282ead8) % 2 ** 32)
  })
})
