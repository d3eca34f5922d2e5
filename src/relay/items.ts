import { ContowerError } from '../errors.js'
import {
  BYTES_PER_CELL,
  ForkName,
  ForkSeq,
  KZG_COMMITMENT_INCLUSION_PROOF_DEPTH,
  KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH,
} from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { beaconBlockRoot, SIGNED_BLOCK_FIXED_BYTES } from '../chain/blockRoot.js'
import { equalBytes } from '../chain/chainView.js'
import type { PayloadBid } from '../chain/payloadBids.js'
import { verifyBlobInclusionProof, verifyCommitmentsInclusionProof } from '../chain/inclusionProof.js'
import type { ProtocolName } from '../reqresp/protocols.js'

/**
 * What the relay reads from a response item without decoding it whole: the slot (and column/blob index) sit at
 * fixed SSZ offsets, the block root is hashed on demand, a sidecar's proof checked on demand. Offsets follow the
 * containers of phase0…gloas (Gloas reshapes DataColumnSidecar: its own layout); a later fork gets no slot here
 * and so only the generic checks.
 */
export interface ItemFacts {
  /** A block, a sidecar (column or blob), or a Gloas execution payload envelope. */
  kind: 'block' | 'sidecar' | 'envelope'
  slot: number | null
  /** Column or blob index, for sidecars. */
  index: number | null
  /** Blocks: the parent_root the block names, the previous block's root, read, not hashed. Sidecars: null. */
  parentRoot: Uint8Array | null
  /**
   * hash_tree_root of the item's BeaconBlock (blocks) or BeaconBlockHeader (sidecars), computed on demand; the
   * beacon_block_root a Gloas sidecar or a payload envelope names, read.
   */
  blockRoot(): Uint8Array
  /** Blocks: the BeaconBlock's bytes (the signed block's message), to hash elsewhere; sidecars: null. */
  blockMessage: Uint8Array | null
  /**
   * Sidecars: the bytes that name their block (sidecars of one block carry the same): the SSZ of their
   * BeaconBlockHeader, a Gloas sidecar's beacon_block_root. Blocks: null.
   */
  header: Uint8Array | null
  /**
   * Sidecars: why the sidecar is malformed or its KZG commitments are not proven to be in the block body its
   * header names (inclusion proof), or null when it is sound. Blocks and envelopes: null.
   */
  sidecarFault(): string | null
}

/** DataColumnSidecar (fulu): index u64, three list offsets, then SignedBeaconBlockHeader. */
const COLUMN_HEADER_OFFSET = 8 + 3 * 4
/** DataColumnSidecar (gloas p2p-interface.md): index u64, two list offsets (cells, proofs), slot u64, block root. */
const GLOAS_COLUMN_SLOT_OFFSET = 8 + 2 * 4
const GLOAS_COLUMN_ROOT_OFFSET = GLOAS_COLUMN_SLOT_OFFSET + 8
const GLOAS_COLUMN_FIXED_BYTES = GLOAS_COLUMN_ROOT_OFFSET + 32
/**
 * SignedExecutionPayloadEnvelope (gloas): the message's offset and a signature; the message (ExecutionPayloadEnvelope):
 * offsets of payload and execution_requests, builder_index, beacon_block_root, parent_beacon_block_root. The
 * payload's slot_number (EIP-7843) follows its 18 other fields' fixed parts.
 */
const SIGNED_ENVELOPE_FIXED_BYTES = 100
const ENVELOPE_BUILDER_OFFSET = 4 + 4
const ENVELOPE_ROOT_OFFSET = ENVELOPE_BUILDER_OFFSET + 8
const ENVELOPE_PARENT_ROOT_OFFSET = ENVELOPE_ROOT_OFFSET + 32
const ENVELOPE_FIXED_BYTES = ENVELOPE_PARENT_ROOT_OFFSET + 32
/** ExecutionPayload (gloas): parent_hash, fee_recipient, state_root, receipts_root, logs_bloom, then prev_randao… */
const PAYLOAD_PREV_RANDAO_OFFSET = 32 + 20 + 32 + 32 + 256
const PAYLOAD_GAS_LIMIT_OFFSET = PAYLOAD_PREV_RANDAO_OFFSET + 32 + 8
/** …gas_used, timestamp, extra_data's offset, base_fee_per_gas, then block_hash… */
const PAYLOAD_BLOCK_HASH_OFFSET = PAYLOAD_GAS_LIMIT_OFFSET + 8 + 8 + 8 + 4 + 32
/** …transactions' and withdrawals' offsets, blob_gas_used, excess_blob_gas, block_access_list's offset, slot_number. */
const PAYLOAD_SLOT_NUMBER_OFFSET = PAYLOAD_BLOCK_HASH_OFFSET + 32 + 4 + 4 + 8 + 8 + 4
/** BlobSidecar (deneb): index u64, blob (131072), commitment (48), proof (48), then SignedBeaconBlockHeader. */
const BLOB_HEADER_OFFSET = 8 + 131_072 + 48 + 48
/** BeaconBlockHeader: slot, proposer_index, parent_root, state_root, body_root. */
const BLOCK_HEADER_BYTES = 8 + 8 + 32 + 32 + 32
const BODY_ROOT_START = 8 + 8 + 32 + 32
/** SignedBeaconBlockHeader: the header and a BLS signature. */
const SIGNED_HEADER_BYTES = BLOCK_HEADER_BYTES + 96
const KZG_BYTES = 48
const ROOT_BYTES = 32
/** DataColumnSidecar: after the signed header, the commitments' inclusion proof, then the three lists. */
const COLUMN_PROOF_OFFSET = COLUMN_HEADER_OFFSET + SIGNED_HEADER_BYTES
const COLUMN_FIXED_BYTES = COLUMN_PROOF_OFFSET + KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH * ROOT_BYTES
const BLOB_COMMITMENT_OFFSET = 8 + 131_072
const BLOB_PROOF_OFFSET = BLOB_HEADER_OFFSET + SIGNED_HEADER_BYTES
const BLOB_SIDECAR_BYTES = BLOB_PROOF_OFFSET + KZG_COMMITMENT_INCLUSION_PROOF_DEPTH * ROOT_BYTES
/** BeaconBlock and BeaconBlockHeader both start slot (8), proposer_index (8), parent_root (32). */
const PARENT_ROOT_START = 16
const PARENT_ROOT_END = 48

/** Their items are read whole and checked by lightClientItems.ts, not by the layouts below. */
export const LIGHT_CLIENT_PROTOCOLS: ReadonlySet<ProtocolName> = new Set<ProtocolName>([
  'light_client_bootstrap',
  'light_client_updates_by_range',
  'light_client_finality_update',
  'light_client_optimistic_update',
])

export class ItemFormatError extends ContowerError<'ITEM_FORMAT'> {
  constructor(message: string) {
    super('ITEM_FORMAT', message)
  }
}

/** Where a protocol's items of a fork keep their facts (each item is read whole: see itemBytesRead). */
type ItemLayout = (fork: ForkName, bytes: Uint8Array) => ItemFacts

// A block's root is hashed over the whole block (by root to match the request, by range to link it to the next), a
// Fulu or Deneb sidecar's commitments (after its cells) are hashed for the inclusion proof.
const BLOCK: ItemLayout = blockFacts
const COLUMN: ItemLayout = (fork, bytes) => sidecarFacts(bytes, COLUMN_HEADER_OFFSET, () => columnFault(fork, bytes))
const GLOAS_COLUMN: ItemLayout = (_fork, bytes) => gloasColumnFacts(bytes)
const BLOB: ItemLayout = (fork, bytes) => sidecarFacts(bytes, BLOB_HEADER_OFFSET, () => blobFault(fork, bytes))
const ENVELOPE: ItemLayout = (_fork, bytes) => envelopeFacts(bytes)

/** The forks whose containers these layouts know, in order: phase0…gloas. */
const KNOWN_FORKS: readonly ForkName[] = Object.values(ForkName)
  .filter((fork) => ForkSeq[fork] <= ForkSeq.gloas)
  .sort((a, b) => ForkSeq[a] - ForkSeq[b])

/** Layouts by fork: each from its fork until the next entry's (or the last known fork). */
function byFork(from: [ForkName, ItemLayout][]): Partial<Record<ForkName, ItemLayout>> {
  const out: Partial<Record<ForkName, ItemLayout>> = {}
  let layout: ItemLayout | undefined
  for (const fork of KNOWN_FORKS) {
    layout = from.find(([f]) => f === fork)?.[1] ?? layout
    if (layout) out[fork] = layout
  }
  return out
}

/** Each protocol's layouts from the fork that introduced them; a fork after the last one known has none. */
const LAYOUTS: Partial<Record<ProtocolName, Partial<Record<ForkName, ItemLayout>>>> = {
  beacon_blocks_by_range: byFork([[ForkName.phase0, BLOCK]]),
  beacon_blocks_by_root: byFork([[ForkName.phase0, BLOCK]]),
  data_column_sidecars_by_range: byFork([
    [ForkName.fulu, COLUMN],
    [ForkName.gloas, GLOAS_COLUMN],
  ]),
  data_column_sidecars_by_root: byFork([
    [ForkName.fulu, COLUMN],
    [ForkName.gloas, GLOAS_COLUMN],
  ]),
  blob_sidecars_by_range: byFork([[ForkName.deneb, BLOB]]),
  blob_sidecars_by_root: byFork([[ForkName.deneb, BLOB]]),
  execution_payload_envelopes_by_range: byFork([[ForkName.gloas, ENVELOPE]]),
  execution_payload_envelopes_by_root: byFork([[ForkName.gloas, ENVELOPE]]),
}

/** Facts about one response item of `protocol`, or null when the protocol's items carry no slot (light client). */
export function itemFacts(protocol: ProtocolName, fork: ForkName, bytes: Uint8Array): ItemFacts | null {
  return LAYOUTS[protocol]?.[fork]?.(fork, bytes) ?? null
}

/**
 * How many leading SSZ bytes of a `protocol` item itemFacts reads: the relay keeps no more of a payload it only
 * forwards (it still checks every frame).
 */
export function itemBytesRead(protocol: ProtocolName): number {
  return LAYOUTS[protocol] || LIGHT_CLIENT_PROTOCOLS.has(protocol) ? Infinity : 0
}

function blockFacts(fork: ForkName, bytes: Uint8Array): ItemFacts {
  const offset = readU32(bytes, 0)
  if (offset !== SIGNED_BLOCK_FIXED_BYTES || bytes.length < offset + 8) {
    throw new ItemFormatError(`signed block message offset ${offset} of ${bytes.length} bytes`)
  }
  if (bytes.length < offset + PARENT_ROOT_END) throw new ItemFormatError(`block of ${bytes.length} bytes is too short`)
  return {
    kind: 'block',
    slot: readU64(bytes, offset),
    index: null,
    parentRoot: bytes.subarray(offset + PARENT_ROOT_START, offset + PARENT_ROOT_END),
    header: null,
    sidecarFault: () => null,
    blockMessage: bytes.subarray(offset),
    blockRoot: () => {
      try {
        return beaconBlockRoot(fork, bytes.subarray(offset))
      } catch (e) {
        throw new ItemFormatError(`block does not decode: ${(e as Error).message}`)
      }
    },
  }
}

function sidecarFacts(bytes: Uint8Array, headerOffset: number, fault: () => string | null): ItemFacts {
  if (bytes.length < headerOffset + BLOCK_HEADER_BYTES) {
    throw new ItemFormatError(`sidecar of ${bytes.length} bytes has no block header`)
  }
  return {
    kind: 'sidecar',
    slot: readU64(bytes, headerOffset),
    index: readU64(bytes, 0),
    parentRoot: null,
    header: bytes.subarray(headerOffset, headerOffset + BLOCK_HEADER_BYTES),
    sidecarFault: fault,
    blockMessage: null,
    blockRoot: () => {
      const header = bytes.subarray(headerOffset, headerOffset + BLOCK_HEADER_BYTES)
      return ssz.phase0.BeaconBlockHeader.hashTreeRoot(ssz.phase0.BeaconBlockHeader.deserialize(header))
    },
  }
}

/**
 * A Gloas sidecar names its block by root and slot, and carries no header or commitments (they are in the block's
 * bid): gloas verify_data_column_sidecar's checks that need no block (a column, one proof per cell).
 */
function gloasColumnFacts(bytes: Uint8Array): ItemFacts {
  if (bytes.length < GLOAS_COLUMN_FIXED_BYTES) throw new ItemFormatError(`sidecar of ${bytes.length} bytes`)
  const blockRoot = bytes.subarray(GLOAS_COLUMN_ROOT_OFFSET, GLOAS_COLUMN_FIXED_BYTES)
  return {
    kind: 'sidecar',
    slot: readU64(bytes, GLOAS_COLUMN_SLOT_OFFSET),
    index: readU64(bytes, 0),
    parentRoot: null,
    header: blockRoot,
    blockMessage: null,
    blockRoot: () => blockRoot,
    sidecarFault: () => gloasColumnFault(bytes),
  }
}

/**
 * An envelope names its block by root; its slot is the payload's slot_number (EIP-7843), which the block's state
 * transition holds to the block's slot. Nothing more is read: the payload's content is bound to the block only by
 * the builder's signature and the execution block hash, neither of which Contower can check.
 */
function envelopeFacts(bytes: Uint8Array): ItemFacts {
  const message = readU32(bytes, 0)
  if (message !== SIGNED_ENVELOPE_FIXED_BYTES || bytes.length < message + ENVELOPE_FIXED_BYTES) {
    throw new ItemFormatError(`signed envelope message offset ${message} of ${bytes.length} bytes`)
  }
  const payload = message + readU32(bytes, message)
  if (payload !== message + ENVELOPE_FIXED_BYTES || bytes.length < payload + PAYLOAD_SLOT_NUMBER_OFFSET + 8) {
    throw new ItemFormatError(`envelope payload offset ${payload - message} of ${bytes.length} bytes`)
  }
  const blockRoot = bytes.subarray(message + ENVELOPE_ROOT_OFFSET, message + ENVELOPE_ROOT_OFFSET + 32)
  return {
    kind: 'envelope',
    slot: readU64(bytes, payload + PAYLOAD_SLOT_NUMBER_OFFSET),
    index: null,
    parentRoot: null,
    header: null,
    blockMessage: null,
    blockRoot: () => blockRoot,
    sidecarFault: () => null,
  }
}

/**
 * Why an envelope (bytes whose facts were read: offsets checked) is not the one its block's bid committed to, or null:
 * gloas fork-choice.md verify_execution_payload_envelope's comparisons with the block, in its order.
 */
export function envelopeBidFault(bytes: Uint8Array, bid: PayloadBid): string | null {
  const message = SIGNED_ENVELOPE_FIXED_BYTES
  const payload = message + readU32(bytes, message)
  const requests = message + readU32(bytes, message + 4)
  const at = (offset: number, length: number) => bytes.subarray(offset, offset + length)
  if (!equalBytes(at(message + ENVELOPE_PARENT_ROOT_OFFSET, 32), bid.parentRoot)) return 'parent_beacon_block_root'
  if (readU64(bytes, message + ENVELOPE_BUILDER_OFFSET) !== bid.builderIndex) return 'builder_index'
  if (!equalBytes(at(payload + PAYLOAD_PREV_RANDAO_OFFSET, 32), bid.prevRandao)) return 'prev_randao'
  const gasLimit = new DataView(bytes.buffer, bytes.byteOffset + payload + PAYLOAD_GAS_LIMIT_OFFSET, 8)
  if (gasLimit.getBigUint64(0, true) !== bid.gasLimit) return 'gas_limit'
  if (!equalBytes(at(payload + PAYLOAD_BLOCK_HASH_OFFSET, 32), bid.blockHash)) return 'block_hash'
  if (requests < payload || requests > bytes.length) return 'execution_requests offset'
  let requestsRoot: Uint8Array
  try {
    const type = ssz.gloas.ExecutionRequests
    requestsRoot = type.hashTreeRoot(type.deserialize(bytes.subarray(requests)))
  } catch {
    return 'execution_requests do not decode'
  }
  if (!equalBytes(requestsRoot, bid.executionRequestsRoot)) return 'execution_requests root'
  if (readU64(bytes, payload + PAYLOAD_SLOT_NUMBER_OFFSET) !== bid.slot) return 'slot_number'
  return null
}

function gloasColumnFault(bytes: Uint8Array): string | null {
  const cellsAt = readU32(bytes, 8)
  const proofsAt = readU32(bytes, 12)
  if (cellsAt !== GLOAS_COLUMN_FIXED_BYTES || proofsAt < cellsAt || bytes.length < proofsAt) {
    return `list offsets ${cellsAt}, ${proofsAt} of ${bytes.length} bytes`
  }
  const cells = (proofsAt - cellsAt) / BYTES_PER_CELL
  if (!Number.isInteger(cells) || cells === 0) return `cells of ${proofsAt - cellsAt} bytes`
  if ((bytes.length - proofsAt) / KZG_BYTES !== cells) return `proofs are not one per cell (${cells})`
  return null
}

/**
 * fulu verify_data_column_sidecar (the lists' lengths) and verify_data_column_sidecar_inclusion_proof, read off the
 * bytes: the offsets give the lists, only the commitments are hashed.
 */
function columnFault(fork: ForkName, bytes: Uint8Array): string | null {
  if (bytes.length < COLUMN_FIXED_BYTES) return `sidecar of ${bytes.length} bytes`
  const cellsAt = readU32(bytes, 8)
  const commitmentsAt = readU32(bytes, 12)
  const proofsAt = readU32(bytes, 16)
  if (
    cellsAt !== COLUMN_FIXED_BYTES ||
    commitmentsAt < cellsAt ||
    proofsAt < commitmentsAt ||
    bytes.length < proofsAt
  ) {
    return `list offsets ${cellsAt}, ${commitmentsAt}, ${proofsAt} of ${bytes.length} bytes`
  }
  const blobs = (proofsAt - commitmentsAt) / KZG_BYTES
  if (!Number.isInteger(blobs) || blobs === 0) return `commitments of ${proofsAt - commitmentsAt} bytes`
  if ((commitmentsAt - cellsAt) / BYTES_PER_CELL !== blobs || (bytes.length - proofsAt) / KZG_BYTES !== blobs) {
    return `cells and proofs are not one per commitment (${blobs})`
  }
  const commitments = slices(bytes, commitmentsAt, blobs, KZG_BYTES)
  const proof = slices(bytes, COLUMN_PROOF_OFFSET, KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH, ROOT_BYTES)
  const bodyRoot = bytes.subarray(COLUMN_HEADER_OFFSET + BODY_ROOT_START, COLUMN_HEADER_OFFSET + BLOCK_HEADER_BYTES)
  return verifyCommitmentsInclusionProof(fork, commitments, proof, bodyRoot) ? null : 'inclusion proof'
}

/** deneb verify_blob_sidecar_inclusion_proof, read off the bytes (a BlobSidecar has a fixed size). */
function blobFault(fork: ForkName, bytes: Uint8Array): string | null {
  if (bytes.length !== BLOB_SIDECAR_BYTES) return `blob sidecar of ${bytes.length} bytes`
  const commitment = bytes.subarray(BLOB_COMMITMENT_OFFSET, BLOB_COMMITMENT_OFFSET + KZG_BYTES)
  const proof = slices(bytes, BLOB_PROOF_OFFSET, KZG_COMMITMENT_INCLUSION_PROOF_DEPTH, ROOT_BYTES)
  const bodyRoot = bytes.subarray(BLOB_HEADER_OFFSET + BODY_ROOT_START, BLOB_HEADER_OFFSET + BLOCK_HEADER_BYTES)
  return verifyBlobInclusionProof(fork, readU64(bytes, 0), commitment, proof, bodyRoot) ? null : 'inclusion proof'
}

function slices(bytes: Uint8Array, at: number, count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => bytes.subarray(at + i * size, at + (i + 1) * size))
}

function readU32(bytes: Uint8Array, at: number): number {
  if (bytes.length < at + 4) throw new ItemFormatError(`item of ${bytes.length} bytes is too short`)
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true)
}

/** Slots and indices beyond 2^53 are not real: treated as format errors rather than silently rounded. */
function readU64(bytes: Uint8Array, at: number): number {
  const value = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ItemFormatError(`u64 ${value} out of range`)
  return Number(value)
}
