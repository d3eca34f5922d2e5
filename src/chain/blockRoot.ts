/**
 * hash_tree_root of a BeaconBlock from its SSZ bytes, without building a tree. The library's value hashing spends
 * almost all of its time on the execution payload's transactions: each is a ByteList of 2^25 chunks' capacity, so
 * its root climbs 25 levels, one native call per level per transaction (~300 ms for 64 blocks of 150 transactions).
 * Here every transaction of the block climbs together, one native call per level for all of them.
 */
import { hasher } from '@chainsafe/persistent-merkle-tree'
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

interface FieldEntry {
  fieldName: string
  fieldType: { hashTreeRoot(value: unknown): Uint8Array; fieldsEntries?: FieldEntry[] }
}
interface Container {
  fieldsEntries: FieldEntry[]
  hashTreeRoot(value: unknown): Uint8Array
  deserialize(bytes: Uint8Array): unknown
}

/** The root of a fork's BeaconBlock given as SSZ bytes (throws what the library's deserialize throws). */
export function beaconBlockRoot(fork: ForkName, bytes: Uint8Array): Uint8Array {
  const type = sszTypesFor(fork).BeaconBlock as unknown as Container
  return containerRoot(type, type.deserialize(bytes) as Record<string, unknown>)
}

/** Container roots are merkleized by hand down to the transactions; every other field the library hashes. */
function containerRoot(type: Container, value: Record<string, unknown>): Uint8Array {
  const roots = type.fieldsEntries.map(({ fieldName, fieldType }) => {
    const field = value[fieldName]
    if (fieldName === 'transactions') return transactionsRoot(field as Uint8Array[])
    if (fieldName === 'body' || fieldName === 'executionPayload') {
      return containerRoot(fieldType as unknown as Container, field as Record<string, unknown>)
    }
    return fieldType.hashTreeRoot(field)
  })
  return merkleize([concat(roots)], depthFor(roots.length))[0]
}

/** Transactions: List[ByteList[2^30], 2^20]; each transaction's root and the list's carry their length. */
function transactionsRoot(txs: Uint8Array[]): Uint8Array {
  const txRoots = merkleize(txs, 25) // 2^30 bytes = 2^25 chunks
  const mixed = mixInLengths(
    txRoots,
    txs.map((tx) => tx.length),
  )
  return mixInLengths(merkleize([concat(mixed)], 20), [txs.length])[0]
}

function depthFor(chunks: number): number {
  return chunks <= 1 ? 0 : Math.ceil(Math.log2(chunks))
}

/**
 * The roots of several trees of `depth` levels, each given as its leaf bytes (zero-padded to whole chunks), all
 * climbing one level per hasher call. The trees lie side by side in one buffer, each padded to an even number of
 * nodes with the zero subtree of its level, and are moved between levels by a word loop: a typed-array view per
 * tree and level (a block's ~150 transactions, 25 levels) cost several times the hashing itself.
 */
function merkleize(leaves: Uint8Array[], depth: number): Uint8Array[] {
  if (depth === 0) return leaves.map((bytes) => Uint8Array.from({ length: CHUNK }, (_, i) => bytes[i] ?? 0)) // one chunk each
  let counts = leaves.map((bytes) => Math.max(1, Math.ceil(bytes.length / CHUNK))) // nodes per tree at this level
  let input: Uint8Array = new Uint8Array(evenNodes(counts) * CHUNK) // level 0's zero chunk is zeros already
  let at = 0
  leaves.forEach((bytes, i) => {
    input.set(bytes, at)
    at += (counts[i] + (counts[i] & 1)) * CHUNK
  })
  for (let level = 0; ; level++) {
    const output = new Uint8Array(input.length / 2)
    hasher.hashInto(input, output)
    counts = counts.map((c) => (c + 1) >> 1)
    if (level + 1 === depth) return rootsOf(output, counts)
    input = relayout(output, counts, ZERO_WORDS[level + 1])
  }
}

/** Nodes of all trees with each tree padded to an even count. */
function evenNodes(counts: number[]): number {
  let n = 0
  for (const c of counts) n += c + (c & 1)
  return n
}

/** The next level's input: each tree's nodes from `packed` (side by side), an odd count completed by `zero`. */
function relayout(packed: Uint8Array, counts: number[], zero: Uint32Array): Uint8Array {
  const from = new Uint32Array(packed.buffer, packed.byteOffset, packed.byteLength / 4)
  const to = new Uint32Array(evenNodes(counts) * 8)
  let src = 0
  let dst = 0
  for (const c of counts) {
    const words = c * 8
    for (let w = 0; w < words; w++) to[dst + w] = from[src + w]
    src += words
    dst += words
    if (c & 1) {
      for (let w = 0; w < 8; w++) to[dst + w] = zero[w]
      dst += 8
    }
  }
  return new Uint8Array(to.buffer)
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

/** hash(root ‖ uint256(length)) for each root, in one hasher call. */
function mixInLengths(roots: Uint8Array[], lengths: number[]): Uint8Array[] {
  const input = new Uint8Array(roots.length * 2 * CHUNK)
  const view = new DataView(input.buffer)
  roots.forEach((root, i) => {
    input.set(root, i * 2 * CHUNK)
    view.setUint32(i * 2 * CHUNK + CHUNK, lengths[i] >>> 0, true)
    view.setUint32(i * 2 * CHUNK + CHUNK + 4, Math.floor(lengths[i] / 2 ** 32), true)
  })
  const output = new Uint8Array(roots.length * CHUNK)
  if (roots.length > 0) hasher.hashInto(input, output)
  return roots.map((_, i) => output.subarray(i * CHUNK, (i + 1) * CHUNK))
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
