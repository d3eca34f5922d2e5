/**
 * Byte strings produced by other implementations, transcribed from their test suites:
 * - Lodestar `packages/reqresp/test/fixtures/messages.ts`
 *   (ChainSafe/lodestar @ 6de073627459ead9f9c6a5e24aa8e705a10493db, Apache-2.0), encoded with Google's C++ snappy.
 * - Lighthouse `beacon_node/lighthouse_network/src/rpc/codec/ssz_snappy.rs` tests (sigp/lighthouse), encoded with the
 *   Rust `snap` crate.
 * Expected SSZ is built independently with @lodestar/types.
 */
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { encodeRequest, encodeResponseChunk, readRequest, readResponseChunk } from '../../../src/wire/chunks.js'
import { RespCode } from '../../../src/wire/constants.js'
import { WireErrorCode } from '../../../src/wire/errors.js'
import { encodeSnappyFrames } from '../../../src/wire/snappyFrames.js'
import { concat, expectWireError, flatRaw, fromHex, readerOf, toHex } from './helpers.js'

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)

const lodestarStatus = ssz.phase0.Status.serialize({
  forkDigest: bytes(4, 0xda),
  finalizedRoot: bytes(32, 0xda),
  finalizedEpoch: 9,
  headRoot: bytes(32, 0xda),
  headSlot: 9,
})

function lodestarPhase0Block(): Uint8Array {
  const block = ssz.phase0.SignedBeaconBlock.defaultValue()
  block.message.slot = 9
  block.message.proposerIndex = 9
  block.message.parentRoot = bytes(32, 0xda)
  block.message.stateRoot = bytes(32, 0xda)
  block.message.body.randaoReveal = bytes(96, 0xda)
  block.message.body.eth1Data = { depositRoot: bytes(32, 0xda), blockHash: bytes(32, 0xda), depositCount: 9n }
  block.message.body.graffiti = bytes(32, 0xda)
  block.signature = bytes(96, 0xda)
  return ssz.phase0.SignedBeaconBlock.serialize(block)
}

function lodestarAltairBlock(): Uint8Array {
  const phase0 = ssz.phase0.SignedBeaconBlock.deserialize(lodestarPhase0Block())
  const block = ssz.altair.SignedBeaconBlock.defaultValue()
  block.message = {
    ...phase0.message,
    slot: 90009,
    body: { ...phase0.message.body, syncAggregate: block.message.body.syncAggregate },
  }
  block.signature = phase0.signature
  return ssz.altair.SignedBeaconBlock.serialize(block)
}

/** [name, SSZ, the request/payload bytes the other implementation produced, whether our encoder matches byte for byte]. */
const LODESTAR: [string, Uint8Array, string, boolean][] = [
  ['Ping(1)', ssz.phase0.Ping.serialize(1n), '08 ff060000734e61507059 010c00000175de410100000000000000', true],
  [
    'phase0 Metadata(seq 9)',
    ssz.phase0.Metadata.serialize(ssz.phase0.Metadata.fromJson({ seq_number: '9', attnets: '0x0000000000000000' })),
    '10 ff060000734e61507059 011400000b5ee91209000000000000000000000000000000',
    true,
  ],
  [
    'altair Metadata(seq 8)',
    ssz.altair.Metadata.serialize(
      ssz.altair.Metadata.fromJson({ seq_number: '8', attnets: '0x0000000000000000', syncnets: '0x00' }),
    ),
    '11 ff060000734e61507059 01150000ff4669fc0800000000000000000000000000000000',
    // Lodestar's fixture stores these 17 bytes uncompressed although snappy shrinks them to 7; both are valid.
    false,
  ],
  [
    'Status (0xda fill)',
    lodestarStatus,
    '54 ff060000734e61507059 001b0000097802c15400da8a010004090009017e2b001c0900000000000000',
    true,
  ],
  [
    'phase0 SignedBeaconBlock',
    lodestarPhase0Block(),
    '9403 ff060000734e61507059 00340000fff3b3f594031064000000dafe01007a010004090009011108fe6f000054feb4008ab4007e0100fecc0011cc0cdc0000003e0400',
    true,
  ],
  [
    'altair SignedBeaconBlock',
    lodestarAltairBlock(),
    'b404 ff060000734e61507059 00420000bab7f8feb4041064000000dafe01007a01000c995f0100010100090105ee70000d700054ee44000d44fe0100fecc0011cc0c7c0100003e0400fe0100fe01007e0100',
    true,
  ],
]

describe('Lodestar ssz_snappy vectors', () => {
  it.each(LODESTAR)('%s decodes to the right SSZ', async (_name, expected, hex) => {
    const wire = fromHex(hex)
    const bounds = { minSize: expected.length, maxSize: expected.length }
    expect(toHex(await readRequest(readerOf(wire), bounds))).toBe(toHex(expected))
    expect(toHex(await readRequest(readerOf(wire, 1), bounds))).toBe(toHex(expected))
  })

  it.each(LODESTAR.filter(([, , , same]) => same))('%s encodes byte-identically', (_name, expected, hex) => {
    expect(toHex(encodeRequest(expected))).toBe(toHex(fromHex(hex)))
  })

  it('decodes the same payloads as response chunks with context bytes (responseEncodersTestCases layout)', async () => {
    const [, block, hex] = LODESTAR[4]!
    const digest = fromHex('b5303f2a')
    const wire = concat(fromHex('00'), digest, fromHex(hex))
    const chunk = await readResponseChunk(readerOf(wire, 3), {
      contextBytes: true,
      boundsFor: () => ssz.phase0.SignedBeaconBlock,
    })
    expect(flatRaw(chunk)).toEqual({ result: 0, contextBytes: digest, ssz: block, raw: wire })
    expect(encodeResponseChunk(RespCode.Success, block, digest)).toEqual(wire)
  })
})

describe('Lighthouse ssz_snappy vectors', () => {
  it('test_decode_status_message: a Status response chunk from the Rust snap encoder', async () => {
    const wire = fromHex(
      '0054ff060000734e615070590032000006e71e7b54989925efd6c9cbcb8ceb9b5f71216f5137282bf6a1e3b50f64e42d6c7fb347abe07eb0db8200000005029e2800',
    )
    const root = fromHex('c9cbcb8ceb9b5f71216f5137282bf6a1e3b50f64e42d6c7fb347abe07eb0db82')
    const expected = ssz.phase0.Status.serialize({
      forkDigest: fromHex('9925efd6'),
      finalizedRoot: root,
      finalizedEpoch: 0,
      headRoot: root,
      headSlot: 0,
    })
    const chunk = await readResponseChunk(readerOf(wire, 5), {
      contextBytes: false,
      boundsFor: () => ssz.phase0.Status,
    })
    expect(flatRaw(chunk)).toEqual({ result: 0, ssz: expected, raw: wire })
  })

  // test_decode_malicious_v1_message: a Status (84 bytes, budget 130) behind a stream identifier and 4-byte padding
  // chunks, followed by a complete frame stream (which repeats the identifier).
  const status = ssz.phase0.Status.serialize({
    forkDigest: new Uint8Array(4),
    finalizedRoot: new Uint8Array(32),
    finalizedEpoch: 1,
    headRoot: new Uint8Array(32),
    headSlot: 1,
  })
  const malicious = (paddings: number): Uint8Array =>
    concat(
      fromHex('54 ff060000734e61507059'),
      ...Array.from({ length: paddings }, () => fromHex('fe000000')),
      encodeSnappyFrames(status),
    )

  it('our frames for that Status are 42 bytes, like snap FrameEncoder', () => {
    expect(encodeSnappyFrames(status)).toHaveLength(42)
  })

  it('20 padding chunks: 10 + 80 + 42 = 132 > 130 compressed bytes is rejected', async () => {
    const reader = readerOf(malicious(20))
    await expectWireError(readRequest(reader, ssz.phase0.Status), WireErrorCode.TOO_MANY_COMPRESSED_BYTES)
    expect(reader.bytesConsumed - 1).toBeLessThanOrEqual(130)
  })

  it('19 padding chunks: 128 bytes is within the bound, and the repeated identifier is accepted', async () => {
    expect(await readRequest(readerOf(malicious(19)), ssz.phase0.Status)).toEqual(status)
  })
})
