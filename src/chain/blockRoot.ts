/**
 * hash_tree_root of a BeaconBlock from its SSZ bytes, without building a tree. The library's value hashing spends
 * almost all of its time on the execution payload's transactions: each is a ByteList of 2^25 chunks' capacity, so
 * its root climbs 25 levels, one native call per level per transaction (~300 ms for 64 blocks of 150 transactions).
 * Here every transaction of the block climbs together, one native call per level for all of them.
 */
import { hasher } from '@chainsafe/persistent-merkle-tree'
import { ContainerType } from '@chainsafe/ssz'
import type { ForkName } from '@lodestar/params'
import { sszTypesFor } from '@lodestar/types'

const CHUNK = 32

/** A SignedBeaconBlock's fixed part: the message's offset (4 bytes) and the signature (96). */
export const SIGNED_BLOCK_FIXED_BYTES = 100

/** Zero subtree roots: ZERO[i] is the root of 2^i zero chunks. */
const ZERO: Uint8Array[] = [new Uint8Array(CHUNK)]
for (let i = 1; i <= 64; i++) ZERO.push(hasher.digest64(ZERO[i - 1], ZERO[i - 1]))
/** The same as 32-bit words in memory order, for merkleize's copy loop. */
const ZERO_WORDS = ZERO.map((z) => new Uint32Array(z.slice().buffer))

/** The consensus limits of an execution payload's transactions list (bellatrix and later). */
const MAX_TRANSACTIONS_PER_PAYLOAD = 2 ** 20
const MAX_BYTES_PER_TRANSACTION = 2 ** 30

interface ByteRange {
  start: number
  end: number
}
interface FieldEntry {
  fieldName: string
  fieldType: { hashTreeRoot(value: unknown): Uint8Array; deserialize(bytes: Uint8Array): unknown }
}
interface Container {
  fieldsEntries: FieldEntry[]
  /** Each field's byte range, offsets checked (the library's own step of deserialize). */
  getFieldRanges(data: DataView, start: number, end: number): ByteRange[]
}

/** The root of a fork's BeaconBlock given as SSZ bytes (throws what the library's deserialize throws). */
export function beaconBlockRoot(fork: ForkName, bytes: Uint8Array): Uint8Array {
  return containerRoot(sszTypesFor(fork).BeaconBlock as unknown as Container, bytes)
}

/**
 * Container roots are merkleized by hand down to the transactions, read in place from the block's bytes; every
 * other field is deserialized and hashed by the library (small: deserializing the whole block copied each
 * transaction, and those copies' garbage cost more than the hashing).
 */
function containerRoot(type: Container, bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ranges = type.getFieldRanges(view, 0, bytes.length)
  const roots = new Uint8Array(type.fieldsEntries.length * CHUNK)
  type.fieldsEntries.forEach(({ fieldName, fieldType }, i) => {
    const field = bytes.subarray(ranges[i].start, ranges[i].end)
    if (fieldName === 'transactions') roots.set(transactionsRoot(transactionsIn(field)), i * CHUNK)
    // Only a classic container's root is merkleized here; Gloas' progressive body (no transactions) is the library's.
    else if ((fieldName === 'body' || fieldName === 'executionPayload') && fieldType instanceof ContainerType) {
      roots.set(containerRoot(fieldType as unknown as Container, field), i * CHUNK)
    } else roots.set(fieldType.hashTreeRoot(fieldType.deserialize(field)), i * CHUNK)
  })
  return merkleize([roots], depthFor(type.fieldsEntries.length))[0]
}

/** The transactions of a serialized List[ByteList[2^30], 2^20], as views into its bytes; offsets checked. */
function transactionsIn(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length === 0) return []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const first = bytes.length >= 4 ? view.getUint32(0, true) : 0
  if (first === 0 || first % 4 !== 0 || first > bytes.length || first / 4 > MAX_TRANSACTIONS_PER_PAYLOAD) {
    throw new Error(`transactions: first offset ${first} in ${bytes.length} bytes`)
  }
  const count = first / 4
  const txs: Uint8Array[] = []
  for (let i = 0, start = first; i < count; i++) {
    const end = i + 1 < count ? view.getUint32((i + 1) * 4, true) : bytes.length
    if (end < start || end > bytes.length || end - start > MAX_BYTES_PER_TRANSACTION) {
      throw new Error(`transactions: offset ${end} after ${start} in ${bytes.length} bytes`)
    }
    txs.push(bytes.subarray(start, end))
    start = end
  }
  return txs
}

/** Transactions: List[ByteList[2^30], 2^20]; each transaction's root and the list's carry their length. */
function transactionsRoot(txs: Uint8Array[]): Uint8Array {
  const txRoots = merkleize(txs, 25) // 2^30 bytes = 2^25 chunks
  const mixed = mixInLengths(
    txRoots,
    txs.map((tx) => tx.length),
  )
  return mixInLengths(merkleize([mixed], 20), [txs.length])
}

function depthFor(chunks: number): number {
  return chunks <= 1 ? 0 : Math.ceil(Math.log2(chunks))
}

/**
 * Two scratch buffers the levels alternate between, kept from call to call: allocating (and zeroing) fresh buffers
 * per level made the collector's work larger than the hashing. One grown past SCRATCH_KEEP_BYTES by an unusually
 * large block is dropped after that call, so an idle relay does not hold it.
 */
const SCRATCH_KEEP_BYTES = 1 << 20
const scratch: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)]

function scratchBytes(which: 0 | 1, bytes: number): Uint8Array {
  if (scratch[which].length < bytes) scratch[which] = new Uint8Array(Math.max(bytes, scratch[which].length * 2))
  return scratch[which].subarray(0, bytes)
}

function trimScratch(): void {
  for (const which of [0, 1] as const)
    if (scratch[which].length > SCRATCH_KEEP_BYTES) scratch[which] = new Uint8Array(0)
}

/**
 * The roots of several trees of `depth` levels, each given as its leaf bytes (zero-padded to whole chunks), all
 * climbing one level per hasher call. The trees lie side by side in one buffer, each padded to an even number of
 * nodes with the zero subtree of its level, and are moved between levels by a copy loop: a typed-array view per
 * tree and level (a block's ~150 transactions, 25 levels) cost several times the hashing itself.
 */
function merkleize(leaves: Uint8Array[], depth: number): Uint8Array[] {
  if (depth === 0) return leaves.map((bytes) => Uint8Array.from({ length: CHUNK }, (_, i) => bytes[i] ?? 0)) // one chunk each
  let counts = leaves.map((bytes) => Math.max(1, Math.ceil(bytes.length / CHUNK))) // nodes per tree at this level
  let input = scratchBytes(0, evenNodes(counts) * CHUNK)
  let at = 0
  leaves.forEach((bytes, i) => {
    const end = at + (counts[i] + (counts[i] & 1)) * CHUNK
    input.set(bytes, at)
    input.fill(0, at + bytes.length, end) // level 0's zero subtree is a zero chunk
    at = end
  })
  for (let level = 0; ; level++) {
    const output = scratchBytes(1, input.length / 2)
    hasher.hashInto(input, output)
    counts = counts.map((c) => (c + 1) >> 1)
    if (level + 1 === depth) {
      const roots = rootsOf(output, counts)
      trimScratch()
      return roots
    }
    input = relayout(output, counts, ZERO_WORDS[level + 1])
  }
}

/** Nodes of all trees with each tree padded to an even count. */
function evenNodes(counts: number[]): number {
  let n = 0
  for (const c of counts) n += c + (c & 1)
  return n
}

/** Trees of more nodes than this move by one native copy; fewer, by the word loop (a call costs more there). */
const COPY_LOOP_MAX_WORDS = 64

/**
 * The next level's input, in the other scratch buffer: each tree's nodes from `packed` (side by side), an odd count
 * completed by `zero`. A tree of one node, which is most of them (a transaction reaches its root after a few levels
 * and climbs the rest beside zeros), is copied by straight-line code: as two loops its copies took almost half as long
 * as hashing the whole block (`npm run bench:roots`).
 */
function relayout(packed: Uint8Array, counts: number[], zero: Uint32Array): Uint8Array {
  const out = scratchBytes(0, evenNodes(counts) * CHUNK)
  const from = new Uint32Array(packed.buffer, packed.byteOffset, packed.byteLength / 4)
  const to = new Uint32Array(out.buffer, out.byteOffset, out.byteLength / 4)
  const z0 = zero[0]
  const z1 = zero[1]
  const z2 = zero[2]
  const z3 = zero[3]
  const z4 = zero[4]
  const z5 = zero[5]
  const z6 = zero[6]
  const z7 = zero[7]
  let src = 0
  let dst = 0
  for (const c of counts) {
    if (c === 1) {
      to[dst] = from[src]
      to[dst + 1] = from[src + 1]
      to[dst + 2] = from[src + 2]
      to[dst + 3] = from[src + 3]
      to[dst + 4] = from[src + 4]
      to[dst + 5] = from[src + 5]
      to[dst + 6] = from[src + 6]
      to[dst + 7] = from[src + 7]
      to[dst + 8] = z0
      to[dst + 9] = z1
      to[dst + 10] = z2
      to[dst + 11] = z3
      to[dst + 12] = z4
      to[dst + 13] = z5
      to[dst + 14] = z6
      to[dst + 15] = z7
      src += 8
      dst += 16
      continue
    }
    const words = c * 8
    if (words > COPY_LOOP_MAX_WORDS) to.set(from.subarray(src, src + words), dst)
    else for (let w = 0; w < words; w++) to[dst + w] = from[src + w]
    src += words
    dst += words
    if (c & 1) {
      for (let w = 0; w < 8; w++) to[dst + w] = zero[w]
      dst += 8
    }
  }
  return out
}

/** Each tree's first node in `packed` (side by side, one or more nodes each): its root at the top level. */
function rootsOf(packed: Uint8Array, counts: number[]): Uint8Array[] {
  const roots: Uint8Array[] = []
  let at = 0
  for (const c of counts) {
    roots.push(packed.slice(at, at + CHUNK))
    at += c * CHUNK
  }
  return roots
}

/** hash(root ‖ uint256(length)) for each root, in one hasher call: the results side by side. */
function mixInLengths(roots: Uint8Array[], lengths: number[]): Uint8Array {
  const input = new Uint8Array(roots.length * 2 * CHUNK)
  const view = new DataView(input.buffer)
  roots.forEach((root, i) => {
    input.set(root, i * 2 * CHUNK)
    view.setUint32(i * 2 * CHUNK + CHUNK, lengths[i] >>> 0, true)
    view.setUint32(i * 2 * CHUNK + CHUNK + 4, Math.floor(lengths[i] / 2 ** 32), true)
  })
  const output = new Uint8Array(roots.length * CHUNK)
  if (roots.length > 0) hasher.hashInto(input, output)
  return output
}
