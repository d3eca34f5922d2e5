import { BitArray } from '@chainsafe/ssz'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { ForkName } from '@lodestar/params'
import { asFinalityUpdate, asOptimisticUpdate, lightClientUpdate } from '../../helpers/lightClient.js'
import { Harness, msAt, syncSelectionProof } from './fixtures.js'

type UpdateValue = ReturnType<typeof lightClientUpdate>['value']

const ACCEPT = { result: 'accept', reason: 'valid' }

describe('slashings, exits, BLS changes', () => {
  const h = new Harness()
  h.nowMs = msAt(10)

  function proposerSlashing(over: { slot2?: bigint; proposer2?: number; same?: boolean } = {}) {
    const s = ssz.phase0.ProposerSlashing.defaultValue()
    s.signedHeader1.message.slot = 9n
    s.signedHeader1.message.proposerIndex = 5
    s.signedHeader1.message.stateRoot = new Uint8Array(32).fill(1)
    s.signedHeader2.message.slot = over.slot2 ?? 9n
    s.signedHeader2.message.proposerIndex = over.proposer2 ?? 5
    s.signedHeader2.message.stateRoot = new Uint8Array(32).fill(over.same ? 1 : 2)
    return ssz.phase0.ProposerSlashing.serialize(s)
  }

  it('proposer_slashing: same slot and proposer, different headers', () => {
    const topic = h.topic('proposer_slashing')
    expect(h.validate(topic, proposerSlashing())).toEqual(ACCEPT)
    expect(h.validate(topic, proposerSlashing({ same: true }))).toEqual({ result: 'reject', reason: 'not_slashable' })
    expect(h.validate(topic, proposerSlashing({ slot2: 8n }))).toEqual({ result: 'reject', reason: 'not_slashable' })
    expect(h.validate(topic, proposerSlashing({ proposer2: 6 }))).toEqual({ result: 'reject', reason: 'not_slashable' })
  })

  function attesterSlashing(a: { indices: number[]; source: number; target: number; root: number }, b: typeof a) {
    const s = ssz.electra.AttesterSlashing.defaultValue()
    for (const [att, x] of [
      [s.attestation1, a],
      [s.attestation2, b],
    ] as const) {
      att.attestingIndices = x.indices
      att.data.source.epoch = BigInt(x.source)
      att.data.target.epoch = BigInt(x.target)
      att.data.beaconBlockRoot = new Uint8Array(32).fill(x.root)
    }
    return ssz.electra.AttesterSlashing.serialize(s)
  }

  it('attester_slashing: a double or surround vote by a shared validator, indices sorted and unique', () => {
    const topic = h.topic('attester_slashing')
    const vote = (indices: number[], source: number, target: number, root = 1) => ({ indices, source, target, root })
    expect(h.validate(topic, attesterSlashing(vote([1, 2, 3], 1, 2), vote([3, 4], 1, 2, 2)))).toEqual(ACCEPT)
    expect(h.validate(topic, attesterSlashing(vote([1, 5], 1, 5), vote([5], 2, 4)))).toEqual(ACCEPT)
    expect(h.validate(topic, attesterSlashing(vote([1, 2], 1, 2), vote([3], 1, 2, 2)))).toEqual({
      result: 'ignore',
      reason: 'no_slashable_intersection',
    })
    // Same data twice, or votes for different targets that do not surround: nothing to slash.
    expect(h.validate(topic, attesterSlashing(vote([1, 2], 1, 2), vote([2], 1, 2)))).toEqual({
      result: 'reject',
      reason: 'not_slashable',
    })
    expect(h.validate(topic, attesterSlashing(vote([1, 2], 1, 2), vote([2], 1, 3, 2)))).toMatchObject({
      reason: 'not_slashable',
    })
    expect(h.validate(topic, attesterSlashing(vote([3, 1], 1, 2), vote([3], 1, 2, 2)))).toEqual({
      result: 'reject',
      reason: 'bad_indices',
    })
    expect(h.validate(topic, attesterSlashing(vote([1, 3, 3], 1, 2), vote([3], 1, 2, 2)))).toMatchObject({
      reason: 'bad_indices',
    })
  })

  it('voluntary_exit and bls_to_execution_change: accepted once they decode', () => {
    const exit = ssz.phase0.SignedVoluntaryExit.serialize(ssz.phase0.SignedVoluntaryExit.defaultValue())
    expect(h.validate(h.topic('voluntary_exit'), exit)).toEqual(ACCEPT)
    const change = ssz.capella.SignedBLSToExecutionChange.serialize(
      ssz.capella.SignedBLSToExecutionChange.defaultValue(),
    )
    expect(h.validate(h.topic('bls_to_execution_change'), change)).toEqual(ACCEPT)
    expect(h.validate(h.topic('bls_to_execution_change'), exit)).toEqual({ result: 'reject', reason: 'ssz_decode' })
  })
})

describe('sync committee topics', () => {
  const h = new Harness()
  const SLOT = 20

  it('sync_committee_{subnet}: only the current slot (500 ms either side)', () => {
    const m = ssz.altair.SyncCommitteeMessage.defaultValue()
    m.slot = SLOT
    const bytes = ssz.altair.SyncCommitteeMessage.serialize(m)
    const topic = h.topic('sync_committee', 2)
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, bytes)).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT + 1, 499)
    expect(h.validate(topic, bytes)).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT + 1, 501)
    expect(h.validate(topic, bytes)).toEqual({ result: 'ignore', reason: 'not_current_slot' })
    h.nowMs = msAt(SLOT, 0) - 501
    expect(h.validate(topic, bytes)).toEqual({ result: 'ignore', reason: 'not_current_slot' })
  })

  it('sync_committee_contribution_and_proof: current slot, subcommittee < 4, participants, aggregator', () => {
    const make = (over: { subcommittee?: number; bits?: boolean[]; slot?: number; aggregator?: boolean } = {}) => {
      const p = ssz.altair.SignedContributionAndProof.defaultValue()
      p.message.selectionProof = syncSelectionProof(over.aggregator ?? true)
      const c = p.message.contribution
      c.slot = over.slot ?? SLOT
      c.subcommitteeIndex = over.subcommittee ?? 3
      c.aggregationBits = BitArray.fromBoolArray(
        Array.from({ length: 128 }, (_, i) => (over.bits ? (over.bits[i] ?? false) : i === 9)),
      )
      return ssz.altair.SignedContributionAndProof.serialize(p)
    }
    const topic = h.topic('sync_committee_contribution_and_proof')
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, make())).toEqual(ACCEPT)
    expect(h.validate(topic, make({ subcommittee: 4 }))).toEqual({
      result: 'reject',
      reason: 'subcommittee_index_out_of_range',
    })
    expect(h.validate(topic, make({ bits: [] }))).toEqual({ result: 'reject', reason: 'no_participants' })
    expect(h.validate(topic, make({ slot: SLOT - 2 }))).toEqual({ result: 'ignore', reason: 'not_current_slot' })
    expect(h.validate(topic, make({ aggregator: false }))).toEqual({ result: 'reject', reason: 'not_aggregator' })
    // The spec's order: a contribution of another slot is ignored before its proof is looked at.
    expect(h.validate(topic, make({ slot: SLOT - 2, aggregator: false }))).toMatchObject({ result: 'ignore' })
  })
})

describe('light client updates', () => {
  const SIGNATURE_SLOT = 30
  // SYNC_MESSAGE_DUE_BPS 3333 of a 2 s slot = 666 ms; with the 500 ms disparity an update may come 166 ms in.
  const dueMs = 166

  // Sound updates (their branches proven against state trees, test/helpers/lightClient.ts), signed at SIGNATURE_SLOT.
  function finality(finalizedSlot: number, signers: number, change?: (u: UpdateValue) => void) {
    const { value } = lightClientUpdate(ForkName.fulu, SIGNATURE_SLOT - 1, finalizedSlot, signers, SIGNATURE_SLOT)
    change?.(value)
    return asFinalityUpdate(ForkName.fulu, value)
  }

  function optimistic(attestedSlot: number, change?: (u: UpdateValue) => void) {
    const { value } = lightClientUpdate(ForkName.fulu, attestedSlot, 0, 1, SIGNATURE_SLOT)
    change?.(value)
    return asOptimisticUpdate(ForkName.fulu, value)
  }

  it('finality: not before the sync-message deadline, then only newer (or newly supermajority) updates', () => {
    const h = new Harness()
    const topic = h.topic('light_client_finality_update')
    h.nowMs = msAt(SIGNATURE_SLOT, dueMs - 1)
    expect(h.validate(topic, finality(10, 300))).toEqual({ result: 'ignore', reason: 'too_early' })
    h.nowMs = msAt(SIGNATURE_SLOT, dueMs)
    expect(h.validate(topic, finality(10, 300))).toEqual(ACCEPT)
    expect(h.validate(topic, finality(10, 300))).toEqual({ result: 'ignore', reason: 'not_newer' })
    expect(h.validate(topic, finality(9, 500))).toEqual({ result: 'ignore', reason: 'not_newer' })
    // Same finalized slot, first with > 2/3 of 512 signers (342): forwarded once more.
    expect(h.validate(topic, finality(10, 341))).toEqual({ result: 'ignore', reason: 'not_newer' })
    expect(h.validate(topic, finality(10, 342))).toEqual(ACCEPT)
    expect(h.validate(topic, finality(10, 512))).toEqual({ result: 'ignore', reason: 'not_newer' })
    expect(h.validate(topic, finality(11, 1))).toEqual(ACCEPT)
  })

  it('optimistic: not before the deadline, then only a newer attested header', () => {
    const h = new Harness()
    const topic = h.topic('light_client_optimistic_update')
    h.nowMs = msAt(SIGNATURE_SLOT, dueMs - 1)
    expect(h.validate(topic, optimistic(28))).toEqual({ result: 'ignore', reason: 'too_early' })
    h.nowMs = msAt(SIGNATURE_SLOT, dueMs)
    expect(h.validate(topic, optimistic(28))).toEqual(ACCEPT)
    expect(h.validate(topic, optimistic(28))).toEqual({ result: 'ignore', reason: 'not_newer' })
    expect(h.validate(topic, optimistic(27))).toEqual({ result: 'ignore', reason: 'not_newer' })
    expect(h.validate(topic, optimistic(29))).toEqual(ACCEPT)
  })

  it('a newer update whose branch no longer proves its header is ignored, and does not count as forwarded', () => {
    const h = new Harness()
    h.nowMs = msAt(SIGNATURE_SLOT, dueMs)
    const optimisticTopic = h.topic('light_client_optimistic_update')
    const movedBody = (u: UpdateValue) => (u.attestedHeader.beacon.bodyRoot = new Uint8Array(32).fill(7))
    expect(h.validate(optimisticTopic, optimistic(29, movedBody))).toEqual({
      result: 'ignore',
      reason: 'invalid_proof',
    })
    expect(h.validate(optimisticTopic, optimistic(29))).toEqual(ACCEPT)
    // Signed at its own attested slot: not after it, so no update a full node computes.
    const sameSlot = asOptimisticUpdate(ForkName.fulu, lightClientUpdate(ForkName.fulu, 30, 0, 1, 30).value)
    expect(h.validate(optimisticTopic, sameSlot)).toEqual({ result: 'ignore', reason: 'invalid_proof' })

    const finalityTopic = h.topic('light_client_finality_update')
    const otherFinalized = (u: UpdateValue) => (u.finalizedHeader.beacon.proposerIndex = 99)
    expect(h.validate(finalityTopic, finality(12, 400, otherFinalized))).toEqual({
      result: 'ignore',
      reason: 'invalid_proof',
    })
    expect(h.validate(finalityTopic, finality(12, 400))).toEqual(ACCEPT)
  })
})
