// Every stateless gossip rule on a chain that crosses every fork at consecutive epochs (phase0 at genesis, Altair at
// 1 … Fulu at 6), judged on each fork's own topic at the boundary slots: the first slot of the fork and the last
// slot of the one before, which the old digest still carries for two epochs.
import { BitArray } from '@chainsafe/ssz'
import { ForkName, ForkSeq } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { isDefaultPayload } from '../../../src/gossip/validateBlock.js'
import { GENESIS_TIME, Harness, msAt, SLOT_MS, SLOTS_PER_EPOCH, syncSelectionProof, testNetwork } from './fixtures.js'

const ACCEPT = { result: 'accept', reason: 'valid' }
const FORKS = [
  ForkName.phase0,
  ForkName.altair,
  ForkName.bellatrix,
  ForkName.capella,
  ForkName.deneb,
  ForkName.electra,
  ForkName.fulu,
]
/** Fork i activates at epoch i. */
const network = testNetwork({ ALTAIR: 1, BELLATRIX: 2, CAPELLA: 3, DENEB: 4, ELECTRA: 5, FULU: 6 })
const firstSlot = (fork: ForkName) => FORKS.indexOf(fork) * SLOTS_PER_EPOCH
const slotTime = (slot: number) => GENESIS_TIME + (slot * SLOT_MS) / 1000

type PayloadEdit = 'default' | 'timely' | 'late' | 'zero_hash_late'

/** A SignedBeaconBlock of `fork` at `slot`; its payload (Bellatrix on) as `payload` says. */
function block(fork: ForkName, slot: number, payload: PayloadEdit = 'timely'): Uint8Array {
  const type = sszTypesFor(fork).SignedBeaconBlock
  const b = type.defaultValue()
  b.message.slot = slot
  const body = b.message.body as {
    executionPayload?: { timestamp: number; blockHash: Uint8Array; blockNumber: number }
  }
  if (body.executionPayload && payload !== 'default') {
    const p = body.executionPayload
    p.blockNumber = slot
    p.blockHash = payload === 'zero_hash_late' ? new Uint8Array(32) : new Uint8Array(32).fill(7)
    p.timestamp = slotTime(slot) + (payload === 'timely' ? 0 : 1)
  }
  return type.serialize(b as never)
}

describe('beacon_block across every fork boundary', () => {
  const h = new Harness(network)

  for (const fork of FORKS) {
    const start = firstSlot(fork)
    const topicOf = (slot: number) => h.topic('beacon_block', null, Math.floor(slot / SLOTS_PER_EPOCH))

    it(`${fork}: its first slot on its own topic; the slot before on the previous fork's topic`, () => {
      h.nowMs = msAt(start)
      expect(h.codec.topicInfo(topicOf(start))!.fork).toBe(fork)
      expect(h.validate(topicOf(start), block(fork, start))).toEqual(ACCEPT)
      if (start > 0) {
        const prev = FORKS[FORKS.indexOf(fork) - 1]!
        expect(h.validate(topicOf(start - 1), block(prev, start - 1))).toEqual(ACCEPT)
        // Each digest decodes its own fork's type only (Fulu's block is Electra's, byte for byte).
        if (fork !== ForkName.fulu) {
          expect(h.validate(topicOf(start), block(prev, start))).toEqual({ result: 'reject', reason: 'ssz_decode' })
        }
      }
    })

    if (ForkSeq[fork] >= ForkSeq.bellatrix) {
      it(`${fork}: a pre-merge (default) payload is accepted; a non-default one must carry the slot's time`, () => {
        h.nowMs = msAt(start + 1)
        const topic = topicOf(start)
        const payloadOf = (bytes: Uint8Array) =>
          (sszTypesFor(fork).SignedBeaconBlock.deserialize(bytes).message.body as { executionPayload: unknown })
            .executionPayload
        expect(isDefaultPayload(fork, payloadOf(block(fork, start, 'default')))).toBe(true)
        expect(isDefaultPayload(fork, payloadOf(block(fork, start, 'zero_hash_late')))).toBe(false)
        expect(h.validate(topic, block(fork, start, 'default'))).toEqual(ACCEPT)
        expect(h.validate(topic, block(fork, start + 1, 'default'))).toEqual(ACCEPT)
        expect(h.validate(topic, block(fork, start, 'timely'))).toEqual(ACCEPT)
        expect(h.validate(topic, block(fork, start, 'late'))).toEqual({ result: 'reject', reason: 'payload_timestamp' })
        // A zero block_hash alone does not make a payload the default one: execution is enabled, the rule applies.
        expect(h.validate(topic, block(fork, start, 'zero_hash_late'))).toEqual({
          result: 'reject',
          reason: 'payload_timestamp',
        })
      })
    } else {
      it(`${fork}: no execution payload, no timestamp rule`, () => {
        h.nowMs = msAt(start + 1)
        const body = sszTypesFor(fork).SignedBeaconBlock.defaultValue().message.body
        expect('executionPayload' in body).toBe(false)
        expect(h.validate(topicOf(start), block(fork, start))).toEqual(ACCEPT)
      })
    }

    if (start > 0) {
      it(`${fork}: a block of its first slot, 501 ms early on the old topic, is ignored (even with a late payload)`, () => {
        h.nowMs = msAt(start, 0) - 501
        const prev = FORKS[FORKS.indexOf(fork) - 1]!
        expect(h.validate(topicOf(start - 1), block(prev, start, 'late'))).toEqual({
          result: 'ignore',
          reason: 'future_slot',
        })
      })
    }
  }

  it('blob commitments: Deneb 6, Electra and Fulu 9 (the devnet has no blob schedule), on each fork’s first slot', () => {
    for (const [fork, limit] of [
      [ForkName.deneb, 6],
      [ForkName.electra, 9],
      [ForkName.fulu, 9],
    ] as const) {
      const start = firstSlot(fork)
      h.nowMs = msAt(start)
      const type = sszTypesFor(fork).SignedBeaconBlock
      const make = (n: number) => {
        const b = type.defaultValue()
        b.message.slot = start
        ;(b.message.body as { blobKzgCommitments: Uint8Array[] }).blobKzgCommitments = Array.from(
          { length: n },
          () => new Uint8Array(48),
        )
        return type.serialize(b as never)
      }
      const topic = h.topic('beacon_block', null, start / SLOTS_PER_EPOCH)
      expect(h.validate(topic, make(limit))).toEqual(ACCEPT)
      expect(h.validate(topic, make(limit + 1))).toEqual({ result: 'reject', reason: 'too_many_blobs' })
    }
  })
})

describe('attestations across the boundaries: slot range before Deneb, epoch window from Deneb', () => {
  const h = new Harness(network)

  function attestation(fork: ForkName, slot: number, bits: boolean[]) {
    const type = sszTypesFor(fork).Attestation
    const a = type.defaultValue() as ReturnType<typeof ssz.phase0.Attestation.defaultValue>
    a.data.slot = slot
    a.data.index = 1
    a.data.target.epoch = Math.floor(slot / SLOTS_PER_EPOCH)
    a.aggregationBits = BitArray.fromBoolArray(bits)
    return type.serialize(a as never)
  }

  for (const fork of [ForkName.phase0, ForkName.altair, ForkName.bellatrix, ForkName.capella, ForkName.deneb]) {
    it(`${fork}: exactly one participant, target epoch = epoch of the slot, the fork's time window`, () => {
      const start = firstSlot(fork)
      const topic = h.topic('beacon_attestation', 5, start / SLOTS_PER_EPOCH)
      expect(h.codec.topicInfo(topic)!.fork).toBe(fork)
      h.nowMs = msAt(start + 1)
      expect(h.validate(topic, attestation(fork, start, [false, true]))).toEqual(ACCEPT)
      expect(h.validate(topic, attestation(fork, start, [true, true]))).toEqual({
        result: 'reject',
        reason: 'not_single_participant',
      })
      // 33 slots later: outside ATTESTATION_PROPAGATION_SLOT_RANGE before Deneb, still the previous epoch from it.
      h.nowMs = msAt(start + 33, 600)
      const late = h.validate(topic, attestation(fork, start, [true]))
      expect(late).toEqual(ForkSeq[fork] >= ForkSeq.deneb ? ACCEPT : { result: 'ignore', reason: 'slot_out_of_range' })
    })
  }
})

describe('bls_to_execution_change: ignored while the wall clock is before CAPELLA_FORK_EPOCH', () => {
  it('the Capella topic is open 500 ms early, the rule is not', () => {
    const h = new Harness(network)
    const change = ssz.capella.SignedBLSToExecutionChange.serialize(
      ssz.capella.SignedBLSToExecutionChange.defaultValue(),
    )
    const start = firstSlot(ForkName.capella)
    const topic = h.topic('bls_to_execution_change', null, start / SLOTS_PER_EPOCH)
    h.nowMs = msAt(start, 0) - 400
    expect(h.validate(topic, change)).toEqual({ result: 'ignore', reason: 'pre_capella' })
    h.nowMs = msAt(start, 0)
    expect(h.validate(topic, change)).toEqual(ACCEPT)
  })
})

describe('sync_committee_contribution_and_proof: is_sync_committee_aggregator (mainnet preset: modulo 8)', () => {
  it('rejects a contribution whose proof does not select its aggregator, in Altair and in Fulu', () => {
    const h = new Harness(network)
    for (const fork of [ForkName.altair, ForkName.fulu]) {
      const slot = firstSlot(fork) + 3
      h.nowMs = msAt(slot)
      const topic = h.topic('sync_committee_contribution_and_proof', null, Math.floor(slot / SLOTS_PER_EPOCH))
      const make = (selectionProof: Uint8Array) => {
        const p = ssz.altair.SignedContributionAndProof.defaultValue()
        p.message.contribution.slot = slot
        p.message.contribution.aggregationBits = BitArray.fromBoolArray(Array.from({ length: 128 }, (_, i) => i === 3))
        p.message.selectionProof = selectionProof
        return ssz.altair.SignedContributionAndProof.serialize(p)
      }
      expect(h.validate(topic, make(syncSelectionProof(true)))).toEqual(ACCEPT)
      expect(h.validate(topic, make(syncSelectionProof(false)))).toEqual({ result: 'reject', reason: 'not_aggregator' })
    }
  })
})
