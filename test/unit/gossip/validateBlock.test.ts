import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { GENESIS_TIME, Harness, msAt, SLOT_MS, testNetwork } from './fixtures.js'

describe('beacon_block validation', () => {
  const h = new Harness()
  const chain = new SyntheticChain({ network: h.network }, { payloadBytes: 2000, blobsPerBlock: 2 })
  const topic = h.topic('beacon_block')
  const block = chain.blockAt(5)!.ssz
  const edit = (change: (b: ReturnType<typeof ssz.fulu.SignedBeaconBlock.deserialize>) => void) => {
    const value = ssz.fulu.SignedBeaconBlock.deserialize(block)
    change(value)
    return ssz.fulu.SignedBeaconBlock.serialize(value)
  }

  it('accepts a block of the current slot, and one up to 500 ms early; ignores one from further in the future', () => {
    h.nowMs = msAt(5)
    expect(h.validate(topic, block)).toEqual({ result: 'accept', reason: 'valid' })
    h.nowMs = msAt(5, 0) - 500
    expect(h.validate(topic, block)).toEqual({ result: 'accept', reason: 'valid' })
    h.nowMs = msAt(5, 0) - 501
    expect(h.validate(topic, block)).toEqual({ result: 'ignore', reason: 'future_slot' })
    // Old blocks are not judged: the finalized slot is not knowable without a chain.
    h.nowMs = msAt(5000)
    expect(h.validate(topic, block)).toEqual({ result: 'accept', reason: 'valid' })
  })

  it('rejects an execution payload timestamp other than the slot time', () => {
    h.nowMs = msAt(5)
    expect(ssz.fulu.SignedBeaconBlock.deserialize(block).message.body.executionPayload.timestamp).toBe(
      GENESIS_TIME + (5 * SLOT_MS) / 1000,
    )
    const late = edit((b) => (b.message.body.executionPayload.timestamp += 1))
    expect(h.validate(topic, late)).toEqual({ result: 'reject', reason: 'payload_timestamp' })
  })

  it('rejects more blob commitments than the epoch allows (the devnet: 9, from MAX_BLOBS_PER_BLOCK_ELECTRA)', () => {
    h.nowMs = msAt(5)
    const commitments = (n: number) =>
      edit((b) => (b.message.body.blobKzgCommitments = Array.from({ length: n }, () => new Uint8Array(48))))
    expect(h.validate(topic, commitments(9))).toEqual({ result: 'accept', reason: 'valid' })
    expect(h.validate(topic, commitments(10))).toEqual({ result: 'reject', reason: 'too_many_blobs' })
  })

  it('uses each fork’s own type and blob limit (Deneb: SignedBeaconBlock of deneb, 6 blobs)', () => {
    const d = new Harness(testNetwork({ ELECTRA: 5, FULU: null }))
    d.nowMs = msAt(3)
    const topic = d.topic('beacon_block')
    expect(d.codec.topicInfo(topic)!.fork).toBe('deneb')
    const make = (blobs: number) => {
      const b = ssz.deneb.SignedBeaconBlock.defaultValue()
      b.message.slot = 3
      b.message.body.executionPayload.timestamp = GENESIS_TIME + 6
      b.message.body.blobKzgCommitments = Array.from({ length: blobs }, () => new Uint8Array(48))
      return ssz.deneb.SignedBeaconBlock.serialize(b)
    }
    expect(d.validate(topic, make(6))).toEqual({ result: 'accept', reason: 'valid' })
    expect(d.validate(topic, make(7))).toEqual({ result: 'reject', reason: 'too_many_blobs' })
    // A Fulu block does not decode as a Deneb one.
    expect(d.validate(topic, block)).toEqual({ result: 'reject', reason: 'ssz_decode' })
  })
})
