import { ByteVectorType, ListCompositeType, type Type } from '@chainsafe/ssz'
import type { ForkName } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import {
  MAX_BLOBS_PER_BLOCK_ELECTRA,
  MAX_REQUEST_BLOB_SIDECARS_ELECTRA,
  MAX_REQUEST_BLOCKS_DENEB,
  MAX_REQUEST_DATA_COLUMN_SIDECARS,
  MAX_REQUEST_LIGHT_CLIENT_UPDATES,
  MAX_REQUEST_PAYLOADS,
  PROTOCOL_PREFIX,
} from '../spec/reqresp.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- SSZ types of every shape live in one registry
export type SszType = Type<any>

export type ProtocolName =
  | 'status'
  | 'goodbye'
  | 'ping'
  | 'metadata'
  | 'beacon_blocks_by_range'
  | 'beacon_blocks_by_root'
  | 'blob_sidecars_by_range'
  | 'blob_sidecars_by_root'
  | 'data_column_sidecars_by_range'
  | 'data_column_sidecars_by_root'
  | 'execution_payload_envelopes_by_range'
  | 'execution_payload_envelopes_by_root'
  | 'light_client_bootstrap'
  | 'light_client_updates_by_range'
  | 'light_client_finality_update'
  | 'light_client_optimistic_update'

export interface ProtocolDef {
  name: ProtocolName
  version: number
  /** `/eth2/beacon_chain/req/<name>/<version>/ssz_snappy` */
  id: string
  /** Handshake protocols are answered by Contower itself; data protocols are forwarded. */
  kind: 'handshake' | 'data'
  /** Success chunks carry the 4-byte fork digest of the item's epoch. */
  contextBytes: boolean
  /** Request payload type; null for protocols with an empty request (metadata, LC updates). */
  request: SszType | null
  /** Response item type by the fork named by the chunk's context bytes (or the current fork). */
  response(fork: ForkName): SszType
  /** Most response chunks a valid answer to this (decoded) request may have. */
  maxResponseChunks(request: unknown): number
  /** Items the request asks for: the cost counted by rate limits (Lodestar counts the same way). */
  requestCost(request: unknown): number
}

const rootList = (limit: number) => new ListCompositeType(ssz.Root, limit)
const one = () => 1

interface Range {
  count: number
}

/** The response type a fork defines under `key` (blocks, sidecars and light-client data change by fork). */
const forkType = (key: string) => (fork: ForkName) => (sszTypesFor(fork) as unknown as Record<string, SszType>)[key]

type Spec = Omit<ProtocolDef, 'id'>

const SPECS: Spec[] = [
  {
    name: 'status',
    version: 1,
    kind: 'handshake',
    contextBytes: false,
    request: ssz.phase0.Status,
    response: () => ssz.phase0.Status,
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'status',
    version: 2,
    kind: 'handshake',
    contextBytes: false,
    request: ssz.fulu.Status,
    response: () => ssz.fulu.Status,
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'goodbye',
    version: 1,
    kind: 'handshake',
    contextBytes: false,
    request: ssz.phase0.Goodbye,
    response: () => ssz.phase0.Goodbye,
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'ping',
    version: 1,
    kind: 'handshake',
    contextBytes: false,
    request: ssz.phase0.Ping,
    response: () => ssz.phase0.Ping,
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'metadata',
    version: 2,
    kind: 'handshake',
    contextBytes: false,
    request: null,
    response: () => ssz.altair.Metadata,
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'metadata',
    version: 3,
    kind: 'handshake',
    contextBytes: false,
    request: null,
    response: () => ssz.fulu.Metadata,
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'beacon_blocks_by_range',
    version: 2,
    kind: 'data',
    contextBytes: true,
    request: ssz.phase0.BeaconBlocksByRangeRequest,
    response: forkType('SignedBeaconBlock'),
    maxResponseChunks: (r) => Math.min((r as Range).count, MAX_REQUEST_BLOCKS_DENEB),
    requestCost: (r) => (r as Range).count,
  },
  {
    name: 'beacon_blocks_by_root',
    version: 2,
    kind: 'data',
    contextBytes: true,
    request: rootList(MAX_REQUEST_BLOCKS_DENEB),
    response: forkType('SignedBeaconBlock'),
    maxResponseChunks: (r) => (r as unknown[]).length,
    requestCost: (r) => (r as unknown[]).length,
  },
  {
    name: 'blob_sidecars_by_range',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: ssz.deneb.BlobSidecarsByRangeRequest,
    response: () => ssz.deneb.BlobSidecar,
    maxResponseChunks: (r) =>
      Math.min((r as Range).count * MAX_BLOBS_PER_BLOCK_ELECTRA, MAX_REQUEST_BLOB_SIDECARS_ELECTRA),
    requestCost: (r) => (r as Range).count,
  },
  {
    name: 'blob_sidecars_by_root',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: new ListCompositeType(ssz.deneb.BlobIdentifier, MAX_REQUEST_BLOB_SIDECARS_ELECTRA),
    response: () => ssz.deneb.BlobSidecar,
    maxResponseChunks: (r) => (r as unknown[]).length,
    requestCost: (r) => (r as unknown[]).length,
  },
  {
    name: 'data_column_sidecars_by_range',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: ssz.fulu.DataColumnSidecarsByRangeRequest,
    response: forkType('DataColumnSidecar'),
    maxResponseChunks: (r) => columnCount(r as Range & { columns: number[] }),
    requestCost: (r) => columnCount(r as Range & { columns: number[] }),
  },
  {
    name: 'data_column_sidecars_by_root',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: new ListCompositeType(ssz.fulu.DataColumnsByRootIdentifier, MAX_REQUEST_BLOCKS_DENEB),
    response: forkType('DataColumnSidecar'),
    maxResponseChunks: (r) => sumColumns(r as Array<{ columns: number[] }>),
    requestCost: (r) => sumColumns(r as Array<{ columns: number[] }>),
  },
  // gloas p2p-interface.md: a block's payload travels apart from it, in an envelope named by the block's root.
  {
    name: 'execution_payload_envelopes_by_range',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: ssz.gloas.ExecutionPayloadEnvelopesByRangeRequest,
    response: forkType('SignedExecutionPayloadEnvelope'),
    maxResponseChunks: (r) => Math.min((r as Range).count, MAX_REQUEST_PAYLOADS),
    requestCost: (r) => (r as Range).count,
  },
  {
    name: 'execution_payload_envelopes_by_root',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: rootList(MAX_REQUEST_PAYLOADS),
    response: forkType('SignedExecutionPayloadEnvelope'),
    maxResponseChunks: (r) => (r as unknown[]).length,
    requestCost: (r) => (r as unknown[]).length,
  },
  {
    name: 'light_client_bootstrap',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: new ByteVectorType(32),
    response: forkType('LightClientBootstrap'),
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'light_client_updates_by_range',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: ssz.altair.LightClientUpdatesByRange,
    response: forkType('LightClientUpdate'),
    maxResponseChunks: (r) => Math.min((r as Range).count, MAX_REQUEST_LIGHT_CLIENT_UPDATES),
    requestCost: (r) => (r as Range).count,
  },
  {
    name: 'light_client_finality_update',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: null,
    response: forkType('LightClientFinalityUpdate'),
    maxResponseChunks: one,
    requestCost: one,
  },
  {
    name: 'light_client_optimistic_update',
    version: 1,
    kind: 'data',
    contextBytes: true,
    request: null,
    response: forkType('LightClientOptimisticUpdate'),
    maxResponseChunks: one,
    requestCost: one,
  },
]

function columnCount(r: Range & { columns: number[] }): number {
  return Math.min(r.count * r.columns.length, MAX_REQUEST_DATA_COLUMN_SIDECARS)
}

function sumColumns(ids: Array<{ columns: number[] }>): number {
  return Math.min(
    ids.reduce((n, id) => n + id.columns.length, 0),
    MAX_REQUEST_DATA_COLUMN_SIDECARS,
  )
}

export function protocolId(name: string, version: number): string {
  return `${PROTOCOL_PREFIX}/${name}/${version}/ssz_snappy`
}

/** Every req/resp protocol Contower speaks, by protocol id. */
export const PROTOCOLS: ReadonlyMap<string, ProtocolDef> = new Map(
  SPECS.map((s) => {
    const id = protocolId(s.name, s.version)
    return [id, { ...s, id }]
  }),
)

export function getProtocol(name: ProtocolName, version: number): ProtocolDef {
  const def = PROTOCOLS.get(protocolId(name, version))
  if (!def) throw new Error(`unknown protocol ${name}/${version}`)
  return def
}

/** SSZ size bounds of a type, for checking a declared length before reading any payload. */
export function sszBounds(type: SszType): { minSize: number; maxSize: number } {
  return { minSize: type.minSize, maxSize: type.maxSize }
}
