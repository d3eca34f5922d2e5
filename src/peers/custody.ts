import { createHash } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/enr'
import type { PeerId } from '@libp2p/interface'
import { NUMBER_OF_COLUMNS } from '@lodestar/params'
import type { PeerData } from './peerStore.js'

// fulu das-core.md: which data columns a node custodies follows from its node id and custody group count.

/** das-core.md NUMBER_OF_CUSTODY_GROUPS. */
export const NUMBER_OF_CUSTODY_GROUPS = 128
/** das-core.md CUSTODY_REQUIREMENT: the least an honest node custodies, right for a peer whose count is unknown. */
export const CUSTODY_REQUIREMENT = 4

const UINT256_MAX = (1n << 256n) - 1n

/** das-core.md get_custody_groups: sorted custody group indices of `nodeId` (a uint256) for `count` groups. */
export function getCustodyGroups(nodeId: bigint, count: number): number[] {
  if (!Number.isInteger(count) || count < 0 || count > NUMBER_OF_CUSTODY_GROUPS) {
    throw new RangeError(`custody group count ${count} is not in [0, ${NUMBER_OF_CUSTODY_GROUPS}]`)
  }
  if (nodeId < 0n || nodeId > UINT256_MAX) throw new RangeError('node id is not a uint256')
  if (count === NUMBER_OF_CUSTODY_GROUPS) return Array.from({ length: count }, (_, i) => i)
  const groups = new Set<number>()
  let current = nodeId
  while (groups.size < count) {
    const digest = createHash('sha256').update(uint256ToBytesLE(current)).digest()
    groups.add(Number(digest.readBigUInt64LE(0) % BigInt(NUMBER_OF_CUSTODY_GROUPS)))
    current = current === UINT256_MAX ? 0n : current + 1n // overflow prevention, as the spec does
  }
  return [...groups].sort((a, b) => a - b)
}

/** das-core.md compute_columns_for_custody_group. */
export function computeColumnsForCustodyGroup(group: number): number[] {
  if (!Number.isInteger(group) || group < 0 || group >= NUMBER_OF_CUSTODY_GROUPS) {
    throw new RangeError(`custody group ${group} is not below ${NUMBER_OF_CUSTODY_GROUPS}`)
  }
  const perGroup = NUMBER_OF_COLUMNS / NUMBER_OF_CUSTODY_GROUPS
  return Array.from({ length: perGroup }, (_, i) => NUMBER_OF_CUSTODY_GROUPS * i + group)
}

/** The column indices a node custodies, ascending. */
export function custodyColumns(nodeId: bigint, count: number): number[] {
  return getCustodyGroups(nodeId, count)
    .flatMap(computeColumnsForCustodyGroup)
    .sort((a, b) => a - b)
}

/**
 * The discv5 node id of a libp2p peer: keccak256 of its uncompressed secp256k1 public key (without the 0x04
 * prefix), read big-endian as a uint256. Null for peers with another key type (they have no node id).
 */
export function nodeIdOf(peerId: PeerId): bigint | null {
  if (peerId.type !== 'secp256k1' || !peerId.publicKey) return null
  return BigInt(`0x${defaultCrypto.nodeId(peerId.publicKey.raw)}`)
}

/** The count to advertise at start: `auto` starts from CUSTODY_REQUIREMENT until peers are known. */
export function initialCustodyGroupCount(configured: number | 'auto'): number {
  return configured === 'auto' ? CUSTODY_REQUIREMENT : configured
}

/**
 * The largest custody group count whose columns (for `nodeId`) all lie in `covered`, never below
 * CUSTODY_REQUIREMENT: what `--custody-group-count auto` advertises. A larger count's groups extend a smaller
 * one's (das-core.md), so this is the longest covered prefix of the order get_custody_groups finds groups in.
 */
export function autoCustodyGroupCount(nodeId: bigint, covered: ReadonlySet<number>): number {
  if (covered.size >= NUMBER_OF_COLUMNS) return NUMBER_OF_CUSTODY_GROUPS
  let count = 0
  let current = nodeId
  const seen = new Set<number>()
  while (seen.size < NUMBER_OF_CUSTODY_GROUPS) {
    const digest = createHash('sha256').update(uint256ToBytesLE(current)).digest()
    const group = Number(digest.readBigUInt64LE(0) % BigInt(NUMBER_OF_CUSTODY_GROUPS))
    current = current === UINT256_MAX ? 0n : current + 1n
    if (seen.has(group)) continue
    seen.add(group)
    if (!computeColumnsForCustodyGroup(group).every((c) => covered.has(c))) break
    count++
  }
  return Math.max(CUSTODY_REQUIREMENT, count)
}

/** What a peer custodies, and where its count came from. */
export interface PeerCustody {
  groupCount: number
  source: 'metadata' | 'enr' | 'default'
  columns: ReadonlySet<number>
}

/**
 * A peer's custody from its MetaData v3 count first, its ENR `cgc` otherwise, CUSTODY_REQUIREMENT when neither is
 * known. A count over NUMBER_OF_CUSTODY_GROUPS is invalid and ignored. Recomputed only when the count changes
 * (a new MetaData seq); null for a peer without a node id.
 */
export function updateCustody(peer: PeerData): PeerCustody | null {
  const valid = (n: number | undefined) => n !== undefined && n >= 0 && n <= NUMBER_OF_CUSTODY_GROUPS
  const fromMetadata = peer.metadata?.custodyGroupCount
  const [groupCount, source]: [number, PeerCustody['source']] = valid(fromMetadata)
    ? [fromMetadata!, 'metadata']
    : valid(peer.enrCustodyGroupCount)
      ? [peer.enrCustodyGroupCount!, 'enr']
      : [CUSTODY_REQUIREMENT, 'default']
  if (peer.custody?.groupCount === groupCount) {
    peer.custody.source = source
    return peer.custody
  }
  peer.nodeId ??= nodeIdOf(peer.peerId)
  if (peer.nodeId === null) return (peer.custody = null)
  peer.custody = { groupCount, source, columns: new Set(custodyColumns(peer.nodeId, groupCount)) }
  return peer.custody
}

function uint256ToBytesLE(value: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let v = value
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}
