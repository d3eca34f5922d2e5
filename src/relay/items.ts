import type { ForkName } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import type { ProtocolName } from '../reqresp/protocols.js'

/**
 * What the relay reads from a response item without decoding it whole: the slot (and column/blob index) sit at
 * fixed SSZ offsets, the block root is hashed only when a by-root request needs it. Offsets follow the
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
}

/** SignedBeaconBlock = { message: offset (4), signature (96) }: the message starts at the offset. */
const SIGNED_BLOCK_FIXED_BYTES = 100
/** DataColumnSidecar (fulu): index u64, three list offsets, then SignedBeaconBlockHeader. */
const COLUMN_HEADER_OFFSET = 8 + 3 * 4
/** BlobSidecar (deneb): index u64, blob (131072), commitment (48), proof (48), then SignedBeaconBlockHeader. */
const BLOB_HEADER_OFFSET = 8 + 131_072 + 48 + 48
/** BeaconBlockHeader: slot, proposer_index, parent_root, state_root, body_root. */
const BLOCK_HEADER_BYTES = 8 + 8 + 32 + 32 + 32
/** BeaconBlock and BeaconBlockHeader both start slot (8), proposer_index (8), parent_root (32). */
const PARENT_ROOT_START = 16
const PARENT_ROOT_END = 48

const PRE_GLOAS: ReadonlySet<string> = new Set(['phase0', 'altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu'])

export class ItemFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ItemFormatError'
  }
}

/** Where a protocol's items keep their facts: how many leading bytes are read, and the reading. */
interface ItemLayout {
  bytesRead: number
  facts(fork: ForkName, bytes: Uint8Array): ItemFacts
}

const BLOCK: ItemLayout = { bytesRead: SIGNED_BLOCK_FIXED_BYTES + PARENT_ROOT_END, facts: blockFacts }
const COLUMN: ItemLayout = {
  bytesRead: COLUMN_HEADER_OFFSET + BLOCK_HEADER_BYTES,
  facts: (_fork, bytes) => sidecarFacts(bytes, COLUMN_HEADER_OFFSET),
}
const BLOB: ItemLayout = {
  bytesRead: BLOB_HEADER_OFFSET + BLOCK_HEADER_BYTES,
  facts: (_fork, bytes) => sidecarFacts(bytes, BLOB_HEADER_OFFSET),
}
const LAYOUTS: Partial<Record<ProtocolName, ItemLayout>> = {
  beacon_blocks_by_range: BLOCK,
  // A by-root block's root is hashed over the whole block.
  beacon_blocks_by_root: { ...BLOCK, bytesRead: Infinity },
  data_column_sidecars_by_range: COLUMN,
  data_column_sidecars_by_root: COLUMN,
  blob_sidecars_by_range: BLOB,
  blob_sidecars_by_root: BLOB,
}

/** Facts about one response item of `protocol`, or null when the protocol's items carry no slot (light client). */
export function itemFacts(protocol: ProtocolName, fork: ForkName, bytes: Uint8Array): ItemFacts | null {
  if (!PRE_GLOAS.has(fork)) return null
  return LAYOUTS[protocol]?.facts(fork, bytes) ?? null
}

/**
 * How many leading SSZ bytes of a `protocol` item itemFacts reads: the relay keeps no more of a payload it only
 * forwards (it still checks every frame).
 */
export function itemBytesRead(protocol: ProtocolName): number {
  return LAYOUTS[protocol]?.bytesRead ?? 0
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
    blockRoot: () => {
      const type = sszTypesFor(fork).BeaconBlock
      let message
      try {
        message = type.deserialize(bytes.subarray(offset))
      } catch (e) {
        throw new ItemFormatError(`block does not decode: ${(e as Error).message}`)
      }
      return type.hashTreeRoot(message)
    },
  }
}

function sidecarFacts(bytes: Uint8Array, headerOffset: number): ItemFacts {
  if (bytes.length < headerOffset + BLOCK_HEADER_BYTES) {
    throw new ItemFormatError(`sidecar of ${bytes.length} bytes has no block header`)
  }
  return {
    slot: readU64(bytes, headerOffset),
    index: readU64(bytes, 0),
    parentRoot: bytes.subarray(headerOffset + PARENT_ROOT_START, headerOffset + PARENT_ROOT_END),
    blockRoot: () => {
      const header = bytes.subarray(headerOffset, headerOffset + BLOCK_HEADER_BYTES)
      return ssz.phase0.BeaconBlockHeader.hashTreeRoot(ssz.phase0.BeaconBlockHeader.deserialize(header))
    },
  }
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
