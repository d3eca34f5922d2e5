import type { Libp2p } from '@libp2p/interface'
import type { InboundRateLimiter } from '../limits/inboundLimiter.js'
import type { PeerStatus } from '../chain/chainView.js'
import { ResponseError } from '../reqresp/errors.js'
import { encodeMetadata, encodeStatus, encodeUint64, type LocalMetadata } from '../reqresp/messages.js'
import { getProtocol, type ProtocolDef } from '../reqresp/protocols.js'
import type { InboundRequest, RequestHandler } from '../reqresp/server.js'
import { encodeResponseChunk } from '../wire/chunks.js'
import { RespCode } from '../wire/constants.js'
import { MAX_REQUEST_BLOCKS_DENEB } from '../spec/reqresp.js'
import { corruptChunk, type Misbehaviour, slowDown, tamperItems } from './misbehaviour.js'
import type { ChainBlock } from './syntheticChain.js'

/** What a simulated peer serves from: a chain of blocks up to its head, and its behaviour. */
export interface BlockSource {
  status(): PeerStatus
  /** Blocks with slots in [startSlot, startSlot + count) the peer holds, ascending. */
  blocksInRange(startSlot: number, count: number): ChainBlock[]
  blockByRoot(root: Uint8Array): ChainBlock | null
  /** Serialized DataColumnSidecar of the block at `slot` (null without blobs there). */
  column(slot: number, index: number): Uint8Array | null
  /** A few distinct blocks (head, genesis) to pick a stray one from, for the wrong_block fault. */
  strayBlocks(): ChainBlock[]
  digestAtSlot(slot: number): Uint8Array
}

export interface PeerHandlerModules {
  host: Libp2p
  source: BlockSource
  metadata: LocalMetadata
  limiter: InboundRateLimiter
  misbehaviour: () => Misbehaviour
  /** The slot whose block the alter_block fault changes (else the one at `faultAtChunk`). */
  alteredSlot?: () => number | undefined
  /** The chunk of a response a fault hits (0 when absent): the block alter_block changes, the last disconnect sends. */
  faultAtChunk?: () => number
  /** A requester went over a quota: Lodestar bans it (Fatal) and disconnects. */
  onQuotaExceeded(req: InboundRequest): void
  /** Counts what was served, for tests and the devnet summary. */
  onServed(protocol: ProtocolDef, chunks: number, bytes: number): void
  /** Called with the number of open requests of this protocol from this peer when a request starts. */
  onConcurrency(protocol: ProtocolDef, open: number): void
  /** Called with the column indices of each data column request, for tests that check who was asked what. */
  onColumnsAsked?(columns: readonly number[]): void
  /** Called with the (block root, column) identifiers of each by-root column request. */
  onColumnIdsAsked?(ids: ReadonlyArray<{ root: Uint8Array; column: number }>): void
}

const one = (ssz: Uint8Array) =>
  (async function* () {
    yield encodeResponseChunk(RespCode.Success, ssz)
  })()

/**
 * Handlers of a simulated beacon peer: the handshake protocols, blocks and data columns (by range and root) served from its chain,
 * with Lodestar's quotas enforced (exceeding one bans the requester) and optional faults.
 */
export function createPeerHandlers(m: PeerHandlerModules): Map<ProtocolDef, RequestHandler> {
  const open = new Map<string, number>() // requests open per requester and protocol
  const serveBlocks = (
    def: ProtocolDef,
    pick: (req: InboundRequest) => Item[],
    kind: 'block' | 'column' = 'block',
    asked?: (req: InboundRequest) => number[],
  ) => serveItems(m, open, def, pick, kind, asked)
  const columnsOf = (slot: number, columns: number[]) => sidecarsAt(m, slot, columns)
  const handlers = handshakeHandlers(m)

  const byRange = getProtocol('beacon_blocks_by_range', 2)
  handlers.set(
    byRange,
    serveBlocks(byRange, (req) => {
      const { startSlot, count } = req.request as { startSlot: number; count: number }
      const n = Math.min(count, byRange.maxResponseChunks(req.request))
      if (m.misbehaviour() === 'wrong_block') {
        const stray = m.source.strayBlocks().find((b) => b.slot < startSlot || b.slot >= startSlot + n)
        return stray ? [stray] : []
      }
      return m.source.blocksInRange(startSlot, n)
    }),
  )
  const byRoot = getProtocol('beacon_blocks_by_root', 2)
  handlers.set(
    byRoot,
    serveBlocks(byRoot, (req) => {
      const roots = req.request as Uint8Array[]
      if (m.misbehaviour() === 'wrong_block') {
        const asked = new Set(roots.map((r) => Buffer.from(r).toString('hex')))
        const stray = m.source.strayBlocks().find((b) => !asked.has(Buffer.from(b.root).toString('hex')))
        return stray ? [stray] : []
      }
      return roots.map((r) => m.source.blockByRoot(r)).filter((b): b is ChainBlock => b !== null)
    }),
  )
  const columnsByRange = getProtocol('data_column_sidecars_by_range', 1)
  handlers.set(
    columnsByRange,
    serveBlocks(
      columnsByRange,
      (req) => {
        const { startSlot, count, columns } = req.request as { startSlot: number; count: number; columns: number[] }
        const blocks = m.source.blocksInRange(startSlot, Math.min(count, MAX_REQUEST_BLOCKS_DENEB))
        return blocks.flatMap((b) => columnsOf(b.slot, columns))
      },
      'column',
      (req) => (req.request as { columns: number[] }).columns,
    ),
  )
  const columnsByRoot = getProtocol('data_column_sidecars_by_root', 1)
  handlers.set(
    columnsByRoot,
    serveBlocks(
      columnsByRoot,
      (req) => {
        const ids = req.request as Array<{ blockRoot: Uint8Array; columns: number[] }>
        return ids.flatMap((id) => {
          const block = m.source.blockByRoot(id.blockRoot)
          return block ? columnsOf(block.slot, id.columns) : []
        })
      },
      'column',
      (req) => {
        const ids = req.request as Array<{ blockRoot: Uint8Array; columns: number[] }>
        m.onColumnIdsAsked?.(ids.flatMap((id) => id.columns.map((column) => ({ root: id.blockRoot, column }))))
        return ids.flatMap((id) => id.columns)
      },
    ),
  )
  return handlers
}

/** Status, MetaData, Ping and Goodbye, answered from the peer's own state. */
function handshakeHandlers(m: PeerHandlerModules): Map<ProtocolDef, RequestHandler> {
  const statusHandler = (def: ProtocolDef) => () => one(encodeStatus(def, m.source.status()))
  const metadataHandler = (def: ProtocolDef) => () => one(encodeMetadata(def, m.metadata))
  return new Map<ProtocolDef, RequestHandler>([
    [getProtocol('status', 1), statusHandler(getProtocol('status', 1))],
    [getProtocol('status', 2), statusHandler(getProtocol('status', 2))],
    [getProtocol('metadata', 2), metadataHandler(getProtocol('metadata', 2))],
    [getProtocol('metadata', 3), metadataHandler(getProtocol('metadata', 3))],
    [getProtocol('ping', 1), () => one(encodeUint64(m.metadata.seqNumber))],
    [getProtocol('goodbye', 1), () => one(encodeUint64(0n))],
  ])
}

/** A data handler: the items `pick` chooses, within the requester's quota, with the peer's fault applied. */
function serveItems(
  m: PeerHandlerModules,
  open: Map<string, number>,
  def: ProtocolDef,
  pick: (req: InboundRequest) => Item[],
  kind: 'block' | 'column',
  asked?: (req: InboundRequest) => number[],
): RequestHandler {
  return async function* (req) {
    if (asked) m.onColumnsAsked?.(asked(req))
    const key = `${req.peerId.toString()}|${def.id}`
    const openNow = (open.get(key) ?? 0) + 1
    open.set(key, openNow)
    m.onConcurrency(def, openNow)
    try {
      const verdict = m.limiter.check(req.peerId.toString(), def.name, def.requestCost(req.request))
      if (!verdict.ok) {
        m.onQuotaExceeded(req)
        throw new ResponseError(RespCode.ServerError, 'REQUEST_ERROR_RATE_LIMITED') // as Lodestar answers (and bans)
      }
      const fault = m.misbehaviour()
      if (fault === 'error') throw new ResponseError(RespCode.ServerError, 'simulated failure')
      if (fault === 'stall') {
        await new Promise((resolve) => req.signal.addEventListener('abort', resolve, { once: true }))
        return
      }
      // Counted once the peer takes a request on, also when the requester stops reading early (a relay that has
      // the block after a range it needs): the count is of requests served, not of streams that ran to their end.
      let chunks = 0
      let bytes = 0
      let counted = true
      try {
        const faultAt = m.faultAtChunk?.() ?? 0
        for (const item of tamperItems(fault, kind, pick(req), m.alteredSlot?.() ?? { index: faultAt })) {
          if (fault === 'slow') await slowDown(req.signal)
          let chunk = encodeResponseChunk(RespCode.Success, item.ssz, m.source.digestAtSlot(item.slot))
          if (fault === 'corrupt') chunk = corruptChunk(chunk)
          yield chunk
          chunks++
          bytes += chunk.length
          if (fault === 'hang' && chunks > faultAt) {
            counted = false
            await new Promise((resolve) => req.signal.addEventListener('abort', resolve, { once: true }))
            return
          }
          if (fault === 'disconnect' && chunks > faultAt) {
            counted = false
            // A reset, not an orderly close: an orderly close would look like a short, complete answer.
            for (const c of m.host.getConnections(req.peerId)) c.abort(new Error('simulated disconnect'))
            return
          }
        }
      } finally {
        if (counted) m.onServed(def, chunks, bytes)
      }
    } finally {
      open.set(key, (open.get(key) ?? 1) - 1)
    }
  }
}

/** The sidecars of the given columns at a slot that the peer has. */
function sidecarsAt(m: PeerHandlerModules, slot: number, columns: number[]): Item[] {
  return columns.flatMap((index) => {
    const ssz = m.source.column(slot, index)
    return ssz ? [{ slot, ssz }] : []
  })
}

/** One response item: its bytes and the slot whose fork digest goes in its context bytes. */
interface Item {
  slot: number
  ssz: Uint8Array
}
