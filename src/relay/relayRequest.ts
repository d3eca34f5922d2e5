import { MAX_REQUEST_BLOCKS_DENEB } from '../spec/reqresp.js'
import { ResponseError } from '../reqresp/errors.js'
import type { ProtocolDef } from '../reqresp/protocols.js'
import { RespCode } from '../wire/constants.js'

/** fulu p2p-interface.md NUMBER_OF_COLUMNS: valid column indices are below it. */
export const NUMBER_OF_COLUMNS = 128

/**
 * An inbound data request, validated and put in canonical form once: the bytes sent upstream and hashed into
 * the cache key, plus what the response checks need (the slot range, the roots and columns asked for).
 */
export interface RelayRequest {
  def: ProtocolDef
  /** Canonical request SSZ (null for protocols with an empty request). */
  ssz: Uint8Array | null
  /** Protocol id + canonical request: equal requests share one cache entry. */
  key: string
  /** Items asked of an upstream, counted as Lodestar counts them: what its quota and the fair queue are charged. */
  cost: number
  /** Items the requester asked for, past the clock included: what the inbound rate limit charges it. */
  askedCost: number
  maxChunks: number
  /** By-range requests: items must have slots in [startSlot, endSlot). */
  range: { startSlot: number; endSlot: number } | null
  /** By-root requests: requested block roots (hex) → column indices asked for (null: any item of that root). */
  roots: Map<string, ReadonlySet<number> | null> | null
  /** Light-client updates by range: sync committee periods in [startPeriod, endPeriod). */
  periods: { startPeriod: number; endPeriod: number } | null
  /** Column indices a by-range column request asks for. */
  columns: ReadonlySet<number> | null
  /** BlocksByRoot: the roots in requested order, for answering from blocks the cache already holds. */
  blockRoots: Uint8Array[] | null
  /** Only these peers may serve it (a column sub-request goes to custodians only); any eligible peer when absent. */
  upstreams?: ReadonlySet<string>
}

/**
 * The newest slot and sync committee period any peer can hold data for: the clock's, with the gossip clock
 * disparity. A range is answered up to it; what lies beyond is not asked of any upstream.
 */
export interface Horizon {
  slot: number
  period: number
}

interface RangeRequest {
  startSlot: number
  count: number
  step?: number
  columns?: number[]
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function invalid(message: string): never {
  throw new ResponseError(RespCode.InvalidRequest, message)
}

/**
 * Validates and canonicalises a decoded request; throws ResponseError(InvalidRequest) for one no peer should serve.
 * With a horizon, ranges end at it (a range wholly beyond it asks for nothing: maxChunks 0); `askedCost` stays
 * what was asked, as the requester's own node would count it.
 */
export function toRelayRequest(def: ProtocolDef, decoded: unknown, horizon?: Horizon): RelayRequest {
  let request = decoded
  let asked = decoded
  let range: RelayRequest['range'] = null
  let roots: RelayRequest['roots'] = null
  let columns: RelayRequest['columns'] = null
  let periods: RelayRequest['periods'] = null

  switch (def.name) {
    case 'beacon_blocks_by_range':
    case 'blob_sidecars_by_range':
    case 'execution_payload_envelopes_by_range':
    case 'light_client_updates_by_range': {
      const r = decoded as RangeRequest & { startPeriod?: number }
      if (r.count < 1) invalid('count must be at least 1')
      // Serving fewer than asked is allowed: a clamped count keeps every upstream request within its quota.
      const count = Math.min(r.count, MAX_REQUEST_BLOCKS_DENEB)
      if (def.name === 'light_client_updates_by_range') {
        const reachable = withinHorizon(r.startPeriod!, count, horizon?.period)
        asked = { ...r, count }
        request = { ...r, count: reachable }
        periods = { startPeriod: r.startPeriod!, endPeriod: r.startPeriod! + reachable }
        break
      }
      // Since Deneb `step` is deprecated and served as 1.
      const canonical = (n: number) =>
        def.name === 'beacon_blocks_by_range' ? { startSlot: r.startSlot, count: n, step: 1 } : { ...r, count: n }
      const reachable = withinHorizon(r.startSlot, count, horizon?.slot)
      asked = canonical(count)
      request = canonical(reachable)
      range = { startSlot: r.startSlot, endSlot: r.startSlot + reachable }
      break
    }
    case 'data_column_sidecars_by_range': {
      const r = decoded as Required<Pick<RangeRequest, 'startSlot' | 'count' | 'columns'>>
      if (r.count < 1) invalid('count must be at least 1')
      const sorted = canonicalColumns(r.columns)
      if (sorted.length === 0) invalid('no columns requested')
      // Lodestar serves at most MAX_REQUEST_BLOCKS_DENEB slots; 128 slots × 128 columns is the sidecar limit.
      const count = Math.min(r.count, MAX_REQUEST_BLOCKS_DENEB)
      const reachable = withinHorizon(r.startSlot, count, horizon?.slot)
      asked = { startSlot: r.startSlot, count, columns: sorted }
      request = { startSlot: r.startSlot, count: reachable, columns: sorted }
      range = { startSlot: r.startSlot, endSlot: r.startSlot + reachable }
      columns = new Set(sorted)
      break
    }
    case 'light_client_bootstrap': {
      roots = new Map([[hex(decoded as Uint8Array), null]])
      break
    }
    case 'beacon_blocks_by_root':
    case 'execution_payload_envelopes_by_root': {
      roots = new Map((decoded as Uint8Array[]).map((root) => [hex(root), null]))
      break
    }
    case 'blob_sidecars_by_root': {
      const ids = decoded as Array<{ blockRoot: Uint8Array; index: number }>
      roots = groupByRoot(ids.map((id) => ({ blockRoot: id.blockRoot, columns: [id.index] })))
      break
    }
    case 'data_column_sidecars_by_root': {
      const ids = decoded as Array<{ blockRoot: Uint8Array; columns: number[] }>
      for (const id of ids) canonicalColumns(id.columns)
      roots = groupByRoot(ids)
      break
    }
  }

  const ssz = def.request ? def.request.serialize(request) : null
  return {
    def,
    ssz,
    key: `${def.id}|${ssz ? hex(ssz) : ''}`,
    cost: def.requestCost(request),
    askedCost: def.requestCost(asked),
    maxChunks: def.maxResponseChunks(request),
    range,
    roots,
    periods,
    columns,
    // Blocks the cache holds answer a BlocksByRoot request.
    blockRoots: def.name === 'beacon_blocks_by_root' ? (decoded as Uint8Array[]) : null,
  }
}

/** How many of `count` slots or periods from `first` are at or below `last` (all of them without a horizon). */
function withinHorizon(first: number, count: number, last: number | undefined): number {
  return last === undefined ? count : Math.max(0, Math.min(count, last + 1 - first))
}

function canonicalColumns(columns: number[]): number[] {
  for (const c of columns) if (c >= NUMBER_OF_COLUMNS) invalid(`column ${c} is not below ${NUMBER_OF_COLUMNS}`)
  return [...new Set(columns)].sort((a, b) => a - b)
}

function groupByRoot(ids: Array<{ blockRoot: Uint8Array; columns: number[] }>): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>()
  for (const id of ids) {
    const key = hex(id.blockRoot)
    const set = out.get(key) ?? new Set<number>()
    for (const c of id.columns) set.add(c)
    out.set(key, set)
  }
  return out
}

/**
 * `req`'s range (of slots or of sync committee periods) in consecutive parts, each a request of its own (bytes, key,
 * cost) as large as `fits` allows: null when it is no range that can be split (column ranges are split by custody,
 * columnRouter.ts), or when not even one slot or period fits.
 */
export function rangeParts(req: RelayRequest, fits: (part: RelayRequest) => boolean): RelayRequest[] | null {
  if (!req.def.request || !req.ssz || req.columns || !(req.range || req.periods)) return null
  const whole = req.def.request.deserialize(req.ssz) as { startSlot?: number; startPeriod?: number; count: number }
  const startOf = whole.startPeriod !== undefined ? 'startPeriod' : 'startSlot'
  const start = whole[startOf]!
  const partOf = (offset: number, count: number) =>
    toRelayRequest(req.def, { ...whole, [startOf]: start + offset, count })
  // The largest part that fits: a request's cost grows with its count.
  let size = 0
  let tooLarge = whole.count + 1
  while (tooLarge - size > 1) {
    const mid = Math.floor((size + tooLarge) / 2)
    if (fits(partOf(0, mid))) size = mid
    else tooLarge = mid
  }
  if (size === 0) return null
  const parts: RelayRequest[] = []
  for (let offset = 0; offset < whole.count; offset += size)
    parts.push(partOf(offset, Math.min(size, whole.count - offset)))
  return parts
}

/** The roots of a BlocksByRoot request not among `answered`, as a request of its own; null when none are left. */
export function rootsLeft(req: RelayRequest, answered: readonly Uint8Array[]): RelayRequest | null {
  const done = new Set(answered.map(hex))
  const left = req.blockRoots!.filter((root) => !done.has(hex(root)))
  return left.length > 0 ? toRelayRequest(req.def, left) : null
}

/** The rest of `req`'s sync committee periods from `startPeriod` on, as a request of its own. */
export function periodsFrom(req: RelayRequest, startPeriod: number): RelayRequest {
  const whole = req.def.request!.deserialize(req.ssz!) as { startPeriod: number; count: number }
  return toRelayRequest(req.def, { ...whole, startPeriod, count: req.periods!.endPeriod - startPeriod })
}

/** The rest of `req`'s slot range from `startSlot` on, as a request of its own (bytes, key, cost). */
export function rangeFrom(req: RelayRequest, startSlot: number): RelayRequest {
  const whole = req.def.request!.deserialize(req.ssz!) as { startSlot: number; count: number }
  return toRelayRequest(req.def, { ...whole, startSlot, count: req.range!.endSlot - startSlot })
}
