import { type ENR, SignableENR } from '@chainsafe/enr'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { FORK_VERSION_BYTES } from '../chain/chainConfig.js'
import { FORK_DIGEST_BYTES } from '../chain/forkDigest.js'
import { ENR_FORK_ID_BYTES, type ForkSchedule } from '../chain/forkSchedule.js'
import { DiscoveryError, DiscoveryErrorCode } from './errors.js'

/** ENR keys of the consensus layer (phase0, altair and fulu p2p-interface.md "ENR structure"). */
export const ENR_KEY = {
  eth2: 'eth2',
  attnets: 'attnets',
  syncnets: 'syncnets',
  cgc: 'cgc',
  nfd: 'nfd',
} as const

/** phase0 ATTESTATION_SUBNET_COUNT: `attnets` is an SSZ Bitvector of this length (8 bytes). */
export const ATTESTATION_SUBNET_COUNT = 64
/** altair SYNC_COMMITTEE_SUBNET_COUNT: `syncnets` is an SSZ Bitvector of this length (1 byte). */
export const SYNC_COMMITTEE_SUBNET_COUNT = 4
/** A uint64: at most 8 big-endian bytes. */
const MAX_CGC_BYTES = 8

/** The keys our ENR carries besides the identity (`id`, `secp256k1`), which the library adds. */
export interface LocalEnrFields {
  ip?: string
  tcp?: number
  udp?: number
  /** libp2p QUIC UDP port (phase0 p2p-interface.md names `quic` beside `tcp`). */
  quic?: number
  /** The IPv6 counterparts (EIP-778 `ip6`/`tcp6`/`udp6`, p2p-interface.md `quic6`), set when we listen on IPv6. */
  ip6?: string
  tcp6?: number
  udp6?: number
  quic6?: number
  /** SSZ ENRForkID (16 bytes); absent when the network (fork schedule) is unknown. */
  eth2?: Uint8Array
  /** Next fork digest (4 bytes); absent when the network is unknown. */
  nfd?: Uint8Array
  attnets: readonly number[]
  syncnets: readonly number[]
  custodyGroupCount: number
}

/** SSZ Bitvector[length]: bit i is bit (i % 8) of byte (i / 8), least significant first. */
export function encodeBitvector(ids: readonly number[], length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 8))
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= length) throw new RangeError(`subnet ${id} outside 0..${length - 1}`)
    out[id >> 3]! |= 1 << (id & 7)
  }
  return out
}

/** The set bits of an SSZ Bitvector[length], or null for a value of the wrong size or with bits past `length`. */
export function decodeBitvector(bytes: Uint8Array, length: number): number[] | null {
  if (bytes.length !== Math.ceil(length / 8)) return null
  const ids: number[] = []
  for (let i = 0; i < bytes.length * 8; i++) {
    if ((bytes[i >> 3]! >> (i & 7)) & 1) {
      if (i >= length) return null
      ids.push(i)
    }
  }
  return ids
}

/** fulu p2p-interface.md `cgc`: big-endian with no leading zero bytes (0 is the empty byte string). */
export function encodeCgc(count: number): Uint8Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`custody group count ${count} is not a uint`)
  const bytes: number[] = []
  for (let n = count; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256)
  return Uint8Array.from(bytes)
}

/** The custody group count of a `cgc` value; null for more than 8 bytes or a value beyond 2^53. */
export function decodeCgc(bytes: Uint8Array): number | null {
  if (bytes.length > MAX_CGC_BYTES) return null
  let n = 0
  for (const b of bytes) n = n * 256 + b
  return Number.isSafeInteger(n) ? n : null
}

export interface EnrForkId {
  forkDigest: Uint8Array
  nextForkVersion: Uint8Array
  nextForkEpoch: bigint
}

/** SSZ ENRForkID {fork_digest Bytes4, next_fork_version Bytes4, next_fork_epoch uint64}; null if not 16 bytes. */
export function decodeEnrForkId(bytes: Uint8Array): EnrForkId | null {
  if (bytes.length !== ENR_FORK_ID_BYTES) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  return {
    forkDigest: bytes.slice(0, FORK_DIGEST_BYTES),
    nextForkVersion: bytes.slice(FORK_DIGEST_BYTES, FORK_DIGEST_BYTES + FORK_VERSION_BYTES),
    nextForkEpoch: view.getBigUint64(FORK_DIGEST_BYTES + FORK_VERSION_BYTES, true),
  }
}

/** `eth2` and `nfd` for `epoch` (fork boundaries change them), from ForkSchedule. */
export function forkFields(forkSchedule: ForkSchedule, epoch: number): { eth2: Uint8Array; nfd: Uint8Array } {
  return { eth2: forkSchedule.enrForkId(epoch), nfd: forkSchedule.nextForkDigest(epoch) }
}

/** The consensus-layer keys (eth2, nfd, attnets, syncnets, cgc) as ENR values. */
export function eth2Kvs(
  fields: Omit<LocalEnrFields, 'ip' | 'tcp' | 'udp' | 'quic' | 'ip6' | 'tcp6' | 'udp6' | 'quic6'>,
): Map<string, Uint8Array> {
  const kvs = new Map<string, Uint8Array>()
  if (fields.eth2) kvs.set(ENR_KEY.eth2, fields.eth2)
  if (fields.nfd) kvs.set(ENR_KEY.nfd, fields.nfd)
  kvs.set(ENR_KEY.attnets, encodeBitvector(fields.attnets, ATTESTATION_SUBNET_COUNT))
  kvs.set(ENR_KEY.syncnets, encodeBitvector(fields.syncnets, SYNC_COMMITTEE_SUBNET_COUNT))
  kvs.set(ENR_KEY.cgc, encodeCgc(fields.custodyGroupCount))
  return kvs
}

/** The secp256k1 scalar the ENR "v4" scheme signs with; throws for any other key type. */
export function enrPrivateKey(privateKey: PrivateKey): Uint8Array {
  if (privateKey.type !== 'secp256k1') {
    throw new DiscoveryError(
      DiscoveryErrorCode.UNSUPPORTED_KEY,
      `ENRs need a secp256k1 identity key, not ${privateKey.type}`,
      privateKey.type,
    )
  }
  return privateKey.raw
}

/**
 * All key-values of our ENR (identity included), in the library's encodings. Built through a throwaway
 * SignableENR so that ip/port encodings are exactly what the library writes and compares.
 */
export function localEnrKvs(privateKey: PrivateKey, fields: LocalEnrFields): Map<string, Uint8Array> {
  const draft = SignableENR.createV4(enrPrivateKey(privateKey))
  if (fields.ip !== undefined) draft.ip = fields.ip
  if (fields.tcp !== undefined) draft.tcp = fields.tcp
  if (fields.udp !== undefined) draft.udp = fields.udp
  if (fields.quic !== undefined) draft.quic = fields.quic
  if (fields.ip6 !== undefined) draft.ip6 = fields.ip6
  if (fields.tcp6 !== undefined) draft.tcp6 = fields.tcp6
  if (fields.udp6 !== undefined) draft.udp6 = fields.udp6
  if (fields.quic6 !== undefined) draft.quic6 = fields.quic6
  for (const [k, v] of eth2Kvs(fields)) draft.set(k, v)
  return new Map(draft.kvs)
}

/** libp2p (v3) peer id of an ENR's secp256k1 key. */
export function peerIdOfEnr(enr: ENR): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(enr.publicKey))
}

/** What the peer manager wants to know about a peer from its ENR; absent or malformed fields are null. */
export interface PeerEnrFields {
  ip: string | null
  tcp: number | null
  quic: number | null
  ip6: string | null
  /** EIP-778: `tcp6` (and likewise `quic6`) absent means the same port as `tcp` (`quic`). */
  tcp6: number | null
  quic6: number | null
  forkId: EnrForkId | null
  /** True when an `eth2` key is present (forkId null then means malformed). */
  hasEth2: boolean
  attnets: number[] | null
  syncnets: number[] | null
  custodyGroupCount: number | null
  nextForkDigest: Uint8Array | null
}

export function decodePeerEnr(enr: ENR): PeerEnrFields {
  const get = (key: string) => enr.kvs.get(key)
  const eth2 = get(ENR_KEY.eth2)
  const attnets = get(ENR_KEY.attnets)
  const syncnets = get(ENR_KEY.syncnets)
  const cgc = get(ENR_KEY.cgc)
  const nfd = get(ENR_KEY.nfd)
  return {
    ip: enr.ip ?? null,
    tcp: enr.tcp ?? null,
    quic: enr.quic ?? null,
    ip6: enr.ip6 ?? null,
    tcp6: enr.tcp6 ?? enr.tcp ?? null,
    quic6: enr.quic6 ?? enr.quic ?? null,
    forkId: eth2 ? decodeEnrForkId(eth2) : null,
    hasEth2: eth2 !== undefined,
    attnets: attnets ? decodeBitvector(attnets, ATTESTATION_SUBNET_COUNT) : null,
    syncnets: syncnets ? decodeBitvector(syncnets, SYNC_COMMITTEE_SUBNET_COUNT) : null,
    custodyGroupCount: cgc ? decodeCgc(cgc) : null,
    nextForkDigest: nfd && nfd.length === FORK_DIGEST_BYTES ? nfd : null,
  }
}
