import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerStatus } from '../../src/chain/chainView.js'
import type { ContowerNode } from '../../src/node.js'
import { protocolId } from '../../src/reqresp/protocols.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import {
  encodeResponseChunk,
  type ResponseChunk,
  readRequest,
  readResponseChunk,
  type SszBounds,
} from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'

export const STATUS_V2 = protocolId('status', 2)
export const PING = protocolId('ping', 1)
export const METADATA_V3 = protocolId('metadata', 3)
export const GOODBYE = protocolId('goodbye', 1)

/** Opens a stream, writes `payload` as is (possibly malformed), half-closes and returns every byte received. */
export async function rawExchange(
  from: Libp2p,
  to: PeerId | Multiaddr,
  protocol: string,
  payload: Uint8Array | null,
  timeoutMs = 10_000,
): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await from.dialProtocol(to, protocol, { signal })
  // Read from before the half-close: an iterator started after the remote closed would never end (ByteReader.start).
  const parts: Uint8Array[] = []
  const received = (async () => {
    try {
      for await (const chunk of stream) parts.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
    } catch {
      // a reset stream: return what arrived
    }
  })()
  if (payload) stream.send(payload)
  await stream.close({ signal }).catch(() => {}) // a remote that resets early: its answer is still read
  await received
  return Buffer.concat(parts)
}

export async function firstChunk(bytes: Uint8Array, bounds: SszBounds): Promise<ResponseChunk | null> {
  const source = (async function* () {
    yield bytes
  })()
  return readResponseChunk(new ByteReader(source), { contextBytes: false, boundsFor: () => bounds })
}

/** A Status v2 as the peer store keeps it. */
export type StatusFields = PeerStatus

/** A Status `node` finds relevant: its digest, nothing finalized, head one slot behind its clock. */
export function relevantStatus(node: Pick<ContowerNode, 'chainView' | 'clock'>): StatusFields {
  return {
    forkDigest: node.chainView.currentDigest(),
    finalizedRoot: new Uint8Array(32),
    finalizedEpoch: 0,
    headRoot: new Uint8Array(32).fill(0xbb),
    headSlot: Math.max(0, node.clock.currentSlot - 1),
    earliestAvailableSlot: 0,
  }
}

export interface RecordedPeer {
  statuses: StatusFields[]
  pings: bigint[]
  goodbyes: bigint[]
  metadataRequests: number
}

/**
 * Makes a test host behave like a beacon node towards whoever connects: answers Status v2 with `status()`,
 * Ping and MetaData v3 (with `metadataSeq()` and `custodyGroupCount`) and Goodbye, recording what it was sent.
 */
export async function serveBeaconProtocols(
  host: Libp2p,
  status: () => StatusFields,
  metadataSeq: () => bigint = () => 7n,
  custodyGroupCount = 0,
): Promise<RecordedPeer> {
  const seen: RecordedPeer = { statuses: [], pings: [], goodbyes: [], metadataRequests: 0 }
  const respond = async (stream: Stream, ssz: Uint8Array) => {
    stream.send(encodeResponseChunk(RespCode.Success, ssz))
    await stream.close()
  }
  await host.handle(STATUS_V2, async (stream) => {
    seen.statuses.push(ssz.fulu.Status.deserialize(await readRequest(new ByteReader(stream), ssz.fulu.Status)))
    await respond(stream, ssz.fulu.Status.serialize(status()))
  })
  await host.handle(PING, async (stream) => {
    seen.pings.push(ssz.phase0.Ping.deserialize(await readRequest(new ByteReader(stream), ssz.phase0.Ping)))
    await respond(stream, ssz.phase0.Ping.serialize(metadataSeq()))
  })
  await host.handle(METADATA_V3, async (stream) => {
    seen.metadataRequests++
    const md = ssz.fulu.Metadata.defaultValue()
    md.seqNumber = metadataSeq()
    md.custodyGroupCount = custodyGroupCount
    await respond(stream, ssz.fulu.Metadata.serialize(md))
  })
  await host.handle(GOODBYE, async (stream) => {
    seen.goodbyes.push(ssz.phase0.Goodbye.deserialize(await readRequest(new ByteReader(stream), ssz.phase0.Goodbye)))
    await respond(stream, ssz.phase0.Goodbye.serialize(0n))
  })
  return seen
}
