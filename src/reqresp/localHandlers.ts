import type { ChainView } from '../chain/chainView.js'
import type { PeerStatus } from '../chain/chainView.js'
import type { PeerId } from '@libp2p/interface'
import { encodeResponseChunk } from '../wire/chunks.js'
import { RespCode } from '../wire/constants.js'
import { asPeerStatus, encodeMetadata, encodeStatus, encodeUint64, type LocalMetadata } from './messages.js'
import { getProtocol, type ProtocolDef } from './protocols.js'
import type { RequestHandler } from './server.js'

/** What the handshake (peers layer) learns from requests Contower answers itself. */
export interface HandshakeEvents {
  onStatusRequest(peerId: PeerId, status: PeerStatus): void
  onStatusAnswered(peerId: PeerId, headSlot: number): void
  onPingRequest(peerId: PeerId, seq: bigint): void
  onGoodbyeRequest(peerId: PeerId, reason: bigint): void
}

export interface LocalHandlerModules {
  handshake: HandshakeEvents
  chainView: ChainView
  metadata: LocalMetadata
}

function single(ssz: Uint8Array): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield encodeResponseChunk(RespCode.Success, ssz)
  })()
}

/** The protocols Contower answers itself: Status v1/v2, Ping, MetaData v2/v3, Goodbye. */
export function createLocalHandlers(m: LocalHandlerModules): Map<ProtocolDef, RequestHandler> {
  const status =
    (def: ProtocolDef): RequestHandler =>
    ({ peerId, request }) => {
      m.handshake.onStatusRequest(peerId, asPeerStatus(request as Parameters<typeof asPeerStatus>[0]))
      const ours = m.chainView.status()
      m.handshake.onStatusAnswered(peerId, ours.headSlot)
      return single(encodeStatus(def, ours))
    }
  const metadata =
    (def: ProtocolDef): RequestHandler =>
    () =>
      single(encodeMetadata(def, m.metadata))
  const statusV1 = getProtocol('status', 1)
  const statusV2 = getProtocol('status', 2)
  const metadataV2 = getProtocol('metadata', 2)
  const metadataV3 = getProtocol('metadata', 3)

  return new Map<ProtocolDef, RequestHandler>([
    [statusV1, status(statusV1)],
    [statusV2, status(statusV2)],
    [metadataV2, metadata(metadataV2)],
    [metadataV3, metadata(metadataV3)],
    [
      getProtocol('ping', 1),
      ({ peerId, request }) => {
        m.handshake.onPingRequest(peerId, request as bigint)
        return single(encodeUint64(m.metadata.seqNumber))
      },
    ],
    [
      getProtocol('goodbye', 1),
      ({ peerId, request }) => {
        m.handshake.onGoodbyeRequest(peerId, request as bigint)
        return single(encodeUint64(0n))
      },
    ],
  ])
}
