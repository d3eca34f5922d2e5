import { createHash } from 'node:crypto'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { GossipCodec } from '../../../src/gossip/gossipCodec.js'
import {
  computeMessageId,
  decodeGossipPayload,
  GOSSIP_MSG_ID_BYTES,
  messageIdToString,
} from '../../../src/gossip/messageId.js'
import { compressBlock } from '../../../src/wire/snappyBlock.js'
import { Harness, testNetwork } from './fixtures.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const u64le = (n: number) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}

/** The spec's formula, assembled byte by byte (altair p2p-interface.md "Topics and messages"). */
function expectedId(domain: string, topic: string, payload: Uint8Array): string {
  const topicBytes = Buffer.from(topic, 'utf8')
  const preimage = Buffer.concat([Buffer.from(domain, 'hex'), u64le(topicBytes.length), topicBytes, payload])
  return createHash('sha256').update(preimage).digest().subarray(0, 20).toString('hex')
}

describe('gossip message id', () => {
  // leanEthereum/leanSpec tests/lean_spec/subspecs/networking/test_message_id.py (the same vectors are in zeam and
  // other lean clients): lean consensus uses the Altair formula unchanged, so these are spec vectors for ours.
  it('matches the published vectors for topic "test" and data "hello"', () => {
    const hello = new TextEncoder().encode('hello')
    // Valid snappy: SHA256(0x01000000 ‖ u64le(4) ‖ "test" ‖ "hello")[:20]
    expect(hex(computeMessageId('test', compressBlock(hello), 1024))).toBe('2e40c861545cc5b46d2220062e7440b9190bc383')
    // Raw "hello" is no snappy block: SHA256(0x00000000 ‖ u64le(4) ‖ "test" ‖ "hello")[:20]
    expect(hex(computeMessageId('test', hello, 1024))).toBe('a7f41aaccd241477955c981714eb92244c2efc98')
  })

  const h = new Harness()
  const chain = new SyntheticChain({ network: h.network }, { payloadBytes: 3000 })
  const blockSsz = chain.blockAt(2)!.ssz
  const topic = h.topic('beacon_block')

  it('valid snappy: hashes the valid-snappy domain, topic length and topic, and the decompressed SSZ', () => {
    const data = compressBlock(blockSsz)
    expect(Buffer.compare(data, blockSsz)).not.toBe(0)
    const id = computeMessageId(topic, data, 10_485_760)
    expect(id).toHaveLength(GOSSIP_MSG_ID_BYTES)
    expect(hex(id)).toBe(expectedId('01000000', topic, blockSsz))
    // The id is of the content, not of the encoding: an uncompressed-literal encoding of the same SSZ agrees.
    const literal = Buffer.concat([Buffer.from([0x04]), Buffer.from([0x0c]), Buffer.from('abcd')])
    expect(hex(computeMessageId(topic, literal, 100))).toBe(expectedId('01000000', topic, Buffer.from('abcd')))
  })

  it('invalid snappy: hashes the invalid-snappy domain and the raw data', () => {
    // Declares 10 bytes but holds a 3-byte literal: not a valid block.
    const bad = Uint8Array.from([0x0a, 0x08, 0x61, 0x62, 0x63])
    expect(decodeGossipPayload(bad, 100)).toEqual({ ok: false, reason: 'snappy_decode' })
    expect(hex(computeMessageId(topic, bad, 100))).toBe(expectedId('00000000', topic, bad))
    const empty = new Uint8Array(0)
    expect(hex(computeMessageId(topic, empty, 100))).toBe(expectedId('00000000', topic, empty))
  })

  it('a block declaring more than the cap is not decompressed and takes the invalid-snappy id', () => {
    const data = compressBlock(blockSsz)
    expect(decodeGossipPayload(data, blockSsz.length - 1)).toEqual({ ok: false, reason: 'too_large' })
    expect(hex(computeMessageId(topic, data, blockSsz.length - 1))).toBe(expectedId('00000000', topic, data))
    expect(hex(computeMessageId(topic, data, blockSsz.length))).toBe(expectedId('01000000', topic, blockSsz))
  })

  it('phase0 topics leave the topic out (phase0 p2p-interface.md)', () => {
    const data = compressBlock(blockSsz)
    const phase0 = createHash('sha256').update(Buffer.from('01000000', 'hex')).update(blockSsz).digest()
    expect(hex(computeMessageId(topic, data, 10_485_760, true))).toBe(hex(phase0.subarray(0, 20)))
  })

  it('GossipCodec.msgIdFn uses the topic type cap and hands the decoded SSZ to the validator once', () => {
    const codec = new GossipCodec({ forkSchedule: h.forkSchedule })
    const data = compressBlock(blockSsz)
    const msg = { type: 'unsigned' as const, topic, data }
    expect(hex(codec.msgIdFn(msg))).toBe(expectedId('01000000', topic, blockSsz))
    const first = codec.takeDecoded(msg, 0)
    expect(first.ok && hex(first.ssz)).toBe(hex(blockSsz))
    // Taken: a second call decodes afresh (here with a cap that refuses it).
    expect(codec.takeDecoded(msg, 10)).toEqual({ ok: false, reason: 'too_large' })
    // A SingleAttestation topic caps the payload at 240 bytes: a block there takes the invalid-snappy id.
    const attTopic = h.topic('beacon_attestation', 1)
    expect(codec.topicInfo(attTopic)!.maxBytes).toBe(ssz.electra.SingleAttestation.maxSize)
    expect(hex(codec.msgIdFn({ type: 'unsigned', topic: attTopic, data }))).toBe(expectedId('00000000', attTopic, data))
    expect(messageIdToString(Uint8Array.from([0, 1, 0xab]))).toBe('0001ab')
  })

  it('GossipCodec knows only this chain’s digests', () => {
    const codec = new GossipCodec({ forkSchedule: h.forkSchedule })
    expect(codec.topicInfo('/eth2/00000000/beacon_block/ssz_snappy')).toBeNull()
    expect(codec.topicInfo('not a topic')).toBeNull()
    const info = codec.topicInfo(topic)!
    expect(info.fork).toBe('fulu')
    expect(info.kind).toBe('beacon_block')
    // Every fork's topics of the multi-fork test chain, phase0 … fulu, and each topic once.
    const multi = new GossipCodec({ forkSchedule: new Harness(testNetwork({ FULU: 2 })).forkSchedule })
    const all = multi.allTopics()
    const digests = new Set([...all.keys()].map((t) => t.split('/')[2]))
    expect(digests.size).toBe(2)
    expect(all.size).toBe(9 + 64 + 4 + (9 + 64 + 4 + 128))
  })
})
