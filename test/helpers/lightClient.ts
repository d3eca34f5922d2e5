// Light-client data with real proofs, built as a full node builds it (altair…gloas full-node.md): a beacon state and a
// block body as SSZ trees, each branch read from the tree at the generalized index the SSZ type gives for the field's
// path. Independent of the code under test (which takes its indices from the spec's constants).
import { Tree } from '@chainsafe/persistent-merkle-tree'
import { ForkName, ForkSeq, SYNC_COMMITTEE_SIZE } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'

/** Types by name at a fork, loosely: these helpers build the same containers at several forks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = any
const typeAt = (fork: ForkName, name: string): AnyType =>
  (sszTypesFor(fork) as unknown as Record<string, AnyType>)[name]

/** A sync committee whose keys are distinct filler bytes (never checked as BLS points here). */
export function syncCommittee(seed: number) {
  const pubkeys = Array.from({ length: SYNC_COMMITTEE_SIZE }, (_, i) => new Uint8Array(48).fill((seed + i) % 256))
  return { pubkeys, aggregatePubkey: new Uint8Array(48).fill(seed % 256) }
}

interface Block {
  /** LightClientHeader of `fork` (execution and its branch from Capella). */
  header: AnyType
  root: Uint8Array
}

/**
 * A block at `slot` whose state holds the given committees and finalized root, as a LightClientHeader with its
 * execution branch, and the state's tree to take branches from.
 */
function block(
  fork: ForkName,
  slot: number,
  state: { current: unknown; next: unknown; finalizedRoot: Uint8Array },
): Block & { stateTree: Tree; blockHashBranch: Uint8Array[] } {
  /** Capella…Fulu: the payload's block_hash proven in the body (what a Gloas container's header carries). */
  let blockHashBranch: Uint8Array[] = []
  const stateView = typeAt(fork, 'BeaconState').defaultViewDU()
  stateView.slot = slot
  stateView.currentSyncCommittee = ssz.altair.SyncCommittee.toViewDU(state.current as never)
  stateView.nextSyncCommittee = ssz.altair.SyncCommittee.toViewDU(state.next as never)
  stateView.finalizedCheckpoint = ssz.phase0.Checkpoint.toViewDU({ epoch: 1, root: state.finalizedRoot })
  stateView.commit()
  const body = typeAt(fork, 'BeaconBlockBody').defaultValue()
  const beacon = {
    slot,
    proposerIndex: 7,
    parentRoot: new Uint8Array(32).fill(slot % 256),
    stateRoot: stateView.hashTreeRoot(),
    bodyRoot: new Uint8Array(32),
  }
  const header: AnyType = { beacon }
  if (ForkSeq[fork] >= ForkSeq.gloas) {
    // gloas: the header carries the execution block hash, proven in the body as the bid's parent_block_hash.
    const bid = body.signedExecutionPayloadBid.message
    bid.parentBlockHash = new Uint8Array(32).fill((slot % 250) + 1)
    bid.slot = slot
    const bodyType = typeAt(fork, 'BeaconBlockBody')
    const bodyView = bodyType.toViewDU(body)
    beacon.bodyRoot = bodyView.hashTreeRoot()
    header.executionBlockHash = bid.parentBlockHash
    const gindex = bodyType.getPathInfo(['signedExecutionPayloadBid', 'message', 'parentBlockHash']).gindex
    header.executionBranch = new Tree(bodyView.node).getSingleProof(gindex)
  } else if (ForkSeq[fork] >= ForkSeq.capella) {
    body.executionPayload.blockNumber = slot
    body.executionPayload.gasLimit = 30_000_000
    const bodyView = typeAt(fork, 'BeaconBlockBody').toViewDU(body)
    beacon.bodyRoot = bodyView.hashTreeRoot()
    const { transactions, withdrawals, ...rest } = body.executionPayload
    header.execution = {
      ...rest,
      transactionsRoot: ssz.bellatrix.Transactions.hashTreeRoot(transactions),
      withdrawalsRoot: ssz.capella.Withdrawals.hashTreeRoot(withdrawals),
    }
    header.executionBranch = new Tree(bodyView.node).getSingleProof(
      typeAt(fork, 'BeaconBlockBody').getPathInfo(['executionPayload']).gindex,
    )
    blockHashBranch = new Tree(bodyView.node).getSingleProof(
      typeAt(fork, 'BeaconBlockBody').getPathInfo(['executionPayload', 'blockHash']).gindex,
    )
  } else {
    beacon.bodyRoot = typeAt(fork, 'BeaconBlockBody').hashTreeRoot(body)
  }
  const root = ssz.phase0.BeaconBlockHeader.hashTreeRoot(beacon)
  return { header, root, stateTree: new Tree(stateView.node), blockHashBranch }
}

/**
 * A bootstrap of a Capella…Fulu block at `slot` as a Gloas container carries it (gloas light-client/fork.md
 * upgrade_lc_header_to_gloas): the header keeps only the execution block hash, each branch is padded with leading
 * zeros to the Gloas vector's length.
 */
export function lightClientBootstrapInGloasContainer(fork: ForkName, slot: number) {
  const current = syncCommittee(1)
  const b = block(fork, slot, { current, next: syncCommittee(2), finalizedRoot: new Uint8Array(32) })
  const type = ssz.gloas.LightClientBootstrap
  const pad = (branch: Uint8Array[], length: number) => [
    ...Array.from({ length: length - branch.length }, () => new Uint8Array(32)),
    ...branch,
  ]
  const value = {
    header: {
      beacon: b.header.beacon,
      executionBlockHash: b.header.execution.blockHash as Uint8Array,
      executionBranch: pad(b.blockHashBranch, type.fields.header.fields.executionBranch.length),
    },
    currentSyncCommittee: current,
    currentSyncCommitteeBranch: pad(
      b.stateTree.getSingleProof(stateGindex(fork, ['currentSyncCommittee'])),
      type.fields.currentSyncCommitteeBranch.length,
    ),
  }
  return { value, bytes: type.serialize(value), root: b.root }
}

/** The generalized index of a field of `fork`'s BeaconState, as its SSZ type lays it out. */
const stateGindex = (fork: ForkName, path: string[]): bigint => typeAt(fork, 'BeaconState').getPathInfo(path).gindex

/** A LightClientBootstrap of `fork` for a block at `slot`, serialized, and that block's root. */
export function lightClientBootstrap(fork: ForkName, slot: number, committeeSeed = 1) {
  const current = syncCommittee(committeeSeed)
  const b = block(fork, slot, { current, next: syncCommittee(committeeSeed + 1), finalizedRoot: new Uint8Array(32) })
  const value = {
    header: b.header,
    currentSyncCommittee: current,
    currentSyncCommitteeBranch: b.stateTree.getSingleProof(stateGindex(fork, ['currentSyncCommittee'])),
  }
  const type = typeAt(fork, 'LightClientBootstrap')
  return { value, bytes: type.serialize(value) as Uint8Array, root: b.root, type }
}

/**
 * A LightClientUpdate of `fork`: attested at `attestedSlot`, signed at `signatureSlot` by `participants` members,
 * finalizing a block at `finalizedSlot` and carrying the next sync committee, each with its branch.
 */
export function lightClientUpdate(
  fork: ForkName,
  attestedSlot: number,
  finalizedSlot: number,
  participants = 400,
  signatureSlot = attestedSlot + 1,
) {
  const finalized = block(fork, finalizedSlot, {
    current: syncCommittee(1),
    next: syncCommittee(2),
    finalizedRoot: new Uint8Array(32),
  })
  const next = syncCommittee(attestedSlot)
  const attested = block(fork, attestedSlot, { current: syncCommittee(1), next, finalizedRoot: finalized.root })
  const bits = ssz.altair.SyncAggregate.defaultValue().syncCommitteeBits
  for (let i = 0; i < participants; i++) bits.set(i, true)
  const value = {
    attestedHeader: attested.header,
    nextSyncCommittee: next,
    nextSyncCommitteeBranch: attested.stateTree.getSingleProof(stateGindex(fork, ['nextSyncCommittee'])),
    finalizedHeader: finalized.header,
    finalityBranch: attested.stateTree.getSingleProof(stateGindex(fork, ['finalizedCheckpoint', 'root'])),
    syncAggregate: { syncCommitteeBits: bits, syncCommitteeSignature: new Uint8Array(96) },
    signatureSlot,
  }
  const type = typeAt(fork, 'LightClientUpdate')
  return { value, bytes: type.serialize(value) as Uint8Array, type }
}

/** A Fulu update in each of `periods` (attested 40 slots into the period, finalizing 32 slots before): its bytes and slot. */
export function updatesOfPeriods(periods: number[], slotsPerPeriod: number) {
  return periods.map((period) => {
    const attestedSlot = period * slotsPerPeriod + 40
    return { bytes: lightClientUpdate(ForkName.fulu, attestedSlot, attestedSlot - 32).bytes, attestedSlot }
  })
}

/** The update as a LightClientFinalityUpdate (or optimistic update) of the same fork. */
export function asFinalityUpdate(fork: ForkName, update: ReturnType<typeof lightClientUpdate>['value']) {
  const { nextSyncCommittee: _n, nextSyncCommitteeBranch: _b, ...finality } = update
  return typeAt(fork, 'LightClientFinalityUpdate').serialize(finality) as Uint8Array
}

export function asOptimisticUpdate(fork: ForkName, update: ReturnType<typeof lightClientUpdate>['value']) {
  const { attestedHeader, syncAggregate, signatureSlot } = update
  return typeAt(fork, 'LightClientOptimisticUpdate').serialize({ attestedHeader, syncAggregate, signatureSlot })
}
