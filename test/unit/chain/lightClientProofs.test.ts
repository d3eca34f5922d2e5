import { ForkName } from '@lodestar/params'
import { sszTypesFor } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import {
  bootstrapFault,
  isValidNormalizedMerkleBranch,
  type LightClientUpdateLike,
  updateFault,
} from '../../../src/chain/lightClientProofs.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import {
  asFinalityUpdate,
  asOptimisticUpdate,
  lightClientBootstrap,
  lightClientBootstrapInGloasContainer,
  lightClientUpdate,
} from '../../helpers/lightClient.js'

// Mainnet's schedule: a header's fork (and so its proofs' shape) follows its slot.
const mainnet = loadNetworkPreset('mainnet')
const schedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
const FIRST_SLOT: Partial<Record<ForkName, number>> = {
  [ForkName.altair]: 74_240 * 32,
  [ForkName.capella]: 194_048 * 32,
  [ForkName.deneb]: 269_568 * 32,
  [ForkName.electra]: 364_032 * 32,
  [ForkName.fulu]: 411_392 * 32,
}
// Sepolia's schedule for Gloas (from epoch 353024): mainnet has none yet.
const sepolia = loadNetworkPreset('sepolia')
const sepoliaSchedule = new ForkSchedule(sepolia.config, sepolia.genesisValidatorsRoot)
FIRST_SLOT[ForkName.gloas] = 353_024 * 32
const FORKS = Object.keys(FIRST_SLOT) as ForkName[]
const scheduleFor = (fork: ForkName) => (fork === ForkName.gloas ? sepoliaSchedule : schedule)
const decode = (fork: ForkName, name: string, bytes: Uint8Array) =>
  (sszTypesFor(fork) as unknown as Record<string, { deserialize(b: Uint8Array): unknown }>)[name]!.deserialize(bytes)

describe('bootstrapFault', () => {
  it.each(FORKS)(
    '%s: passes a bootstrap built from a state, fails one with a changed committee or execution header',
    (fork) => {
      const slot = FIRST_SLOT[fork]! + 100
      const schedule = scheduleFor(fork)
      const { value } = lightClientBootstrap(fork, slot)
      expect(bootstrapFault(schedule, value)).toBeNull()

      const otherKey = structuredClone(value)
      otherKey.currentSyncCommittee.pubkeys[3] = new Uint8Array(48).fill(0xee)
      expect(bootstrapFault(schedule, otherKey)).toMatch(/current_sync_committee_branch/)

      const wrongBranch = structuredClone(value)
      wrongBranch.currentSyncCommitteeBranch[0] = new Uint8Array(32).fill(1)
      expect(bootstrapFault(schedule, wrongBranch)).toMatch(/current_sync_committee_branch/)

      if (fork === ForkName.gloas) {
        const otherHash = structuredClone(value)
        otherHash.header.executionBlockHash = new Uint8Array(32).fill(0xab)
        expect(bootstrapFault(schedule, otherHash)).toMatch(/execution_branch/)
      } else if (fork !== ForkName.altair) {
        const otherExecution = structuredClone(value)
        otherExecution.header.execution.blockNumber = 1
        expect(bootstrapFault(schedule, otherExecution)).toMatch(/execution_branch/)
      }
    },
  )

  it.each([ForkName.capella, ForkName.fulu])(
    'passes a %s bootstrap in a Gloas container (execution block hash alone), fails a changed hash',
    (fork) => {
      const { value } = lightClientBootstrapInGloasContainer(fork, FIRST_SLOT[fork]! + 7)
      expect(bootstrapFault(schedule, value)).toBeNull()
      value.header.executionBlockHash = new Uint8Array(32).fill(0x3c)
      expect(bootstrapFault(schedule, value)).toMatch(/execution_branch/)
    },
  )

  it('passes a Capella header carried in a later fork’s container (blob gas fields zero)', () => {
    const { value } = lightClientBootstrap(ForkName.capella, FIRST_SLOT.capella! + 5)
    value.header.execution = { ...value.header.execution, blobGasUsed: 0, excessBlobGas: 0 }
    expect(bootstrapFault(schedule, value)).toBeNull()
  })

  it('fails blob gas in a Capella header and an execution header in an Altair one', () => {
    const capella = lightClientBootstrap(ForkName.deneb, FIRST_SLOT.capella! + 5).value
    expect(bootstrapFault(schedule, capella)).toMatch(/execution_branch/) // a Deneb body's root for a Capella slot
    const deneb = lightClientBootstrap(ForkName.deneb, FIRST_SLOT.deneb! + 5).value
    expect(bootstrapFault(schedule, deneb)).toBeNull()
    deneb.header.beacon.slot = FIRST_SLOT.capella! + 5
    deneb.header.execution.blobGasUsed = 1
    expect(bootstrapFault(schedule, deneb)).toMatch(/blob gas before Deneb/)
    const altairInDeneb = lightClientBootstrap(ForkName.deneb, FIRST_SLOT.deneb! + 5).value
    altairInDeneb.header.beacon.slot = FIRST_SLOT.altair! + 5
    expect(bootstrapFault(schedule, altairInDeneb)).toMatch(/execution header before Capella/)
  })
})

describe('updateFault', () => {
  it.each(FORKS)('%s: passes an update built from a state; each changed field or branch fails', (fork) => {
    const schedule = scheduleFor(fork)
    const attested = FIRST_SLOT[fork]! + 200
    const { bytes } = lightClientUpdate(fork, attested, attested - 64)
    const update = () => decode(fork, 'LightClientUpdate', bytes) as LightClientUpdateLike
    expect(updateFault(schedule, update())).toBeNull()

    const nextKey = update()
    nextKey.nextSyncCommittee!.pubkeys[0] = new Uint8Array(48).fill(0xee)
    expect(updateFault(schedule, nextKey)).toMatch(/next_sync_committee_branch/)

    const finalized = update()
    finalized.finalizedHeader!.beacon.proposerIndex = 8
    expect(updateFault(schedule, finalized)).toMatch(/finality_branch/)

    const attestedState = update()
    attestedState.attestedHeader.beacon.stateRoot = new Uint8Array(32).fill(9)
    expect(updateFault(schedule, attestedState)).toMatch(/branch/)

    const nobody = decode(fork, 'LightClientUpdate', lightClientUpdate(fork, attested, attested - 64, 0).bytes)
    expect(updateFault(schedule, nobody as LightClientUpdateLike)).toMatch(/participants/)

    const late = update()
    late.signatureSlot = attested
    expect(updateFault(schedule, late)).toMatch(/signature slot/)

    const future = update()
    future.finalizedHeader!.beacon.slot = attested + 1
    expect(updateFault(schedule, future)).toMatch(/finalized slot/)

    // An update without finality: an empty finalized header and branch is sound, a header without a branch is not.
    const noFinality = update()
    noFinality.finalityBranch = noFinality.finalityBranch!.map(() => new Uint8Array(32))
    expect(updateFault(schedule, noFinality)).toMatch(/finalized header without a finality branch/)
    noFinality.finalizedHeader = (sszTypesFor(fork) as unknown as Record<string, { defaultValue(): never }>)[
      'LightClientHeader'
    ]!.defaultValue()
    expect(updateFault(schedule, noFinality)).toBeNull()
  })

  it('checks the finality and optimistic updates by the fields they have', () => {
    const fork = ForkName.fulu
    const attested = FIRST_SLOT.fulu! + 300
    const { value } = lightClientUpdate(fork, attested, attested - 64)
    const finality = decode(fork, 'LightClientFinalityUpdate', asFinalityUpdate(fork, value)) as LightClientUpdateLike
    expect(updateFault(schedule, finality)).toBeNull()
    finality.finalizedHeader!.beacon.bodyRoot = new Uint8Array(32).fill(3)
    expect(updateFault(schedule, finality)).toMatch(/finalized header: execution_branch|finality_branch/)
    const optimistic = decode(
      fork,
      'LightClientOptimisticUpdate',
      asOptimisticUpdate(fork, value),
    ) as LightClientUpdateLike
    expect(updateFault(schedule, optimistic)).toBeNull()
    optimistic.attestedHeader.execution = { ...(optimistic.attestedHeader.execution as object), gasUsed: 5 }
    expect(updateFault(schedule, optimistic)).toMatch(/attested header: execution_branch/)
  })
})

describe('isValidNormalizedMerkleBranch', () => {
  it('takes extra leading zero entries (an older proof in a newer container) and nothing else', () => {
    const fork = ForkName.deneb
    const { value } = lightClientBootstrap(fork, FIRST_SLOT.deneb! + 1)
    const leaf = sszTypesFor(fork).SyncCommittee.hashTreeRoot(value.currentSyncCommittee)
    const root = value.header.beacon.stateRoot
    const branch = value.currentSyncCommitteeBranch as Uint8Array[]
    expect(isValidNormalizedMerkleBranch(leaf, branch, 54, root)).toBe(true)
    expect(isValidNormalizedMerkleBranch(leaf, [new Uint8Array(32), ...branch], 54, root)).toBe(true)
    expect(isValidNormalizedMerkleBranch(leaf, [new Uint8Array(32).fill(1), ...branch], 54, root)).toBe(false)
    expect(isValidNormalizedMerkleBranch(leaf, branch.slice(1), 54, root)).toBe(false)
  })
})
