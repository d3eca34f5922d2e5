import { BitArray } from '@chainsafe/ssz'
import { ssz } from '@lodestar/types'
import type { PeerStatus } from '../chain/chainView.js'
import type { ProtocolDef } from './protocols.js'

export interface PeerMetadata {
  seqNumber: bigint
  attnets: Uint8Array
  syncnets: Uint8Array
  custodyGroupCount?: number
}

// SSZ encoding of the handshake messages, per protocol version. Decoders take already size-checked bytes and
// still throw on a wrong shape (the caller answers InvalidRequest or penalises the responder).

export function encodeStatus(def: ProtocolDef, s: PeerStatus): Uint8Array {
  const base = {
    forkDigest: s.forkDigest,
    finalizedRoot: s.finalizedRoot,
    finalizedEpoch: s.finalizedEpoch,
    headRoot: s.headRoot,
    headSlot: s.headSlot,
  }
  return def.version >= 2
    ? ssz.fulu.Status.serialize({ ...base, earliestAvailableSlot: s.earliestAvailableSlot })
    : ssz.phase0.Status.serialize(base)
}

/** A decoded Status v1 or v2 as we keep it (v1 has no earliest_available_slot: 0). */
export function asPeerStatus(
  s: Omit<PeerStatus, 'earliestAvailableSlot'> & { earliestAvailableSlot?: number },
): PeerStatus {
  return { ...s, earliestAvailableSlot: s.earliestAvailableSlot ?? 0 }
}

export function decodeStatus(def: ProtocolDef, bytes: Uint8Array): PeerStatus {
  return asPeerStatus(def.version >= 2 ? ssz.fulu.Status.deserialize(bytes) : ssz.phase0.Status.deserialize(bytes))
}

export interface LocalMetadata {
  seqNumber: bigint
  attnets: readonly number[]
  syncnets: readonly number[]
  custodyGroupCount: number
}

function bits(length: number, set: readonly number[]): BitArray {
  const array = BitArray.fromBitLen(length)
  for (const i of set) array.set(i, true)
  return array
}

export function encodeMetadata(def: ProtocolDef, m: LocalMetadata): Uint8Array {
  const base = { seqNumber: m.seqNumber, attnets: bits(64, m.attnets), syncnets: bits(4, m.syncnets) }
  return def.version >= 3
    ? ssz.fulu.Metadata.serialize({ ...base, custodyGroupCount: m.custodyGroupCount })
    : ssz.altair.Metadata.serialize(base)
}

export function decodeMetadata(def: ProtocolDef, bytes: Uint8Array): PeerMetadata {
  if (def.version >= 3) {
    const m = ssz.fulu.Metadata.deserialize(bytes)
    return {
      seqNumber: m.seqNumber,
      attnets: m.attnets.uint8Array,
      syncnets: m.syncnets.uint8Array,
      custodyGroupCount: m.custodyGroupCount,
    }
  }
  const m = ssz.altair.Metadata.deserialize(bytes)
  return { seqNumber: m.seqNumber, attnets: m.attnets.uint8Array, syncnets: m.syncnets.uint8Array }
}

export const encodeUint64 = (n: bigint): Uint8Array => ssz.phase0.Ping.serialize(n)
export const decodeUint64 = (bytes: Uint8Array): bigint => ssz.phase0.Ping.deserialize(bytes)
