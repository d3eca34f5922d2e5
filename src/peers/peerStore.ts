import type { PeerId } from '@libp2p/interface'
import type { PeerStatus } from '../chain/chainView.js'
import type { PeerMetadata } from '../reqresp/messages.js'
import type { PeerCustody } from './custody.js'

/** Client families by agent string, for metrics and (later) upstream choice. */
export const CLIENTS = [
  'lodestar',
  'lighthouse',
  'prysm',
  'teku',
  'nimbus',
  'grandine',
  'erigon',
  'contower',
  'other',
] as const
export type ClientName = (typeof CLIENTS)[number]

export function clientFromAgent(agent: string | undefined): ClientName {
  const lower = (agent ?? '').toLowerCase()
  return CLIENTS.find((c) => c !== 'other' && lower.includes(c)) ?? 'other'
}

export interface PeerData {
  peerId: PeerId
  direction: 'inbound' | 'outbound'
  connectedAtMs: number
  agent?: string
  client: ClientName
  status?: PeerStatus
  statusAtMs?: number
  metadata?: PeerMetadata
  /** Highest metadata seq number seen in a Ping. */
  pingSeq?: bigint
  pingRttMs?: number
  /** Protocol ids the peer announced through identify (unknown until identify completes). */
  protocols?: ReadonlySet<string>
  /** When the next Status re-exchange and Ping are due (set once handshaken; attempts, not successes). */
  nextStatusAtMs?: number
  nextPingAtMs?: number
  /** Status exchanged and found relevant. */
  handshaken: boolean
  /** `cgc` of the ENR the peer was discovered by, if any. */
  enrCustodyGroupCount?: number
  /** discv5 node id (custody.ts nodeIdOf); null for a key type without one. */
  nodeId?: bigint | null
  /** Columns the peer custodies (custody.ts updateCustody): set once handshaken, updated with its MetaData. */
  custody?: PeerCustody | null
}

/** What Contower knows about each connected peer; entries live from connect to disconnect. */
export class PeerStore {
  private readonly peers = new Map<string, PeerData>()

  add(peerId: PeerId, direction: 'inbound' | 'outbound', nowMs = Date.now()): PeerData {
    const key = peerId.toString()
    const existing = this.peers.get(key)
    if (existing) return existing
    const data: PeerData = { peerId, direction, connectedAtMs: nowMs, client: 'other', handshaken: false }
    this.peers.set(key, data)
    return data
  }

  get(peer: PeerId | string): PeerData | undefined {
    return this.peers.get(peer.toString())
  }

  delete(peer: PeerId | string): void {
    this.peers.delete(peer.toString())
  }

  setAgent(peer: PeerId | string, agent: string): void {
    const data = this.get(peer)
    if (data) {
      data.agent = agent
      data.client = clientFromAgent(agent)
    }
  }

  setProtocols(peer: PeerId | string, protocols: readonly string[]): void {
    const data = this.get(peer)
    if (data) data.protocols = new Set(protocols)
  }

  all(): IterableIterator<PeerData> {
    return this.peers.values()
  }

  get size(): number {
    return this.peers.size
  }
}
