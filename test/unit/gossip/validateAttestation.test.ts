import { BitArray } from '@chainsafe/ssz'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { Harness, msAt, SLOTS_PER_EPOCH, testNetwork } from './fixtures.js'

const SLOT = 40 // epoch 1
const epochOf = (slot: number) => Math.floor(slot / SLOTS_PER_EPOCH)

function single(over: { slot?: number; index?: number; committeeIndex?: number; targetEpoch?: number } = {}) {
  const a = ssz.electra.SingleAttestation.defaultValue()
  a.committeeIndex = over.committeeIndex ?? 3
  a.attesterIndex = 4321
  a.data.slot = over.slot ?? SLOT
  a.data.index = over.index ?? 0
  a.data.target.epoch = over.targetEpoch ?? epochOf(a.data.slot)
  return ssz.electra.SingleAttestation.serialize(a)
}

function aggregate(over: { index?: number; committees?: number[]; bits?: boolean[]; targetEpoch?: number } = {}) {
  const p = ssz.electra.SignedAggregateAndProof.defaultValue()
  const agg = p.message.aggregate
  agg.data.slot = SLOT
  agg.data.index = over.index ?? 0
  agg.data.target.epoch = over.targetEpoch ?? epochOf(SLOT)
  agg.committeeBits = BitArray.fromBoolArray(Array.from({ length: 64 }, (_, i) => (over.committees ?? [2]).includes(i)))
  agg.aggregationBits = BitArray.fromBoolArray(over.bits ?? [false, true, true, false])
  return ssz.electra.SignedAggregateAndProof.serialize(p)
}

describe('beacon_attestation_{subnet} (Electra SingleAttestation)', () => {
  const h = new Harness()
  const topic = h.topic('beacon_attestation', 7)

  it('accepts a well-formed attestation of the current slot', () => {
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, single())).toEqual({ result: 'accept', reason: 'valid' })
    expect(h.validate(topic, single({ committeeIndex: 63 }))).toEqual({ result: 'accept', reason: 'valid' })
  })

  it('rejects data.index ≠ 0 and a committee index no slot has', () => {
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, single({ index: 1 }))).toEqual({ result: 'reject', reason: 'nonzero_data_index' })
    expect(h.validate(topic, single({ committeeIndex: 64 }))).toEqual({
      result: 'reject',
      reason: 'committee_index_out_of_range',
    })
  })

  it('ignores a future slot and an epoch other than the current or previous one (500 ms disparity)', () => {
    h.nowMs = msAt(SLOT, 0) - 501
    expect(h.validate(topic, single())).toEqual({ result: 'ignore', reason: 'future_slot' })
    h.nowMs = msAt(SLOT, 0) - 499
    expect(h.validate(topic, single())).toEqual({ result: 'accept', reason: 'valid' })
    // Epoch 1's attestations are good through the end of epoch 2 (+ disparity).
    const epoch3 = msAt(3 * SLOTS_PER_EPOCH, 0)
    h.nowMs = epoch3 + 499
    expect(h.validate(topic, single())).toEqual({ result: 'accept', reason: 'valid' })
    h.nowMs = epoch3 + 501
    expect(h.validate(topic, single())).toEqual({ result: 'ignore', reason: 'epoch_out_of_range' })
  })

  it('rejects a target epoch other than the epoch of the slot', () => {
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, single({ targetEpoch: 0 }))).toEqual({ result: 'reject', reason: 'target_epoch_mismatch' })
    expect(h.validate(topic, single({ targetEpoch: 2 }))).toEqual({ result: 'reject', reason: 'target_epoch_mismatch' })
  })
})

describe('beacon_aggregate_and_proof (Electra)', () => {
  const h = new Harness()
  const topic = h.topic('beacon_aggregate_and_proof')

  it('accepts a well-formed aggregate and rejects the stateless violations', () => {
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, aggregate())).toEqual({ result: 'accept', reason: 'valid' })
    expect(h.validate(topic, aggregate({ index: 2 }))).toEqual({ result: 'reject', reason: 'nonzero_data_index' })
    expect(h.validate(topic, aggregate({ committees: [] }))).toEqual({ result: 'reject', reason: 'committee_bits' })
    expect(h.validate(topic, aggregate({ committees: [1, 2] }))).toEqual({ result: 'reject', reason: 'committee_bits' })
    expect(h.validate(topic, aggregate({ bits: [false, false] }))).toEqual({
      result: 'reject',
      reason: 'no_participants',
    })
    expect(h.validate(topic, aggregate({ targetEpoch: 0 }))).toEqual({
      result: 'reject',
      reason: 'target_epoch_mismatch',
    })
    h.nowMs = msAt(SLOT - 1)
    expect(h.validate(topic, aggregate())).toEqual({ result: 'ignore', reason: 'future_slot' })
  })
})

describe('attestations before Electra', () => {
  function attestation(bits: boolean[], slot: number, index = 5) {
    const a = ssz.phase0.Attestation.defaultValue()
    a.aggregationBits = BitArray.fromBoolArray(bits)
    a.data.slot = slot
    a.data.index = index
    a.data.target.epoch = epochOf(slot)
    return ssz.phase0.Attestation.serialize(a)
  }

  it('Deneb: one participant exactly, committee index below 64, epoch window', () => {
    const d = new Harness(testNetwork({ ELECTRA: 10, FULU: null }))
    const topic = d.topic('beacon_attestation', 1)
    expect(d.codec.topicInfo(topic)!.fork).toBe('deneb')
    d.nowMs = msAt(SLOT)
    expect(d.validate(topic, attestation([false, true, false], SLOT))).toEqual({ result: 'accept', reason: 'valid' })
    expect(d.validate(topic, attestation([true, true, false], SLOT))).toEqual({
      result: 'reject',
      reason: 'not_single_participant',
    })
    expect(d.validate(topic, attestation([false, false], SLOT))).toMatchObject({ reason: 'not_single_participant' })
    expect(d.validate(topic, attestation([true], SLOT, 64))).toEqual({
      result: 'reject',
      reason: 'committee_index_out_of_range',
    })
    // An Electra SingleAttestation is not a Deneb Attestation.
    expect(d.validate(topic, single())).toEqual({ result: 'reject', reason: 'ssz_decode' })
  })

  it('Capella: ATTESTATION_PROPAGATION_SLOT_RANGE (32 slots) instead of the epoch window', () => {
    const c = new Harness(testNetwork({ DENEB: 10, ELECTRA: null, FULU: null }))
    const topic = c.topic('beacon_attestation', 1)
    expect(c.codec.topicInfo(topic)!.fork).toBe('capella')
    const end = msAt(SLOT + 33, 0)
    c.nowMs = end + 499
    expect(c.validate(topic, attestation([true], SLOT))).toEqual({ result: 'accept', reason: 'valid' })
    c.nowMs = end + 501
    expect(c.validate(topic, attestation([true], SLOT))).toEqual({ result: 'ignore', reason: 'slot_out_of_range' })
    c.nowMs = msAt(SLOT, 0) - 501
    expect(c.validate(topic, attestation([true], SLOT))).toEqual({ result: 'ignore', reason: 'slot_out_of_range' })
  })
})
