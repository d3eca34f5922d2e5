import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { MAX_COMPRESSED_MESSAGE_BYTES } from '../../../src/gossip/validation.js'
import { compressBlock } from '../../../src/wire/snappyBlock.js'
import { encodeVarint } from '../../../src/wire/varint.js'
import { Harness, msAt, SLOTS_PER_EPOCH, testNetwork } from './fixtures.js'

const exit = ssz.phase0.SignedVoluntaryExit.serialize(ssz.phase0.SignedVoluntaryExit.defaultValue())

describe('GossipValidator: topic, digest, size, snappy and SSZ', () => {
  const h = new Harness()
  const chain = new SyntheticChain({ network: h.network }, { payloadBytes: 2000 })
  h.nowMs = msAt(3)
  const blockTopic = h.topic('beacon_block')
  const block = chain.blockAt(3)!.ssz

  it('accepts a real block on its topic', () => {
    expect(h.validate(blockTopic, block)).toEqual({ result: 'accept', reason: 'valid' })
  })

  it('ignores a topic of no digest of this chain (cannot judge)', () => {
    expect(h.validate('/eth2/00000000/beacon_block/ssz_snappy', block)).toEqual({
      result: 'ignore',
      reason: 'unknown_topic',
    })
  })

  it('rejects data that is no snappy block', () => {
    expect(h.validateRaw(blockTopic, block)).toEqual({ result: 'reject', reason: 'snappy_decode' })
    expect(h.validateRaw(blockTopic, new Uint8Array(0))).toEqual({ result: 'reject', reason: 'snappy_decode' })
    // A valid header, then a copy reaching before the start of the output.
    expect(h.validateRaw(blockTopic, Uint8Array.from([0x08, 0x01, 0x05]))).toMatchObject({ reason: 'snappy_decode' })
  })

  it('rejects sizes over the limits: declared length over the type or MAX_PAYLOAD_SIZE, compressed over its bound', () => {
    const huge = Uint8Array.from([...encodeVarint(10_485_761), 0x00])
    expect(h.validateRaw(blockTopic, huge)).toEqual({ result: 'reject', reason: 'too_large' })
    // A SingleAttestation is exactly 240 bytes: 241 is over the type's bound, decided before decompressing.
    const attTopic = h.topic('beacon_attestation', 0)
    expect(h.validate(attTopic, new Uint8Array(241))).toEqual({ result: 'reject', reason: 'too_large' })
    expect(h.validateRaw(blockTopic, new Uint8Array(MAX_COMPRESSED_MESSAGE_BYTES + 1))).toEqual({
      result: 'reject',
      reason: 'too_large',
    })
  })

  it('rejects SSZ that is not the topic type: another type, truncated, or a corrupt offset', () => {
    const single = ssz.electra.SingleAttestation.serialize(ssz.electra.SingleAttestation.defaultValue())
    expect(h.validate(blockTopic, single)).toEqual({ result: 'reject', reason: 'ssz_decode' })
    expect(h.validate(blockTopic, block.subarray(0, block.length - 1))).toEqual({
      result: 'reject',
      reason: 'ssz_decode',
    })
    const corrupt = block.slice()
    corrupt[0] = 0xff // SignedBeaconBlock's message offset must be 100
    expect(h.validate(blockTopic, corrupt)).toEqual({ result: 'reject', reason: 'ssz_decode' })
    expect(h.validate(h.topic('voluntary_exit'), exit.subarray(1))).toEqual({ result: 'reject', reason: 'ssz_decode' })
  })

  it('takes the next digest only from its fork on (minus the clock disparity), the old one for two epochs after', () => {
    const f = new Harness(testNetwork({ FULU: 2 }))
    const forkStart = msAt(2 * SLOTS_PER_EPOCH, 0)
    const fulu = f.topic('voluntary_exit', null, 2)
    const electra = f.topic('voluntary_exit', null, 0)
    expect(fulu).not.toBe(electra)
    f.nowMs = forkStart - 501
    expect(f.validate(fulu, exit)).toEqual({ result: 'ignore', reason: 'pre_fork' })
    expect(f.validate(electra, exit)).toEqual({ result: 'accept', reason: 'valid' })
    f.nowMs = forkStart - 499
    expect(f.validate(fulu, exit)).toEqual({ result: 'accept', reason: 'valid' })
    const oldEnd = msAt(4 * SLOTS_PER_EPOCH, 0)
    f.nowMs = oldEnd + 499
    expect(f.validate(electra, exit)).toEqual({ result: 'accept', reason: 'valid' })
    f.nowMs = oldEnd + 500
    expect(f.validate(electra, exit)).toEqual({ result: 'ignore', reason: 'stale_digest' })
    expect(f.validate(fulu, exit)).toEqual({ result: 'accept', reason: 'valid' })
  })

  it('ignores (never accepts) messages of a fork whose rules it does not implement', () => {
    // Heze (after Gloas) has SSZ types in @lodestar/types but no rules here.
    const g = new Harness(testNetwork({ GLOAS: 1, HEZE: 2 }))
    g.nowMs = msAt(2 * SLOTS_PER_EPOCH + 1)
    const hezeTopic = g.topic('voluntary_exit')
    expect(g.codec.topicInfo(hezeTopic)!.fork).toBe('heze')
    expect(g.validate(hezeTopic, exit)).toEqual({ result: 'ignore', reason: 'unsupported_fork' })
    expect(g.validateRaw(hezeTopic, compressBlock(new Uint8Array(3)))).toMatchObject({ result: 'ignore' })
    // Gloas is judged: the same exit on its digest is valid (every voluntary_exit rule needs the state).
    const gloasTopic = g.topic('voluntary_exit', null, 1)
    expect(g.codec.topicInfo(gloasTopic)!.fork).toBe('gloas')
    expect(g.validate(gloasTopic, exit)).toEqual({ result: 'accept', reason: 'valid' })
  })
})
