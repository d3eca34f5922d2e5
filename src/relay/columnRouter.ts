import { ContowerError } from '../errors.js'
import { deadlineSignal } from '../deadline.js'
import { type ForkName, NUMBER_OF_COLUMNS } from '@lodestar/params'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import type { Logger } from '../logger.js'
import type { PeerData } from '../peers/peerStore.js'
import type { ReqRespClient } from '../reqresp/client.js'
import { ResponseError } from '../reqresp/errors.js'
import type { ResponseTypes } from '../reqresp/responseTypes.js'
import { ByteReader } from '../wire/byteReader.js'
import { RespCode } from '../wire/constants.js'
import { type ResponseChunk, readResponseChunk, type WireBytes } from '../wire/chunks.js'
import { type CheckedItem, ChunkValidator, InvalidChunkError } from './chunkValidator.js'
import { type ColumnCandidate, type ColumnPart, planColumns } from './columnPlan.js'
import { type ItemFacts, itemBytesRead, itemFacts } from './items.js'
import type { RelayMetrics } from './metrics.js'
import { type RelayRequest, toRelayRequest } from './relayRequest.js'
import type { ResponseCache } from './responseCache.js'
import { QueueError, type Upstream, type UpstreamQueue } from './upstreamQueue.js'
import type { UpstreamSelector } from './upstreamSelector.js'
import { upstreamCall } from './upstreamCall.js'

export const COLUMN_ROUTER_DEFAULTS = {
  /** Chunks read ahead per sub-request while the merge waits for another one: the merge's whole buffer. */
  prefetchChunks: 16,
  /** Upstream calls one part may make (first try, failovers, resumptions) before its columns are re-planned. */
  maxAttempts: 3,
  /** Re-plans of a part's remaining columns over the custodians not yet tried. */
  maxReplans: 2,
  /**
   * By-root answers have no order in the spec; one part's answer of up to this many sidecars is sorted into
   * (slot, column) order before it is merged (beyond it, the rest follows as it comes).
   */
  byRootSortChunks: 128,
  /** Lodestar requesters wait 5 s for a first byte (and 10 s between chunks): each retry must land before. */
  firstChunkDeadlineMs: 4_000,
  /** Upstream time to first byte (the relay's): a silent custodian leaves time to fail over within the deadline. */
  upstreamTtfbMs: 1_500,
  /** Upstream time for each later chunk (the relay's): a custodian silent mid-response leaves time to go on. */
  upstreamChunkMs: 5_000,
}

export interface ColumnRouterModules {
  client: ReqRespClient
  selector: UpstreamSelector
  queue: UpstreamQueue
  forkSchedule: ForkSchedule
  cache: ResponseCache
  responseTypes: ResponseTypes
  metrics: RelayMetrics | null
  logger: Logger
  /** Charges an upstream for a failed call (the relay's one error → penalty mapping); returns the reason label. */
  penalise(req: RelayRequest, upstream: Upstream, e: unknown, deadlinePassed: boolean): string
  /** Caches a complete answer under the request's key. */
  remember(req: RelayRequest, chunks: ResponseChunk[], items: CheckedItem[]): void
  /** Indexes verified sidecars by (block root, column), for later by-root requests. */
  rememberSidecars(sidecars: Sidecar[]): void
  /** Largest answer the cache keeps: collecting stops beyond it. */
  maxEntryBytes(): number
}

/** One verified column sidecar's chunk and where it belongs. */
export interface Sidecar {
  root: Uint8Array
  column: number
  slot: number
  chunk: WireBytes
}

/** What the cache holds of a request: its items, and the request for the rest (null when nothing is left). */
interface Cached {
  items: Item[]
  hit: boolean
  rest: RelayRequest | null
}

/** (slot, column) as one sortable number: the order the spec requires of a by-range answer. */
const keyOf = (slot: number, column: number) => slot * 128 + column

interface Item {
  key: number
  chunk: Pick<ResponseChunk, 'result' | 'raw'>
  /** Absent for an item replayed from the cache. */
  checked?: CheckedItem
}

/** The columns of one part could not be fetched from anyone: left out, or the answer ends with an error. */
class PartUnavailable extends ContowerError<'PART_UNAVAILABLE'> {
  constructor(readonly columns: number[]) {
    super('PART_UNAVAILABLE', `no custodian served columns ${columns.join(',')}`)
  }
}

/** One answer's progress, shared by its parts. */
interface PartRun {
  calls: number
  /** Sidecars sent from upstreams. */
  sent: number
  unavailable: number
  lost: Set<number>
  requester: string
  /** When the requester's wait for its first chunk began. */
  sinceMs: number
  /** Whether any chunk (from upstreams or the cache) was sent. */
  answered: boolean
}

/**
 * Serves DataColumnSidecarsByRange/ByRoot from the peers that custody the asked columns: the columns are split
 * over as few custodians as possible (columnPlan.ts), each part fetched through the upstream queue (self-limits
 * and all) from one of its custodians only, and the answers merged in (slot, column) order with a bounded
 * read-ahead per part. A part that fails moves to another custodian of its columns, resuming after what was
 * already sent; when none is left its columns are re-planned over the others. Columns nobody custodies are left
 * out and counted; no peer is ever asked for a column it does not custody.
 */
export class ColumnRouter {
  private readonly opts: typeof COLUMN_ROUTER_DEFAULTS

  constructor(
    private readonly modules: ColumnRouterModules,
    opts: Partial<typeof COLUMN_ROUTER_DEFAULTS> = {},
  ) {
    this.opts = { ...COLUMN_ROUTER_DEFAULTS, ...opts }
  }

  /** ms left of the first-chunk deadline for a requester waiting since `sinceMs`. */
  private firstChunkLeftMs(sinceMs: number): number {
    return this.opts.firstChunkDeadlineMs - (Date.now() - sinceMs)
  }

  handles(req: RelayRequest): boolean {
    return req.def.name === 'data_column_sidecars_by_range' || req.def.name === 'data_column_sidecars_by_root'
  }

  /** Answers `req` for a requester waiting since `sinceMs` (its first chunk is due firstChunkDeadlineMs after). */
  async *serve(req: RelayRequest, requester: string, signal: AbortSignal, sinceMs: number): AsyncGenerator<WireBytes> {
    const { metrics } = this.modules
    const label = `${req.def.name}/${req.def.version}`
    // Reuse what is cached (by range: whole columns of this range; by root: single (root, column) sidecars) and
    // ask upstream only for the rest.
    const cached = req.range ? await this.cachedColumns(req, askedColumns(req)) : await this.cachedSidecars(req)
    const upstreamReq = cached.rest ?? req
    const remaining = cached.rest === null ? [] : askedColumns(upstreamReq)
    const exclude = new Set([requester])
    const plan = planColumns(remaining, remaining.length > 0 ? this.candidates(upstreamReq, exclude) : [])
    const run: PartRun = {
      calls: 0,
      sent: 0,
      unavailable: plan.unavailable.length,
      lost: new Set(plan.unavailable),
      requester,
      sinceMs,
      answered: false,
    }
    if (plan.parts.length === 0 && !cached.hit) {
      metrics?.columnsUnavailable.inc({ protocol: label }, run.unavailable)
      throw new ResponseError(RespCode.ResourceUnavailable, 'no peer custodies the asked columns')
    }
    if (!cached.hit && this.firstChunkLeftMs(sinceMs) < this.opts.upstreamTtfbMs) {
      // The requester's wait (for an identical request that then failed) left no custodian its TTFB: busy, rather
      // than an answer with every column left out.
      throw new ResponseError(RespCode.RateLimited, 'busy: no time left to ask an upstream')
    }
    const collected: Item[] = []
    let collectedBytes = 0
    // Whatever was verified is indexed per sidecar; only an answer with nothing left out is cached whole.
    let collecting = true
    const stop = new AbortController()
    const abort = () => stop.abort(signal.reason)
    signal.addEventListener('abort', abort, { once: true })
    try {
      const parts = plan.parts.map((part) =>
        this.leaveOutIfUnserved(this.part(upstreamReq, part, -1, exclude, run, stop.signal, 0), run),
      )
      if (cached.items.length > 0) parts.push(fromList(cached.items))
      for await (const item of merge(parts, this.opts.prefetchChunks)) {
        const source = item.checked ? 'upstream' : 'cache'
        if (source === 'upstream') run.sent++
        run.answered = true
        metrics?.chunks.inc({ protocol: label, source })
        metrics?.bytes.inc({ protocol: label, source }, item.chunk.raw.byteLength)
        yield item.chunk.raw
        if (collecting && source === 'upstream') {
          collected.push(item)
          collectedBytes += item.chunk.raw.byteLength
          if (collectedBytes > this.modules.maxEntryBytes()) {
            collecting = false
            collected.length = 0
          }
        }
      }
      if (collecting && req.range) this.rememberColumns(req, remaining, run.lost, collected)
      else if (collecting && run.unavailable === 0 && !cached.hit) {
        this.modules.remember(
          req,
          collected.map((i) => i.chunk as ResponseChunk),
          collected.map((i) => i.checked!),
        )
      }
      // After the entries above, so a sidecar they already keep is not charged again.
      if (collecting) {
        const { forkSchedule } = this.modules
        this.modules.rememberSidecars(
          collected.map((i) => sidecarOf(forkSchedule, i, req)).filter((x): x is Sidecar => x !== null),
        )
      }
    } catch (e) {
      if (signal.aborted || e instanceof ResponseError) throw e
      // Some columns were already sent: leaving the rest out would break "all sidecars of each block".
      throw new ResponseError(RespCode.ServerError, `column upstreams failed mid-response: ${(e as Error).message}`)
    } finally {
      signal.removeEventListener('abort', abort)
      stop.abort()
      metrics?.columnSubRequests.observe({ protocol: label }, run.calls)
      metrics?.columnsDelivered.inc({ protocol: label }, run.sent)
      if (run.unavailable > 0) metrics?.columnsUnavailable.inc({ protocol: label }, run.unavailable)
    }
  }

  /** A part nobody could serve before it sent anything is left out of the answer (and counted), like a column nobody custodies. */
  private async *leaveOutIfUnserved(
    items: AsyncGenerator<Item>,
    run: { unavailable: number; lost: Set<number> },
  ): AsyncGenerator<Item> {
    let yielded = 0
    try {
      for await (const item of items) {
        yielded++
        yield item
      }
    } catch (e) {
      if (!(e instanceof PartUnavailable) || yielded > 0) throw e
      run.unavailable += e.columns.length
      for (const c of e.columns) run.lost.add(c)
    }
  }

  /** Caches each fully fetched column of a by-range answer under its one-column request's key. */
  private rememberColumns(req: RelayRequest, columns: number[], lost: ReadonlySet<number>, items: Item[]): void {
    for (const column of columns) {
      if (lost.has(column)) continue
      const mine = items.filter((i) => i.key % NUMBER_OF_COLUMNS === column)
      this.modules.remember(
        columnRequest(req, column),
        mine.map((i) => i.chunk as ResponseChunk),
        mine.map((i) => i.checked!),
      )
    }
  }

  /** The asked columns cached for exactly this range, with their items (the slot read back from each chunk). */
  private async cachedColumns(req: RelayRequest, asked: number[]): Promise<Cached> {
    const items: Item[] = []
    const columns = new Set<number>()
    for (const column of asked) {
      const hit = this.modules.cache.get(columnRequest(req, column).key)
      if (!hit) continue
      const found: Item[] = []
      for (const raw of hit.chunks) {
        const slot = await this.slotOf(req, raw)
        if (slot === null) break
        found.push({ key: keyOf(slot, column), chunk: { result: RespCode.Success, raw } })
      }
      if (found.length !== hit.chunks.length) continue // unreadable: fetch the column again
      columns.add(column)
      items.push(...found)
    }
    const remaining = asked.filter((c) => !columns.has(c))
    const rest =
      remaining.length === 0
        ? null
        : columns.size === 0
          ? req
          : toRelayRequest(req.def, { startSlot: req.range!.startSlot, count: rangeCount(req), columns: remaining })
    return { items: items.sort((a, b) => a.key - b.key), hit: columns.size > 0, rest }
  }

  /** The asked (root, column) sidecars cached from any earlier answer, and the by-root request for the others. */
  private async cachedSidecars(req: RelayRequest): Promise<Cached> {
    const asked: Array<{ root: Uint8Array; column: number }> = []
    for (const [root, cols] of req.roots ?? []) {
      for (const column of cols ?? []) asked.push({ root: Buffer.from(root, 'hex'), column })
    }
    const found = this.modules.cache.getColumns(asked)
    const items: Item[] = []
    const missing = new Map<string, { blockRoot: Uint8Array; columns: number[] }>()
    for (let i = 0; i < asked.length; i++) {
      const raw = found[i]
      const slot = raw ? await this.slotOf(req, raw) : null
      if (raw && slot !== null) {
        items.push({ key: keyOf(slot, asked[i].column), chunk: { result: RespCode.Success, raw } })
        continue
      }
      const hex = Buffer.from(asked[i].root).toString('hex')
      const id = missing.get(hex) ?? { blockRoot: asked[i].root, columns: [] }
      id.columns.push(asked[i].column)
      missing.set(hex, id)
    }
    const rest = missing.size === 0 ? null : items.length === 0 ? req : toRelayRequest(req.def, [...missing.values()])
    return { items: items.sort((a, b) => a.key - b.key), hit: items.length > 0, rest }
  }

  /** The slot of a cached sidecar chunk (its frames are read again; only the header's prefix is kept). */
  private async slotOf(req: RelayRequest, raw: WireBytes): Promise<number | null> {
    try {
      const reader = new ByteReader(
        (async function* () {
          yield raw
        })(),
      )
      const chunk = await readResponseChunk(reader, {
        contextBytes: true,
        boundsFor: this.modules.responseTypes.boundsFor(req.def),
        sszPrefixBytes: itemBytesRead(req.def.name),
      })
      return chunk ? (chunkFacts(this.modules.forkSchedule, req, chunk)?.slot ?? null) : null
    } catch {
      return null
    }
  }

  /** Handshaken peers that may serve this request (protocol, score, Status range) with a known custody. */
  private candidates(req: RelayRequest, exclude: ReadonlySet<string>): ColumnCandidate[] {
    const { selector } = this.modules
    return selector
      .eligible(req, exclude)
      .filter((p): p is PeerData & { custody: NonNullable<PeerData['custody']> } => !!p.custody)
      .map((p) => ({
        id: p.peerId.toString(),
        custody: p.custody.columns,
        ready: selector.canServe(p, req),
        rank: selector.rank(p),
      }))
  }

  /**
   * One part's items in (slot, column) order after `afterKey`: from one of its custodians, failing over to the
   * next (resuming after the last item delivered), then re-planned over custodians not yet tried.
   */
  private async *part(
    req: RelayRequest,
    part: ColumnPart,
    afterKey: number,
    exclude: ReadonlySet<string>,
    run: PartRun,
    signal: AbortSignal,
    replans: number,
  ): AsyncGenerator<Item> {
    const tried = new Set(exclude)
    // By range, items come in key order: resume after the last. By root they may not: remember each one sent.
    let last = afterKey
    const sent = new Set<number>()
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      const custodians = new Set(part.custodians.filter((id) => !tried.has(id)))
      if (custodians.size === 0) break
      const sub = subRequest(req, part.columns, last, custodians)
      if (!sub) return // the range was fully delivered before the failure
      // Before the answer's first chunk, the requester's wait since its request counts against the deadline; an
      // upstream is not asked without its TTFB left (it would be charged for our wait).
      const leftMs = run.answered ? this.opts.firstChunkDeadlineMs : this.firstChunkLeftMs(run.sinceMs)
      if (leftMs < this.opts.upstreamTtfbMs) break
      const deadline = deadlineSignal([signal], leftMs)
      try {
        let upstream: Upstream
        try {
          upstream = await this.modules.queue.acquire(sub, tried, deadline, run.requester)
        } catch (e) {
          if (e instanceof QueueError) break
          throw e
        }
        const peer = upstream.peer.peerId.toString()
        tried.add(peer)
        run.calls++
        if (attempt > 0) this.modules.metrics?.failovers.inc({ protocol: `${req.def.name}/${req.def.version}` })
        let received = 0
        try {
          const items = this.fromUpstream(sub, upstream, deadline, signal)
          for await (const item of sub.range ? items : sortBounded(items, this.opts.byRootSortChunks)) {
            received++
            if (sub.range ? item.key <= last : sent.has(item.key)) continue // sent before a resumption
            last = item.key
            if (!sub.range) sent.add(item.key)
            yield item
          }
          return
        } catch (e) {
          if (signal.aborted) throw e
          const reason = this.modules.penalise(sub, upstream, e, received === 0 && deadline.aborted)
          this.modules.metrics?.upstreamErrors.inc({ protocol: `${req.def.name}/${req.def.version}`, reason })
          this.modules.logger.debug({ peer, columns: part.columns, reason, received }, 'column part failed')
        }
      } finally {
        deadline.clear()
      }
    }
    // Every custodian of all the part's columns was tried: split what is left over those not tried yet.
    const plan = replans < this.opts.maxReplans ? planColumns(part.columns, this.candidates(req, tried)) : null
    if (!plan || plan.parts.length === 0) throw new PartUnavailable(part.columns)
    run.unavailable += plan.unavailable.length // custodied by no one left: left out like any such column
    for (const c of plan.unavailable) run.lost.add(c)
    yield* merge(
      plan.parts.map((p) => this.part(req, p, last, tried, run, signal, replans + 1)),
      this.opts.prefetchChunks,
    )
  }

  /** One upstream call's checked items; throws on any failure (the caller fails over). */
  private async *fromUpstream(
    sub: RelayRequest,
    upstream: Upstream,
    deadline: AbortSignal,
    signal: AbortSignal,
  ): AsyncGenerator<Item> {
    const peer = upstream.peer.peerId.toString()
    const validator = new ChunkValidator({ forkSchedule: this.modules.forkSchedule }, sub)
    let received = 0
    const call = upstreamCall(deadline, signal, () => received > 0)
    const startedMs = Date.now()
    let previous = -1
    try {
      for await (const chunk of this.modules.client.request(upstream.peer.peerId, sub.def, sub.ssz, {
        maxChunks: sub.maxChunks,
        signal: call.signal,
        sszPrefixBytes: itemBytesRead(sub.def.name),
        ttfbTimeoutMs: this.opts.upstreamTtfbMs,
        respTimeoutMs: this.opts.upstreamChunkMs,
      })) {
        const checked = await validator.check(chunk)
        const key = keyOf(checked.slot ?? 0, columnIndex(chunk))
        // The merge relies on each part's order; by-root answers have none in the spec, so only by-range is held to it.
        if (sub.range && key <= previous) {
          throw new InvalidChunkError('slot_not_increasing', `(slot, column) ${key} after ${previous}`)
        }
        previous = Math.max(previous, key)
        if (received === 0) this.modules.selector.recordLatency(peer, Date.now() - startedMs)
        received++
        yield { key, chunk, checked }
      }
      if (received === 0) this.modules.selector.recordLatency(peer, Date.now() - startedMs)
    } catch (e) {
      call.abort(e)
      throw e
    } finally {
      call.dispose()
      upstream.release()
    }
  }
}

/** The by-range request for one column of `req`'s range: the key that column is cached under. */
function columnRequest(req: RelayRequest, column: number): RelayRequest {
  return toRelayRequest(req.def, { startSlot: req.range!.startSlot, count: rangeCount(req), columns: [column] })
}

function rangeCount(req: RelayRequest): number {
  return req.range!.endSlot - req.range!.startSlot
}

async function* fromList(items: Item[]): AsyncGenerator<Item> {
  yield* items
}

/** Every column index the request asks for (by-root: the union over its roots). */
function askedColumns(req: RelayRequest): number[] {
  if (req.columns) return [...req.columns]
  const out = new Set<number>()
  for (const cols of req.roots?.values() ?? []) for (const c of cols ?? []) out.add(c)
  return [...out].sort((a, b) => a - b)
}

/**
 * The request for `columns` only, restricted to `custodians`; by-range resumes at the slot of `afterKey` (items
 * up to it are skipped by the caller). Null when nothing is left to ask.
 */
function subRequest(
  req: RelayRequest,
  columns: number[],
  afterKey: number,
  custodians: ReadonlySet<string>,
): RelayRequest | null {
  let decoded: unknown
  if (req.range) {
    const startSlot = Math.max(req.range.startSlot, Math.floor(afterKey / 128))
    if (startSlot >= req.range.endSlot) return null
    decoded = { startSlot, count: req.range.endSlot - startSlot, columns }
  } else {
    const wanted = new Set(columns)
    const ids: Array<{ blockRoot: Uint8Array; columns: number[] }> = []
    for (const [root, cols] of req.roots ?? []) {
      const mine = [...(cols ?? [])].filter((c) => wanted.has(c))
      if (mine.length > 0) ids.push({ blockRoot: Buffer.from(root, 'hex'), columns: mine })
    }
    if (ids.length === 0) return null
    decoded = ids
  }
  return { ...toRelayRequest(req.def, decoded), upstreams: custodians }
}

/**
 * A verified upstream item as the (root, column) index keeps it, or null for one without a readable header. The
 * root is the one its block is asked by: hash_tree_root of a Fulu sidecar's BeaconBlockHeader, a Gloas sidecar's
 * beacon_block_root.
 */
function sidecarOf(forkSchedule: ForkSchedule, item: Item, req: RelayRequest): Sidecar | null {
  const chunk = item.chunk as ResponseChunk
  const facts = chunkFacts(forkSchedule, req, chunk)
  if (!facts || facts.slot === null) return null
  return { root: facts.blockRoot(), column: item.key % NUMBER_OF_COLUMNS, slot: facts.slot, chunk: chunk.raw }
}

/** A sidecar chunk's facts, read with the layout of the fork its context bytes name (null when unknown). */
function chunkFacts(forkSchedule: ForkSchedule, req: RelayRequest, chunk: ResponseChunk): ItemFacts | null {
  const fork = chunk.contextBytes && forkSchedule.forkForDigest(chunk.contextBytes)?.fork.name
  return fork && chunk.ssz ? itemFacts(req.def.name, fork as ForkName, chunk.ssz) : null
}

/** DataColumnSidecar.index: the container's first field, a little-endian u64 (a column is below 128). */
function columnIndex(chunk: ResponseChunk): number {
  const ssz = chunk.ssz!
  return new DataView(ssz.buffer, ssz.byteOffset, 8).getUint32(0, true)
}

/** Yields `items` in key order when there are at most `limit` of them; beyond, the sorted first ones, then the rest. */
async function* sortBounded(items: AsyncGenerator<Item>, limit: number): AsyncGenerator<Item> {
  const held: Item[] = []
  for await (const item of items) {
    if (held.length < limit) {
      held.push(item)
      continue
    }
    yield* held.sort((a, b) => a.key - b.key).splice(0)
    yield item
  }
  yield* held.sort((a, b) => a.key - b.key)
}

/**
 * Merges item streams that are each in key order into one in key order. Each stream is read ahead by at most
 * `prefetch` items, so memory is bounded by the number of streams; the first error of any stream ends the merge
 * (and the caller's abort signal ends the others' upstream calls).
 */
async function* merge(sources: AsyncGenerator<Item>[], prefetch: number): AsyncGenerator<Item> {
  const readers = sources.map((s) => new ReadAhead(s, prefetch))
  try {
    const heads = await Promise.all(readers.map((r) => r.next()))
    for (;;) {
      let min = -1
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]
        if (h && (min < 0 || h.key < heads[min]!.key)) min = i
      }
      if (min < 0) return
      yield heads[min]!
      heads[min] = await readers[min].next()
    }
  } finally {
    for (const r of readers) r.close()
  }
}

/** Pulls a stream into a bounded buffer in the background, so a part keeps downloading while the merge waits. */
class ReadAhead {
  private readonly buffer: Item[] = []
  private done = false
  private error: unknown = null
  private wake: (() => void) | null = null
  private space: (() => void) | null = null

  constructor(
    private readonly source: AsyncGenerator<Item>,
    private readonly limit: number,
  ) {
    void this.pump()
  }

  async next(): Promise<Item | null> {
    while (this.buffer.length === 0 && !this.done) await new Promise<void>((r) => (this.wake = r))
    if (this.buffer.length > 0) {
      const item = this.buffer.shift()!
      this.space?.()
      return item
    }
    if (this.error) throw this.error
    return null
  }

  close(): void {
    this.done = true
    this.space?.()
    void this.source.return(undefined).catch(() => {})
  }

  private async pump(): Promise<void> {
    try {
      for await (const item of this.source) {
        if (this.done) return
        this.buffer.push(item)
        this.wake?.()
        while (this.buffer.length >= this.limit && !this.done) await new Promise<void>((r) => (this.space = r))
      }
    } catch (e) {
      this.error = e
    } finally {
      this.done = true
      this.wake?.()
    }
  }
}
