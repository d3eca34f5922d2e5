// The Gloas gossip rules (gloas p2p-interface.md, EIP-7732/7688) on a chain with Fulu at genesis and Gloas from
// epoch 1: real SSZ of @lodestar/types' gloas containers, snappy-compressed as on the wire. For each rule, a message
// the spec accepts (must never be REJECTed) and one it refuses.
import { BitArray } from '@chainsafe/ssz'
import {
  FIELD_ELEMENTS_PER_CELL,
  ForkSeq,
  MAX_ATTESTATIONS_ELECTRA,
  MAX_ATTESTER_SLASHINGS_ELECTRA,
  MAX_ATTESTER_SLASHING_SIZE,
  MAX_BLS_TO_EXECUTION_CHANGES,
  MAX_VOLUNTARY_EXITS,
  MAX_BUILDER_DEPOSIT_REQUESTS_PER_PAYLOAD,
  MAX_BUILDER_EXIT_REQUESTS_PER_PAYLOAD,
  MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD,
  MAX_DATA_COLUMN_SIDECAR_SIZE,
  MAX_SIGNED_AGGREGATE_AND_PROOF_SIZE,
  MAX_PAYLOAD_ATTESTATIONS,
  MAX_PROPOSER_SLASHINGS,
  MAX_SIGNED_EXECUTION_PAYLOAD_BID_SIZE,
  MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD,
  MAX_WITHDRAWALS_PER_PAYLOAD,
} from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { type GossipSszType, maxUncompressedBytes } from '../../../src/gossip/topicTypes.js'
import { validateBeaconBlock } from '../../../src/gossip/validateBlock.js'
import { withinBlockBodyOperationLimits, withinExecutionRequestsLimits } from '../../../src/gossip/gloasLimits.js'
import { validateExecutionPayloadEnvelope } from '../../../src/gossip/validatePayloadTopics.js'
import type { ValidationContext } from '../../../src/gossip/validationContext.js'
import { Harness, msAt, SLOTS_PER_EPOCH, testNetwork } from './fixtures.js'

const ACCEPT = { result: 'accept', reason: 'valid' }
const rejected = (reason: string) => ({ result: 'reject', reason })
const ignored = (reason: string) => ({ result: 'ignore', reason })
const g = ssz.gloas
/** The devnet's blob limit (empty BLOB_SCHEDULE: MAX_BLOBS_PER_BLOCK_ELECTRA). */
const MAX_BLOBS = 9
const GLOAS_SLOT = SLOTS_PER_EPOCH
const SLOT = GLOAS_SLOT + 3
const root = (byte: number) => new Uint8Array(32).fill(byte)
const many = <T>(n: number, make: () => T): T[] => Array.from({ length: n }, make)

const REQUEST_LIMITS = [
  ['withdrawals', MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD],
  ['consolidations', MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD],
  ['builderDeposits', MAX_BUILDER_DEPOSIT_REQUESTS_PER_PAYLOAD],
  ['builderExits', MAX_BUILDER_EXIT_REQUESTS_PER_PAYLOAD],
] as const

/** What GossipValidator hands a Gloas topic's check at the harness's time. */
function context(h: Harness): ValidationContext {
  return {
    nowMs: h.nowMs,
    fork: 'gloas',
    forkSeq: ForkSeq.gloas,
    subnet: null,
    windows: h.validator.windows,
    config: h.forkSchedule.config,
    genesisTime: h.clock.genesisTimeMs / 1000,
  }
}

type Block = ReturnType<typeof g.SignedBeaconBlock.defaultValue>

function gloasHarness(): Harness {
  const h = new Harness(testNetwork({ GLOAS: 1 }))
  h.nowMs = msAt(SLOT)
  return h
}

describe('Gloas: topics, types and size bounds', () => {
  const h = gloasHarness()

  it('judges Gloas digests (no longer unsupported), with the new global topics on them only', () => {
    const info = h.codec.topicInfo(h.topic('execution_payload_bid'))!
    expect(info.fork).toBe('gloas')
    expect(info.type).toBe(g.SignedExecutionPayloadBid)
    expect(h.codec.topicInfo(h.topic('proposer_preferences'))!.type).toBe(g.SignedProposerPreferences)
    expect(h.codec.topicInfo(h.topic('execution_payload'))!.type).toBe(g.SignedExecutionPayloadEnvelope)
    expect(h.codec.topicInfo(h.topic('payload_attestation_message'))!.type).toBe(g.PayloadAttestationMessage)
    const topics = h.codec.allTopics()
    const fulu = h.forkSchedule.digestHexAtEpoch(0)
    expect([...topics.keys()].some((t) => t.includes(`/${fulu}/execution_payload`))).toBe(false)
    expect(topics.get(h.topic('payload_attestation_message'))).toBe('payload_attestation_message')
  })

  it('caps each message at the Gloas table’s bound where it names the type (the declared size is checked first)', () => {
    expect(h.codec.topicInfo(h.topic('execution_payload_bid'))!.maxBytes).toBe(MAX_SIGNED_EXECUTION_PAYLOAD_BID_SIZE)
    const bid = g.SignedExecutionPayloadBid.defaultValue()
    bid.message.slot = SLOT
    // 324 fixed bytes + 48 per commitment: 4096 commitments fit, 4097 do not.
    bid.message.blobKzgCommitments = many(4097, () => new Uint8Array(48))
    const bytes = g.SignedExecutionPayloadBid.serialize(bid)
    expect(bytes.length).toBeGreaterThan(MAX_SIGNED_EXECUTION_PAYLOAD_BID_SIZE)
    expect(h.validate(h.topic('execution_payload_bid'), bytes)).toEqual(rejected('too_large'))
  })

  it('takes the table’s bound over the type’s own on Gloas topics, and only there', () => {
    // A type with a larger bound than the table's, as a spec-exact progressive list (no limit) would have.
    const unbounded = { maxSize: 2 ** 40 } as GossipSszType
    expect(maxUncompressedBytes(unbounded, 'execution_payload_bid', 'gloas')).toBe(
      MAX_SIGNED_EXECUTION_PAYLOAD_BID_SIZE,
    )
    expect(maxUncompressedBytes(unbounded, 'beacon_aggregate_and_proof', 'gloas')).toBe(
      MAX_SIGNED_AGGREGATE_AND_PROOF_SIZE,
    )
    expect(maxUncompressedBytes(unbounded, 'attester_slashing', 'gloas')).toBe(MAX_ATTESTER_SLASHING_SIZE)
    expect(maxUncompressedBytes(unbounded, 'data_column_sidecar', 'gloas')).toBe(MAX_DATA_COLUMN_SIDECAR_SIZE)
    // Other topics, and other forks, keep the type's bound under MAX_PAYLOAD_SIZE (10 MiB).
    expect(maxUncompressedBytes(unbounded, 'execution_payload', 'gloas')).toBe(10 * 2 ** 20)
    expect(maxUncompressedBytes(unbounded, 'data_column_sidecar', 'fulu')).toBe(10 * 2 ** 20)
  })
})

describe('Gloas beacon_block', () => {
  const h = gloasHarness()
  const topic = h.topic('beacon_block')
  const block = (edit: (b: Block) => void = () => {}) => {
    const b = g.SignedBeaconBlock.defaultValue()
    b.message.slot = SLOT
    edit(b)
    return g.SignedBeaconBlock.serialize(b)
  }
  /** A block as a proposer makes it: parent root set and named by its bid too. */
  const built = (edit: (b: Block) => void = () => {}) =>
    block((b) => {
      b.message.parentRoot = root(5)
      b.message.body.signedExecutionPayloadBid.message.parentBlockRoot = root(5)
      b.message.body.signedExecutionPayloadBid.message.slot = SLOT
      edit(b)
    })

  it('accepts a block with a default (empty) bid, at the fork’s first slot and later', () => {
    expect(h.validate(topic, block())).toEqual(ACCEPT)
    h.nowMs = msAt(GLOAS_SLOT)
    expect(
      h.validate(
        topic,
        block((b) => (b.message.slot = GLOAS_SLOT)),
      ),
    ).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, built())).toEqual(ACCEPT)
  })

  it('ignores a block from a future slot', () => {
    expect(
      h.validate(
        topic,
        block((b) => (b.message.slot = SLOT + 1)),
      ),
    ).toEqual(ignored('future_slot'))
  })

  it('rejects a block whose bid names another parent', () => {
    const other = built((b) => (b.message.body.signedExecutionPayloadBid.message.parentBlockRoot = root(6)))
    expect(h.validate(topic, other)).toEqual(rejected('bid_parent_mismatch'))
  })

  it('takes the blob limit from the bid’s commitments', () => {
    const commitments = (n: number) =>
      built(
        (b) =>
          (b.message.body.signedExecutionPayloadBid.message.blobKzgCommitments = many(n, () => new Uint8Array(48))),
      )
    expect(h.validate(topic, commitments(MAX_BLOBS))).toEqual(ACCEPT)
    expect(h.validate(topic, commitments(MAX_BLOBS + 1))).toEqual(rejected('too_many_blobs'))
  })

  // @lodestar/types 1.48 still gives most progressive lists their old limit, which equals the gossip limit: such a
  // body already fails the decode (REJECT ssz_decode). Deposits have no such limit; Gloas allows none.
  it('rejects a body over verify_block_body_operation_limits (at the limit is fine)', () => {
    const fields = g.BeaconBlockBody.fields
    type Field = 'proposerSlashings' | 'attestations' | 'payloadAttestations' | 'deposits'
    const withCount = (field: Field, n: number) =>
      built((b) => {
        const list = many(n, () => fields[field].elementType.defaultValue())
        ;(b.message.body as Record<Field, unknown>)[field] = list
      })
    const limits: Array<[Field, number]> = [
      ['proposerSlashings', MAX_PROPOSER_SLASHINGS],
      ['attestations', MAX_ATTESTATIONS_ELECTRA],
      ['payloadAttestations', MAX_PAYLOAD_ATTESTATIONS],
      ['deposits', 0],
    ]
    for (const [field, limit] of limits) {
      expect(h.validate(topic, withCount(field, limit)), field).toEqual(ACCEPT)
      expect(h.validate(topic, withCount(field, limit + 1)), field).toMatchObject({ result: 'reject' })
    }
    expect(h.validate(topic, withCount('deposits', 1))).toEqual(rejected('operation_limits'))
  })

  it('rejects parent execution requests over verify_execution_requests_limits (at the limit is fine)', () => {
    const requests = g.ExecutionRequests.fields
    const withdrawals = (n: number) =>
      built((b) => {
        b.message.body.parentExecutionRequests.withdrawals = many(n, () =>
          requests.withdrawals.elementType.defaultValue(),
        )
      })
    expect(h.validate(topic, withdrawals(MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD))).toEqual(ACCEPT)
    expect(h.validate(topic, withdrawals(MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD + 1))).toMatchObject({ result: 'reject' })
  })

  it('judges the decoded block’s parent execution requests (a decode with no list limits lets them through)', () => {
    const b = g.SignedBeaconBlock.defaultValue()
    b.message.slot = SLOT
    b.message.body.parentExecutionRequests.consolidations = many(MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD + 1, () =>
      g.ExecutionRequests.fields.consolidations.elementType.defaultValue(),
    )
    expect(validateBeaconBlock(context(h), b)).toEqual(rejected('execution_request_limits'))
  })

  it('does not take a Fulu block on the Gloas digest', () => {
    const fulu = ssz.fulu.SignedBeaconBlock.defaultValue()
    fulu.message.slot = SLOT
    expect(h.validate(topic, ssz.fulu.SignedBeaconBlock.serialize(fulu))).toEqual(rejected('ssz_decode'))
  })
})

describe('Gloas data_column_sidecar_{subnet}', () => {
  const h = gloasHarness()
  const on = (subnet: number) => h.topic('data_column_sidecar', subnet)
  const cell = () => new Uint8Array(FIELD_ELEMENTS_PER_CELL * 32)
  const sidecar = (edit: (s: ReturnType<typeof g.DataColumnSidecar.defaultValue>) => void = () => {}) => {
    const s = g.DataColumnSidecar.defaultValue()
    s.index = 7
    s.column = many(3, cell)
    s.kzgProofs = many(3, () => new Uint8Array(48))
    s.slot = SLOT
    s.beaconBlockRoot = root(9)
    edit(s)
    return g.DataColumnSidecar.serialize(s)
  }

  it('accepts a sidecar of the new shape (slot and block root, no header or proof) on its subnet', () => {
    expect(h.validate(on(7), sidecar())).toEqual(ACCEPT)
    // An old one: the block it belongs to is not judged here.
    h.nowMs = msAt(SLOT + 100)
    expect(h.validate(on(7), sidecar())).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT)
  })

  it('rejects a sidecar on another subnet than index % 128', () => {
    expect(h.validate(on(8), sidecar())).toEqual(rejected('wrong_subnet'))
  })

  it('ignores a sidecar from a future slot', () => {
    expect(
      h.validate(
        on(7),
        sidecar((s) => (s.slot = SLOT + 1)),
      ),
    ).toEqual(ignored('future_slot'))
  })

  it('rejects what verify_data_column_sidecar refuses without the block', () => {
    expect(
      h.validate(
        on(0),
        sidecar((s) => (s.index = 128)),
      ),
    ).toEqual(rejected('column_index_out_of_range'))
    const empty = sidecar((s) => {
      s.column = []
      s.kzgProofs = []
    })
    expect(h.validate(on(7), empty)).toEqual(rejected('empty_column'))
    expect(
      h.validate(
        on(7),
        sidecar((s) => s.kzgProofs.pop()),
      ),
    ).toEqual(rejected('column_length_mismatch'))
  })

  it('does not take a Fulu sidecar on the Gloas digest', () => {
    const fulu = ssz.fulu.DataColumnSidecar.defaultValue()
    fulu.index = 7
    expect(h.validate(on(7), ssz.fulu.DataColumnSidecar.serialize(fulu))).toEqual(rejected('ssz_decode'))
  })
})

describe('Gloas attestations: data.index is the payload status, 0 or 1', () => {
  const h = gloasHarness()
  const single = (index: number) => {
    const a = g.SingleAttestation.defaultValue()
    a.committeeIndex = 3
    a.data.slot = SLOT
    a.data.index = index
    a.data.target.epoch = 1
    return g.SingleAttestation.serialize(a)
  }
  const aggregate = (index: number) => {
    const a = g.SignedAggregateAndProof.defaultValue()
    const att = a.message.aggregate
    att.data.slot = SLOT
    att.data.index = index
    att.data.target.epoch = 1
    att.aggregationBits = BitArray.fromBoolArray([false, true, true])
    att.committeeBits = BitArray.fromSingleBit(64, 3)
    return g.SignedAggregateAndProof.serialize(a)
  }

  it('accepts index 0 and 1 on a subnet, rejects 2', () => {
    const topic = h.topic('beacon_attestation', 5)
    expect(h.validate(topic, single(0))).toEqual(ACCEPT)
    expect(h.validate(topic, single(1))).toEqual(ACCEPT)
    expect(h.validate(topic, single(2))).toEqual(rejected('data_index_out_of_range'))
  })

  it('accepts index 0 and 1 in an aggregate, rejects 2', () => {
    const topic = h.topic('beacon_aggregate_and_proof')
    expect(h.validate(topic, aggregate(0))).toEqual(ACCEPT)
    expect(h.validate(topic, aggregate(1))).toEqual(ACCEPT)
    expect(h.validate(topic, aggregate(2))).toEqual(rejected('data_index_out_of_range'))
  })
})

describe('Gloas execution_payload', () => {
  const h = gloasHarness()
  const topic = h.topic('execution_payload')
  type Envelope = ReturnType<typeof g.SignedExecutionPayloadEnvelope.defaultValue>
  const envelope = (edit: (e: Envelope) => void = () => {}) => {
    const e = g.SignedExecutionPayloadEnvelope.defaultValue()
    e.message.payload.slotNumber = SLOT
    e.message.beaconBlockRoot = root(3)
    edit(e)
    return g.SignedExecutionPayloadEnvelope.serialize(e)
  }
  const payloadFields = g.ExecutionPayload.fields
  const requestFields = g.ExecutionRequests.fields

  it('accepts an envelope of the current slot, and an old one; ignores one from a future slot', () => {
    expect(h.validate(topic, envelope())).toEqual(ACCEPT)
    expect(
      h.validate(
        topic,
        envelope((e) => (e.message.payload.slotNumber = GLOAS_SLOT)),
      ),
    ).toEqual(ACCEPT)
    expect(
      h.validate(
        topic,
        envelope((e) => (e.message.payload.slotNumber = SLOT + 1)),
      ),
    ).toEqual(ignored('future_slot'))
  })

  // As for blocks, the decode already refuses lists over their old limit; the rule itself is checked on decoded
  // values below (validateExecutionPayloadEnvelope, gloasLimits).
  it('rejects more than MAX_WITHDRAWALS_PER_PAYLOAD withdrawals, and execution requests over their limits', () => {
    const withdrawals = (n: number) =>
      envelope((e) => {
        e.message.payload.withdrawals = many(n, () => payloadFields.withdrawals.elementType.defaultValue())
      })
    expect(h.validate(topic, withdrawals(MAX_WITHDRAWALS_PER_PAYLOAD))).toEqual(ACCEPT)
    expect(h.validate(topic, withdrawals(MAX_WITHDRAWALS_PER_PAYLOAD + 1))).toMatchObject({ result: 'reject' })
    for (const [field, limit] of REQUEST_LIMITS) {
      const requests = (n: number) =>
        envelope((e) => {
          const list = many(n, () => requestFields[field].elementType.defaultValue())
          ;(e.message.executionRequests as Record<string, unknown>)[field] = list
        })
      expect(h.validate(topic, requests(limit)), field).toEqual(ACCEPT)
      expect(h.validate(topic, requests(limit + 1)), field).toMatchObject({ result: 'reject' })
    }
  })

  it('judges the decoded envelope: withdrawals, then execution requests', () => {
    const ctx = context(h)
    const value = (edit: (e: Envelope) => void) => {
      const e = g.SignedExecutionPayloadEnvelope.defaultValue()
      e.message.payload.slotNumber = SLOT
      edit(e)
      return e
    }
    expect(
      validateExecutionPayloadEnvelope(
        ctx,
        value(() => {}),
      ),
    ).toEqual(ACCEPT)
    const tooMany = value((e) => {
      e.message.payload.withdrawals = many(MAX_WITHDRAWALS_PER_PAYLOAD + 1, () =>
        payloadFields.withdrawals.elementType.defaultValue(),
      )
    })
    expect(validateExecutionPayloadEnvelope(ctx, tooMany)).toEqual(rejected('too_many_withdrawals'))
    const requests = value((e) => {
      e.message.executionRequests.builderExits = many(MAX_BUILDER_EXIT_REQUESTS_PER_PAYLOAD + 1, () =>
        requestFields.builderExits.elementType.defaultValue(),
      )
    })
    expect(validateExecutionPayloadEnvelope(ctx, requests)).toEqual(rejected('execution_request_limits'))
  })
})

describe('Gloas count limits (verify_block_body_operation_limits, verify_execution_requests_limits)', () => {
  it('holds every block body count to its limit, and deposits to none', () => {
    const body = () => g.BeaconBlockBody.defaultValue()
    expect(withinBlockBodyOperationLimits(body())).toBe(true)
    const limits = [
      ['proposerSlashings', MAX_PROPOSER_SLASHINGS],
      ['attesterSlashings', MAX_ATTESTER_SLASHINGS_ELECTRA],
      ['attestations', MAX_ATTESTATIONS_ELECTRA],
      ['deposits', 0],
      ['voluntaryExits', MAX_VOLUNTARY_EXITS],
      ['blsToExecutionChanges', MAX_BLS_TO_EXECUTION_CHANGES],
      ['payloadAttestations', MAX_PAYLOAD_ATTESTATIONS],
    ] as const
    for (const [field, limit] of limits) {
      const at = body()
      at[field] = many(limit, () => ({}) as never)
      expect(withinBlockBodyOperationLimits(at), field).toBe(true)
      const over = body()
      over[field] = many(limit + 1, () => ({}) as never)
      expect(withinBlockBodyOperationLimits(over), field).toBe(false)
    }
  })

  it('holds every execution request count to its limit (deposit requests have none)', () => {
    const requests = () => g.ExecutionRequests.defaultValue()
    for (const [field, limit] of REQUEST_LIMITS) {
      const at = requests()
      at[field] = many(limit, () => ({}) as never)
      expect(withinExecutionRequestsLimits(at), field).toBe(true)
      const over = requests()
      over[field] = many(limit + 1, () => ({}) as never)
      expect(withinExecutionRequestsLimits(over), field).toBe(false)
    }
    const deposits = requests()
    deposits.deposits = many(10_000, () => ({}) as never)
    expect(withinExecutionRequestsLimits(deposits)).toBe(true)
  })
})

describe('Gloas payload_attestation_message', () => {
  const h = gloasHarness()
  const topic = h.topic('payload_attestation_message')
  const message = (slot: number) => {
    const m = g.PayloadAttestationMessage.defaultValue()
    m.data.slot = slot
    m.data.payloadPresent = true
    return g.PayloadAttestationMessage.serialize(m)
  }

  it('accepts one of the current slot (within the clock disparity), ignores any other', () => {
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, message(SLOT))).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT + 1, 500)
    expect(h.validate(topic, message(SLOT))).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT + 1, 501)
    expect(h.validate(topic, message(SLOT))).toEqual(ignored('not_current_slot'))
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, message(SLOT + 1))).toEqual(ignored('not_current_slot'))
  })
})

describe('Gloas execution_payload_bid', () => {
  const h = gloasHarness()
  const topic = h.topic('execution_payload_bid')
  type Bid = ReturnType<typeof g.SignedExecutionPayloadBid.defaultValue>
  const bid = (edit: (b: Bid['message']) => void = () => {}) => {
    const b = g.SignedExecutionPayloadBid.defaultValue()
    b.message.slot = SLOT
    b.message.parentBlockRoot = root(1)
    b.message.value = 1_000_000
    edit(b.message)
    return g.SignedExecutionPayloadBid.serialize(b)
  }

  it('accepts a bid for the current or the next slot, ignores others', () => {
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, bid())).toEqual(ACCEPT)
    expect(
      h.validate(
        topic,
        bid((b) => (b.slot = SLOT + 1)),
      ),
    ).toEqual(ACCEPT)
    expect(
      h.validate(
        topic,
        bid((b) => (b.slot = SLOT + 2)),
      ),
    ).toEqual(ignored('not_current_or_next_slot'))
    h.nowMs = msAt(SLOT + 1, 501)
    expect(h.validate(topic, bid())).toEqual(ignored('not_current_or_next_slot'))
    h.nowMs = msAt(SLOT)
  })

  it('rejects a non-zero execution payment', () => {
    expect(
      h.validate(
        topic,
        bid((b) => (b.executionPayment = 1n)),
      ),
    ).toEqual(rejected('nonzero_execution_payment'))
  })

  it('rejects more commitments than the blob limit of the bid’s epoch', () => {
    const commitments = (n: number) => bid((b) => (b.blobKzgCommitments = many(n, () => new Uint8Array(48))))
    expect(h.validate(topic, commitments(MAX_BLOBS))).toEqual(ACCEPT)
    expect(h.validate(topic, commitments(MAX_BLOBS + 1))).toEqual(rejected('too_many_blobs'))
  })
})

describe('Gloas proposer_preferences', () => {
  const prefs = (proposalSlot: number) => {
    const p = g.SignedProposerPreferences.defaultValue()
    p.message.proposalSlot = proposalSlot
    p.message.validatorIndex = 12
    p.message.targetGasLimit = 60_000_000n
    return g.SignedProposerPreferences.serialize(p)
  }

  it('accepts preferences for a slot not yet started whose proposer is known', () => {
    const h = gloasHarness()
    const topic = h.topic('proposer_preferences')
    h.nowMs = msAt(SLOT)
    expect(h.validate(topic, prefs(SLOT + 1))).toEqual(ACCEPT)
    // The next epoch's proposers are known in this one (MIN_SEED_LOOKAHEAD = 1).
    expect(h.validate(topic, prefs(2 * SLOTS_PER_EPOCH + 5))).toEqual(ACCEPT)
    expect(h.validate(topic, prefs(3 * SLOTS_PER_EPOCH))).toEqual(ignored('proposer_unknown'))
    // The proposal slot may have started, by less than the clock disparity.
    h.nowMs = msAt(SLOT + 1, 500)
    expect(h.validate(topic, prefs(SLOT + 1))).toEqual(ACCEPT)
    h.nowMs = msAt(SLOT + 1, 501)
    expect(h.validate(topic, prefs(SLOT + 1))).toEqual(ignored('past_slot'))
  })

  it('opens one epoch before the fork, when proposers send preferences for the first Gloas slots', () => {
    const h = new Harness(testNetwork({ GLOAS: 2 }))
    const gloas = (kind: 'proposer_preferences' | 'payload_attestation_message') => h.topic(kind, null, 2)
    const first = 2 * SLOTS_PER_EPOCH
    h.nowMs = msAt(SLOTS_PER_EPOCH + 5)
    expect(h.codec.topicInfo(gloas('proposer_preferences'))!.fork).toBe('gloas')
    expect(h.validate(gloas('proposer_preferences'), prefs(first))).toEqual(ACCEPT)
    // Other Gloas topics still wait for the fork.
    const attestation = g.PayloadAttestationMessage.defaultValue()
    attestation.data.slot = SLOTS_PER_EPOCH + 5
    expect(
      h.validate(gloas('payload_attestation_message'), g.PayloadAttestationMessage.serialize(attestation)),
    ).toEqual(ignored('pre_fork'))
    // Two epochs before: not yet.
    h.nowMs = msAt(SLOTS_PER_EPOCH, 0) - 501
    expect(h.validate(gloas('proposer_preferences'), prefs(first))).toEqual(ignored('pre_fork'))
  })
})
