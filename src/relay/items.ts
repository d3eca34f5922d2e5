import { ContowerError } from '../errors.js'
import {
  BYTES_PER_CELL,
  type ForkName,
  KZG_COMMITMENT_INCLUSION_PROOF_DEPTH,
  KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH,
} from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { beaconBlockRoot, SIGNED_BLOCK_FIXED_BYTES } from '../chain/blockRoot.js'
import { verifyBlobInclusionProof, verifyCommitmentsInclusionProof } from '../chain/inclusionProof.js'
import type { ProtocolName } from '../reqresp/protocols.js'

/**
 * What the relay reads from a response item without decoding it whole: the slot (and column/blob index) sit at
 * fixed SSZ offsets, the block root is hashed on demand, a sidecar's proof checked on demand. Offsets follow the
 * containers of phase0…fulu; a fork that moves them (Gloas reshapes DataColumnSidecar) gets no slot here and
 * so only the generic checks.
 */
export interface ItemFacts {
  slot: number | null
  /** Column or blob index, for sidecars. */
  index: number | null
  /** The parent_root the item's block (or sidecar header) names: the previous block's root, read, not hashed. */
  parentRoot: Uint8Array
  /** hash_tree_root of the item's BeaconBlock (blocks) or BeaconBlockHeader (sidecars); computed on demand. */
  blockRoot(): Uint8Array
  /** Blocks: the BeaconBlock's bytes (the signed block's message), to hash elsewhere; sidecars: null. */
  blockMessage: Uint8Array | null
  /** Sidecars: the SSZ of the BeaconBlockHeader they carry (sidecars of one block carry the same); blocks: null. */
  header: Uint8Array | null
  /**
   * Sidecars: why the sidecar is malformed or its KZG commitments are not proven to be in the block body its
   * header names (inclusion proof), or null when it is sound. Blocks: null.
   */
  sidecarFault(): string | null
}

/** DataColumnSidecar (fulu): index u64, three list offsets, then SignedBeaconBlockHeader. */
const COLUMN_HEADER_OFFSET = 8 + 3 * 4
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

const PRE_GLOAS: ReadonlySet<string> = new Set(['phase0', 'altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu'])

export class ItemFormatError extends ContowerError<'ITEM_FORMAT'> {
  constructor(message: string) {
    super('ITEM_FORMAT', message)
  }
}

/** Where a protocol's items keep their facts: how many leading bytes are read, and the reading. */
interface ItemLayout {
  bytesRead: number
  facts(fork: ForkName, bytes: Uint8Array): ItemFacts
}

// Whole items: a block's root is hashed over the whole block (by root to match the request, by range to link it to
// the next), a sidecar's commitments (after its cells) are hashed for the inclusion proof.
const BLOCK: ItemLayout = { bytesRead: Infinity, facts: blockFacts }
const COLUMN: ItemLayout = {
  bytesRead: Infinity,
  facts: (fork, bytes) => sidecarFacts(bytes, COLUMN_HEADER_OFFSET, () => columnFault(fork, bytes)),
}
const BLOB: ItemLayout = {
  bytesRead: Infinity,
  facts: (fork, bytes) => sidecarFacts(bytes, BLOB_HEADER_OFFSET, () => blobFault(fork, bytes)),
}
const LAYOUTS: Partial<Record<ProtocolName, ItemLayout>> = {
  beacon_blocks_by_range: BLOCK,
  beacon_blocks_by_root: BLOCK,
  data_column_sidecars_by_range: COLUMN,
  data_column_sidecars_by_root: COLUMN,
  blob_sidecars_by_range: BLOB,
  blob_sidecars_by_root: BLOB,
}

/** Whether the items of `fork` have the containers these layouts (and lightClientProofs.ts) read: phase0…fulu. */
export function knowsLayouts(fork: ForkName): boolean {
  return PRE_GLOAS.has(fork)
}

/** Facts about one response item of `protocol`, or null when the protocol's items carry no slot (light client). */
export function itemFacts(protocol: ProtocolName, fork: ForkName, bytes: Uint8Array): ItemFacts | null {
  if (!knowsLayouts(fork)) return null
  return LAYOUTS[protocol]?.facts(fork, bytes) ?? null
}

/**
 * How many leading SSZ bytes of a `protocol` item itemFacts reads: the relay keeps no more of a payload it only
 * forwards (it still checks every frame).
 */
export function itemBytesRead(protocol: ProtocolName): number {
  return LAYOUTS[protocol]?.bytesRead ?? (LIGHT_CLIENT_PROTOCOLS.has(protocol) ? Infinity : 0)
}

function blockFacts(fork: ForkName, bytes: Uint8Array): ItemFacts {
  const offset = readU32(bytes, 0)
  if (offset !== SIGNED_BLOCK_FIXED_BYTES || bytes.length < offset + 8) {
    throw new ItemFormatError(`signed block message offset ${offset} of ${bytes.length} bytes`)
  }
  if (bytes.length < offset + PARENT_ROOT_END) throw new ItemFormatError(`block of ${bytes.length} bytes is too short`)
  return {
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
    slot: readU64(bytes, headerOffset),
    index: readU64(bytes, 0),
    parentRoot: bytes.subarray(headerOffset + PARENT_ROOT_START, headerOffset + PARENT_ROOT_END),
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
