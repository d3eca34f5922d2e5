import type { ENR } from '@chainsafe/enr'
import type { PeerId } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { forkDigestToHex } from '../chain/forkDigest.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import { decodePeerEnr, peerIdOfEnr } from './enr.js'

/** Why a discovered record was or was not passed on: the `outcome` label of contower_discovery_enrs_total. */
export const ENR_OUTCOMES = [
  'accepted',
  /** Our own record, returned by a peer. */
  'self',
  /** Neither an `ip` nor an `ip6`. */
  'no_ip',
  /** Neither a `tcp` nor a `quic` port: nothing libp2p could dial. */
  'no_tcp_or_quic',
  'no_eth2',
  /** An `eth2` value that is not a 16-byte ENRForkID. */
  'bad_eth2',
  /** A fork digest we do not accept now (another network, or a fork we are not on). */
  'wrong_fork',
  /** A key that is not a valid secp256k1 point (cannot become a libp2p peer id). */
  'bad_key',
] as const
export type EnrOutcome = (typeof ENR_OUTCOMES)[number]

/** A beacon peer found by discovery, ready to dial. */
export interface DiscoveredPeer {
  peerId: PeerId
  /** discv5 node id (hex), for logs. */
  nodeId: string
  /**
   * Where to dial it, in the order to try: QUIC before TCP, IPv6 before IPv4 within each
   * (`/ip6/<ip6>/udp/<quic6>/quic-v1/p2p/<id>`, `/ip4/<ip>/udp/<quic>/quic-v1/…`, `/ip6/<ip6>/tcp/<tcp6>/…`,
   * `/ip4/<ip>/tcp/<tcp>/…`, each when the record has it; multiaddr v13, libp2p v3 dials them).
   */
  multiaddrs: Multiaddr[]
  /** The record as text (`enr:-…`). */
  enr: string
  seq: bigint
  /** The `eth2` fork digest, lowercase hex without 0x. */
  forkDigest: string
  /** Attestation and sync committee subnets it advertises (empty when absent or malformed). */
  attnets: number[]
  syncnets: number[]
  /** Its `cgc`, or null when absent or malformed. */
  custodyGroupCount: number | null
}

export type EnrVerdict = { outcome: 'accepted'; peer: DiscoveredPeer } | { outcome: Exclude<EnrOutcome, 'accepted'> }

export interface DigestWindow {
  /** Keep accepting the previous digest this many epochs after a boundary. */
  previousDigestGraceEpochs: number
  /** Accept the next digest this many epochs before its boundary. */
  nextDigestLeadEpochs: number
}

/**
 * Fork digests a peer's `eth2` may carry at `epoch`: the current one; the previous one shortly after a
 * boundary (records in the DHT are updated lazily; Lodestar accepts the previous fork too); the next one
 * shortly before its boundary (clock skew, early updates).
 */
export function acceptedDigests(forkSchedule: ForkSchedule, epoch: number, window: DigestWindow): Set<string> {
  const current = forkSchedule.boundaryAtEpoch(epoch)
  const accepted = new Set([current.digestHex])
  const index = forkSchedule.boundaries.indexOf(current)
  const previous = index > 0 ? forkSchedule.boundaries[index - 1] : undefined
  if (previous && epoch - current.epoch < window.previousDigestGraceEpochs) accepted.add(previous.digestHex)
  const next = forkSchedule.nextBoundary(epoch)
  if (next && next.epoch - epoch <= window.nextDigestLeadEpochs) accepted.add(next.digestHex)
  return accepted
}

/** Decides whether a discovered record is a beacon peer on our chain that we can dial (QUIC or TCP, IPv6 or IPv4). */
export function classifyEnr(enr: ENR, ctx: { selfNodeId: string; digests: ReadonlySet<string> }): EnrVerdict {
  if (enr.nodeId === ctx.selfNodeId) return { outcome: 'self' }
  const fields = decodePeerEnr(enr)
  if (fields.ip === null && fields.ip6 === null) return { outcome: 'no_ip' }
  const port = (ip: string | null, p: number | null) => (ip !== null && p !== null && p !== 0 ? p : null)
  const tcp = port(fields.ip, fields.tcp)
  const quic = port(fields.ip, fields.quic)
  const tcp6 = port(fields.ip6, fields.tcp6)
  const quic6 = port(fields.ip6, fields.quic6)
  if (tcp === null && quic === null && tcp6 === null && quic6 === null) return { outcome: 'no_tcp_or_quic' }
  if (!fields.hasEth2) return { outcome: 'no_eth2' }
  if (!fields.forkId) return { outcome: 'bad_eth2' }
  const forkDigest = forkDigestToHex(fields.forkId.forkDigest)
  if (!ctx.digests.has(forkDigest)) return { outcome: 'wrong_fork' }
  let peerId: PeerId
  try {
    peerId = peerIdOfEnr(enr)
  } catch {
    return { outcome: 'bad_key' }
  }
  return {
    outcome: 'accepted',
    peer: {
      peerId,
      nodeId: enr.nodeId,
      multiaddrs: [
        quic6 !== null ? `/ip6/${fields.ip6}/udp/${quic6}/quic-v1` : null,
        quic !== null ? `/ip4/${fields.ip}/udp/${quic}/quic-v1` : null,
        tcp6 !== null ? `/ip6/${fields.ip6}/tcp/${tcp6}` : null,
        tcp !== null ? `/ip4/${fields.ip}/tcp/${tcp}` : null,
      ]
        .filter((a) => a !== null)
        .map((a) => multiaddr(`${a}/p2p/${peerId.toString()}`)),
      enr: enr.encodeTxt(),
      seq: enr.seq,
      forkDigest,
      attnets: fields.attnets ?? [],
      syncnets: fields.syncnets ?? [],
      custodyGroupCount: fields.custodyGroupCount,
    },
  }
}
