import { createCipheriv, createHash } from 'node:crypto'
import { ForkName, ForkSeq } from '@lodestar/params'
import { type SignedBeaconBlock, ssz, sszTypesFor } from '@lodestar/types'

/** phase0 `BLSSignature = Bytes96`. */
export const SIGNATURE_BYTES = 96
/** deneb `KZGCommitment = Bytes48` (KZGProof has the same size). */
export const KZG_BYTES = 48
/** phase0 `Root = Bytes32`. */
const ROOT_BYTES = 32
/** bellatrix `ExecutionAddress = Bytes20`. */
const ADDRESS_BYTES = 20
/** deneb beacon-chain.md GAS_PER_BLOB = 2**17: blob_gas_used of a payload that carries n blobs. */
const GAS_PER_BLOB = 131_072n
/** Of the order of mainnet's gas limit in 2025; only a plausible number, nothing checks it. */
const GAS_LIMIT = 60_000_000
/** 1 gwei: a quiet-mainnet base fee. */
const BASE_FEE_PER_GAS = 1_000_000_000n
/** Proposer indices are drawn below this: a small validator set, as a devnet would have. */
const PROPOSER_INDEX_RANGE = 1024
/** Transaction sizes: a plain transfer is ~110 bytes, a contract call several hundred; mainnet averages ~600. */
const MIN_TX_BYTES = 100
const MAX_TX_BYTES = 1200
/** ASCII, zero-padded to 32 bytes: lets a reader of a dump tell synthetic blocks apart. */
const GRAFFITI = 'contower devnet'
const EXTRA_DATA = new TextEncoder().encode('contower-devnet')
/**
 * 0xa5 repeated: the compression flag is set and the infinity flag clear, so a format check passes, but it is
 * no curve point. Nobody verifies signatures on a devnet of a relay that never verifies them.
 */
const DUMMY_SIGNATURE = new Uint8Array(SIGNATURE_BYTES).fill(0xa5)
/** altair beacon-chain.md: a sync aggregate with no participants carries G2_POINT_AT_INFINITY. */
const G2_POINT_AT_INFINITY = Uint8Array.from([0xc0, ...new Uint8Array(SIGNATURE_BYTES - 1)])
const AES_IV = Buffer.alloc(16)

/** What a block needs from its parent; null parent = the genesis block (slot 0). */
export interface ParentLink {
  readonly slot: number
  readonly root: Uint8Array
  readonly blockNumber: number
}

export interface BlockInputs {
  /** The fork of the block's epoch (default Fulu): its SignedBeaconBlock type and the body fields it has. */
  readonly fork?: ForkName
  /**
   * Bellatrix on: false leaves the execution payload the default ExecutionPayload(), as every block before the merge
   * carries it (default true).
   */
  readonly executionEnabled?: boolean
  readonly seed: string
  readonly slot: number
  readonly parent: ParentLink | null
  /** Execution payload timestamp, unix seconds. */
  readonly timestamp: number
  readonly payloadBytes: number
  readonly blobCount: number
}

export interface BuiltBlock {
  readonly value: SignedBeaconBlock
  /** hash_tree_root(BeaconBlock) */
  readonly root: Uint8Array
  readonly ssz: Uint8Array
  readonly blockNumber: number
}

/**
 * `length` pseudo-random bytes fixed by (seed, slot, label): AES-256-CTR over zeros keyed by
 * sha256(u32le(len(seed)) ‖ seed ‖ u64le(slot) ‖ label). OpenSSL's AES makes 100 KB in well under a millisecond.
 */
export function seededBytes(seed: string, slot: number, label: string, length: number): Uint8Array {
  const seedBytes = Buffer.from(seed, 'utf8')
  const header = Buffer.alloc(12)
  header.writeUInt32LE(seedBytes.length, 0)
  header.writeBigUInt64LE(BigInt(slot), 4)
  const hash = createHash('sha256')
  hash.update(header.subarray(0, 4)).update(seedBytes).update(header.subarray(4)).update(label, 'utf8')
  const key = hash.digest()
  const out = createCipheriv('aes-256-ctr', key, AES_IV).update(Buffer.alloc(length))
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Execution block hash of the block at `slot` (not a real keccak header hash: only the linkage matters). */
export function executionBlockHash(seed: string, slot: number): Uint8Array {
  return seededBytes(seed, slot, 'block_hash', ROOT_BYTES)
}

/**
 * Build one SignedBeaconBlock of `inputs.fork` (Fulu by default). Everything but the parent link is a function of
 * (seed, slot), so a block evicted from a cache is rebuilt byte for byte from its slot and its parent's link.
 */
export function buildBlock(inputs: BlockInputs): BuiltBlock {
  const { seed, slot, parent } = inputs
  const fork = inputs.fork ?? ForkName.fulu
  const types = sszTypesFor(fork)
  const derive = (label: string, length: number) => seededBytes(seed, slot, label, length)
  const signed = types.SignedBeaconBlock.defaultValue()
  const block = signed.message
  const body = block.body as BodyFields
  const blockNumber = blockNumberOf(inputs)

  block.slot = slot
  block.proposerIndex = proposerIndexOf(inputs)
  block.parentRoot = parent ? parent.root : new Uint8Array(ROOT_BYTES)
  block.stateRoot = derive('state_root', ROOT_BYTES)
  body.randaoReveal = derive('randao_reveal', SIGNATURE_BYTES)
  body.graffiti = new Uint8Array(ROOT_BYTES)
  body.graffiti.set(new TextEncoder().encode(GRAFFITI))
  if (body.syncAggregate) body.syncAggregate.syncCommitteeSignature = G2_POINT_AT_INFINITY

  if (body.executionPayload && (inputs.executionEnabled ?? true)) {
    const commitments = fillPayload(body.executionPayload, inputs, blockNumber)
    if (commitments && ForkSeq[fork] >= ForkSeq.deneb) body.blobKzgCommitments = commitments
  }
  // Gloas: the block carries only the builder's bid for its payload; the payload travels in an envelope.
  const bid = body.signedExecutionPayloadBid?.message
  if (bid) {
    bid.parentBlockHash = parent ? executionBlockHash(seed, parent.slot) : new Uint8Array(ROOT_BYTES)
    bid.parentBlockRoot = block.parentRoot
    bid.blockHash = executionBlockHash(seed, slot)
    bid.prevRandao = derive('prev_randao', ROOT_BYTES)
    bid.feeRecipient = derive('fee_recipient', ADDRESS_BYTES)
    bid.gasLimit = BigInt(GAS_LIMIT)
    bid.builderIndex = block.proposerIndex
    bid.slot = slot
    if (parent) bid.blobKzgCommitments = blobCommitments(inputs)
    bid.executionRequestsRoot = ssz.gloas.ExecutionRequests.hashTreeRoot(ssz.gloas.ExecutionRequests.defaultValue())
  }
  // The genesis block is never signed (phase0 beacon-chain.md genesis): its signature stays zero.
  if (parent) signed.signature = DUMMY_SIGNATURE

  const root = types.BeaconBlock.hashTreeRoot(block as never)
  return { value: signed, root, ssz: types.SignedBeaconBlock.serialize(signed as never), blockNumber }
}

/**
 * The Gloas SignedExecutionPayloadEnvelope of the block built from `inputs`, whose root is `blockRoot`: the payload
 * its bid committed to (the same block hash, builder, randao and gas limit), its slot_number the block's slot.
 */
export function buildEnvelope(inputs: BlockInputs, blockRoot: Uint8Array): Uint8Array {
  const signed = ssz.gloas.SignedExecutionPayloadEnvelope.defaultValue()
  const envelope = signed.message
  fillPayload(envelope.payload, inputs, blockNumberOf(inputs))
  envelope.payload.slotNumber = inputs.slot
  envelope.builderIndex = proposerIndexOf(inputs)
  envelope.beaconBlockRoot = blockRoot
  envelope.parentBeaconBlockRoot = inputs.parent ? inputs.parent.root : new Uint8Array(ROOT_BYTES)
  signed.signature = DUMMY_SIGNATURE
  return ssz.gloas.SignedExecutionPayloadEnvelope.serialize(signed)
}

/** An execution payload of `inputs` (in a block before Gloas, in an envelope from it); returns its blob commitments. */
function fillPayload(
  payload: NonNullable<BodyFields['executionPayload']>,
  inputs: BlockInputs,
  blockNumber: number,
): Uint8Array[] | null {
  const { seed, slot, parent } = inputs
  const derive = (label: string, length: number) => seededBytes(seed, slot, label, length)
  payload.parentHash = parent ? executionBlockHash(seed, parent.slot) : new Uint8Array(ROOT_BYTES)
  payload.feeRecipient = derive('fee_recipient', ADDRESS_BYTES)
  payload.stateRoot = derive('execution_state_root', ROOT_BYTES)
  payload.receiptsRoot = derive('receipts_root', ROOT_BYTES)
  payload.prevRandao = derive('prev_randao', ROOT_BYTES)
  payload.blockNumber = blockNumber
  payload.gasLimit = GAS_LIMIT
  payload.timestamp = inputs.timestamp
  payload.extraData = EXTRA_DATA
  payload.baseFeePerGas = BASE_FEE_PER_GAS
  payload.blockHash = executionBlockHash(seed, slot)
  // The genesis block carries the execution genesis block: no transactions, no blobs.
  if (!parent) return null
  payload.transactions = splitTransactions(derive('transactions', inputs.payloadBytes))
  payload.gasUsed = Math.min(GAS_LIMIT, 21_000 * payload.transactions.length + 16 * inputs.payloadBytes)
  if (!(ForkSeq[inputs.fork ?? ForkName.fulu] >= ForkSeq.deneb)) return null
  payload.blobGasUsed = GAS_PER_BLOB * BigInt(inputs.blobCount)
  return blobCommitments(inputs)
}

/** The execution block number: the genesis block's 0, then its parent's + 1. */
function blockNumberOf(inputs: BlockInputs): number {
  return inputs.parent ? inputs.parent.blockNumber + 1 : 0
}

/** The block's proposer (and, in Gloas, its builder): drawn from (seed, slot); the genesis block's 0. */
function proposerIndexOf(inputs: BlockInputs): number {
  if (!inputs.parent) return 0
  return readU32(seededBytes(inputs.seed, inputs.slot, 'proposer_index', 4)) % PROPOSER_INDEX_RANGE
}

function blobCommitments(inputs: BlockInputs): Uint8Array[] {
  return chunk(seededBytes(inputs.seed, inputs.slot, 'blob_kzg_commitments', inputs.blobCount * KZG_BYTES), KZG_BYTES)
}

/** The body fields buildBlock sets; those after phase0 exist from their fork on. */
interface BodyFields {
  randaoReveal: Uint8Array
  graffiti: Uint8Array
  syncAggregate?: { syncCommitteeSignature: Uint8Array }
  executionPayload?: {
    parentHash: Uint8Array
    feeRecipient: Uint8Array
    stateRoot: Uint8Array
    receiptsRoot: Uint8Array
    prevRandao: Uint8Array
    blockNumber: number
    gasLimit: number
    gasUsed: number
    timestamp: number
    extraData: Uint8Array
    baseFeePerGas: bigint
    blockHash: Uint8Array
    transactions: Uint8Array[]
    blobGasUsed?: bigint
  }
  blobKzgCommitments?: Uint8Array[]
  signedExecutionPayloadBid?: {
    message: {
      parentBlockHash: Uint8Array
      parentBlockRoot: Uint8Array
      blockHash: Uint8Array
      prevRandao: Uint8Array
      feeRecipient: Uint8Array
      gasLimit: bigint
      builderIndex: number
      slot: number
      blobKzgCommitments: Uint8Array[]
      executionRequestsRoot: Uint8Array
    }
  }
}

/** Cut the bytes into transactions of MIN_TX_BYTES..MAX_TX_BYTES, sizes read from the bytes themselves. */
function splitTransactions(bytes: Uint8Array): Uint8Array[] {
  const txs: Uint8Array[] = []
  const span = MAX_TX_BYTES - MIN_TX_BYTES + 1
  let offset = 0
  while (offset < bytes.length) {
    const remaining = bytes.length - offset
    const want = remaining >= 2 ? MIN_TX_BYTES + ((bytes[offset]! | (bytes[offset + 1]! << 8)) % span) : remaining
    // A tail shorter than the smallest transaction joins the last one.
    const length = remaining - want < MIN_TX_BYTES ? remaining : want
    txs.push(bytes.subarray(offset, offset + length))
    offset += length
  }
  return txs
}

/** Consecutive `size`-byte views of `bytes`. */
export function chunk(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size))
  return out
}

function readU32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true)
}
