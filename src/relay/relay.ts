import type { PeerId } from '@libp2p/interface'
import type { ForkName } from '@lodestar/params'
import type { ForkSchedule } from '../chain/index.js'
import { type ChainView, equalBytes } from '../chain/chainView.js'
import type { InboundRateLimiter } from '../limits/index.js'
import type { Logger } from '../logger.js'
import { penaltyForRequestError } from '../peers/penalties.js'
import { PeerAction, type PeerScores } from '../peers/score.js'
import type { ReqRespClient } from '../reqresp/client.js'
import { RequestError, RequestErrorCode, ResponseError } from '../reqresp/errors.js'
import type { ProtocolDef } from '../reqresp/protocols.js'
import type { ResponseTypes } from '../reqresp/responseTypes.js'
import type { InboundRequest, RequestHandler } from '../reqresp/server.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { ByteReader, RespCode, type ResponseChunk, readResponseChunk, type WireBytes } from '../wire/index.js'
import { type CheckedItem, ChunkValidator, InvalidChunkError } from './chunkValidator.js'
import { COLUMN_ROUTER_DEFAULTS, ColumnRouter } from './columnRouter.js'
import { itemBytesRead, itemFacts } from './items.js'
import type { RelayMetrics } from './metrics.js'
import { type RelayRequest, toRelayRequest } from './relayRequest.js'
import type { CachedResponse, ResponseCache } from './responseCache.js'
import { QueueError, QueueErrorCode, type Upstream, type UpstreamQueue } from './upstreamQueue.js'
import type { UpstreamSelector } from './upstreamSelector.js'

export const RELAY_DEFAULTS = {
  /** Upstreams tried per request before giving up: a third rarely helps within the requester's patience. */
  maxAttempts: 3,
  /** Lodestar requesters wait 5 s for a first byte: answer with data or an error well before. */
  firstChunkDeadlineMs: 4_000,
}

/**
 * A second cache tier shared with other instances (the fleet's Redis). Whatever it returns is only bytes: each
 * chunk is checked like an upstream's before it is replayed.
 */
export interface SharedResponseTier {
  get(
    key: string,
    digest: Uint8Array,
  ): Promise<{ kind: 'hit'; chunks: Uint8Array[] } | { kind: 'invalid'; reason: string } | { kind: string }>
  put(key: string, digest: Uint8Array, chunks: readonly WireBytes[], finalized: boolean): void
  /** Counts a shared entry that failed the relay's checks (the tier counts those that fail its own). */
  noteInvalid(reason: string): void
}

export interface RelayModules {
  client: ReqRespClient
  selector: UpstreamSelector
  queue: UpstreamQueue
  cache: ResponseCache
  limiter: InboundRateLimiter
  scores: PeerScores
  forkSchedule: ForkSchedule
  responseTypes: ResponseTypes
  chainView: ChainView
  metrics: RelayMetrics | null
  logger: Logger
  shared?: SharedResponseTier | null
}

type Result =
  | 'success'
  | 'cache_hit'
  | 'fleet_hit'
  | 'coalesced'
  | 'rate_limited'
  | 'queue_full'
  | 'no_upstream'
  | 'upstream_failed'
  | 'failed_after_first_chunk'
  | 'invalid_request'
  | 'aborted'

/** Ends a relayed request with a spec error code and a metrics result. */
class RelayFailure extends ResponseError {
  constructor(
    code: RespCode,
    message: string,
    readonly result: Result,
  ) {
    super(code, message)
  }
}

/**
 * Serves data requests by forwarding them: rate limit, cache, then upstreams chosen by the selector, with
 * every chunk checked before it is streamed to the requester and teed into the cache. Failover happens only
 * before the first chunk left; after it, a failure ends the response with an error chunk.
 */
export class Relay {
  /** Requests on their way upstream, by cache key: resolved when the answer is complete (and cached) or failed. */
  private readonly inFlight = new Map<string, Promise<void>>()
  /** Cached block chunks already checked to hash to the root they are filed under. */
  private readonly verified = new WeakSet<WireBytes>()
  /** Data column requests go to the peers that custody the columns, split and merged (columnRouter.ts). */
  private readonly columns: ColumnRouter

  constructor(
    private readonly modules: RelayModules,
    private readonly opts = RELAY_DEFAULTS,
  ) {
    this.columns = new ColumnRouter(
      {
        ...modules,
        penalise: (req, peer, e, deadlinePassed) => this.penalise(req, peer, e, deadlinePassed),
        remember: (req, chunks, items) => this.remember(req, chunks, items, true),
        maxEntryBytes: () => modules.cache.maxEntryBytes,
      },
      { ...COLUMN_ROUTER_DEFAULTS, firstChunkDeadlineMs: opts.firstChunkDeadlineMs },
    )
  }

  handlerFor(def: ProtocolDef): RequestHandler {
    return (inbound) => this.serve(def, inbound)
  }

  private async *serve(def: ProtocolDef, inbound: InboundRequest): AsyncGenerator<WireBytes> {
    const { metrics } = this.modules
    const label = `${def.name}/${def.version}`
    const startedMs = Date.now()
    let result: Result = 'success'
    let sent = 0
    try {
      let req: RelayRequest
      try {
        req = toRelayRequest(def, inbound.request)
      } catch (e) {
        if (e instanceof ResponseError) throw new RelayFailure(e.code, e.message, 'invalid_request')
        throw e
      }
      await this.admit(inbound.peerId, req, inbound.signal)
      let cached = this.modules.cache.get(req.key) ?? (await this.cachedBlocks(req))
      const pending = cached ? undefined : this.inFlight.get(req.key)
      if (pending) {
        // The same request is already on its way upstream: wait for its answer to land in the cache.
        await waitFor(pending, this.opts.firstChunkDeadlineMs, inbound.signal)
        cached = this.modules.cache.get(req.key)
        if (cached) result = 'coalesced'
      } else if (cached) {
        result = 'cache_hit'
      } else if (this.modules.shared) {
        cached = await this.fromShared(req, this.modules.shared)
        if (cached) result = 'fleet_hit'
      }
      if (cached) {
        sent = cached.chunks.length
        const source = result === 'fleet_hit' ? 'fleet' : 'cache'
        for (const chunk of cached.chunks) {
          metrics?.chunks.inc({ protocol: label, source })
          metrics?.bytes.inc({ protocol: label, source }, chunk.byteLength)
          yield chunk
        }
        return
      }
      for await (const chunk of this.forwardOnce(req, inbound.peerId.toString(), inbound.signal)) {
        sent++
        yield chunk
      }
    } catch (e) {
      result = e instanceof RelayFailure ? e.result : inbound.signal.aborted ? 'aborted' : 'upstream_failed'
      throw e
    } finally {
      if (inbound.signal.aborted && result === 'success') result = 'aborted'
      const ms = Date.now() - startedMs
      this.modules.logger.debug(
        { peer: inbound.peerId.toString(), protocol: label, result, chunks: sent, ms },
        'relayed',
      )
      metrics?.requests.inc({ protocol: label, result })
      metrics?.requestSeconds.observe(
        { protocol: label, source: result === 'cache_hit' ? 'cache' : result === 'fleet_hit' ? 'fleet' : 'upstream' },
        ms / 1000,
      )
    }
  }

  /** Inbound rate limit: a short delay when the requester is slightly over, ResourceUnavailable and a penalty beyond. */
  private async admit(peerId: PeerId, req: RelayRequest, signal: AbortSignal): Promise<void> {
    const label = `${req.def.name}/${req.def.version}`
    const verdict = this.modules.limiter.check(peerId.toString(), req.def.name, req.cost)
    if (!verdict.ok) {
      this.modules.metrics?.rateLimited.inc({ protocol: label, outcome: verdict.reason })
      this.modules.scores.apply(peerId.toString(), PeerAction.MidToleranceError, `rate_limited_${req.def.name}`)
      throw new RelayFailure(RespCode.ResourceUnavailable, 'rate limited', 'rate_limited')
    }
    if (verdict.delayMs > 0) {
      this.modules.metrics?.rateLimited.inc({ protocol: label, outcome: 'delayed' })
      await sleep(verdict.delayMs, signal)
    }
  }

  /** Forwards, letting identical requests that arrive meanwhile wait for this one's answer instead of their own. */
  private async *forwardOnce(req: RelayRequest, requester: string, signal: AbortSignal): AsyncGenerator<WireBytes> {
    let finish!: () => void
    const done = new Promise<void>((resolve) => (finish = resolve))
    this.inFlight.set(req.key, done)
    try {
      if (this.columns.handles(req)) yield* this.columns.serve(req, requester, signal)
      else yield* this.forward(req, requester, signal)
    } finally {
      if (this.inFlight.get(req.key) === done) this.inFlight.delete(req.key)
      finish()
    }
  }

  private async *forward(req: RelayRequest, requester: string, signal: AbortSignal): AsyncGenerator<WireBytes> {
    const tried = new Set([requester])
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.opts.firstChunkDeadlineMs)])
    let lastError = 'no upstream tried'
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      let upstream: Upstream
      try {
        upstream = await this.modules.queue.acquire(req, tried, deadline)
      } catch (e) {
        if (!(e instanceof QueueError)) throw e
        if (e.code === QueueErrorCode.QUEUE_FULL) {
          throw new RelayFailure(RespCode.ResourceUnavailable, 'busy: request queue full', 'queue_full')
        }
        if (e.code === QueueErrorCode.NO_UPSTREAM && attempt === 0) {
          throw new RelayFailure(RespCode.ResourceUnavailable, 'no peer to serve this', 'no_upstream')
        }
        break // deadline, or no untried upstream left
      }
      const peer = upstream.peer.peerId.toString()
      tried.add(peer)
      if (attempt > 0) this.modules.metrics?.failovers.inc({ protocol: `${req.def.name}/${req.def.version}` })
      this.modules.metrics?.upstreamChoice.inc({
        protocol: `${req.def.name}/${req.def.version}`,
        client: upstream.peer.client,
      })
      const outcome = yield* this.fromUpstream(req, upstream, deadline, signal)
      if (outcome.done) return
      lastError = outcome.error
    }
    throw new RelayFailure(RespCode.ResourceUnavailable, `no upstream could serve it: ${lastError}`, 'upstream_failed')
  }

  /**
   * One upstream call. Chunks are checked, forwarded and collected for the cache. Returns done after a complete
   * response; returns the error when the call failed before its first chunk (the caller fails over); throws
   * a ServerError answer when it failed after chunks had been forwarded.
   */
  private async *fromUpstream(
    req: RelayRequest,
    upstream: Upstream,
    deadline: AbortSignal,
    signal: AbortSignal,
  ): AsyncGenerator<WireBytes, { done: true } | { done: false; error: string }> {
    const { metrics, client } = this.modules
    const label = `${req.def.name}/${req.def.version}`
    const peer = upstream.peer.peerId.toString()
    const validator = new ChunkValidator({ forkSchedule: this.modules.forkSchedule }, req)
    const collected: ResponseChunk[] = []
    const items: CheckedItem[] = []
    let collectedBytes = 0
    let cacheable = true
    let forwarded = 0
    const startedMs = Date.now()
    // Before the first chunk the request's deadline applies; after it, the client's per-chunk timeouts.
    const call = new AbortController()
    const onDeadline = () => forwarded === 0 && call.abort(deadline.reason)
    const onGone = () => call.abort(signal.reason)
    deadline.addEventListener('abort', onDeadline, { once: true })
    signal.addEventListener('abort', onGone, { once: true })
    try {
      for await (const chunk of client.request(upstream.peer.peerId, req.def, req.ssz, {
        maxChunks: req.maxChunks,
        signal: call.signal,
        sszPrefixBytes: itemBytesRead(req.def.name),
      })) {
        let checked
        try {
          checked = validator.check(chunk)
        } catch (e) {
          call.abort(e) // the upstream stream is reset, not drained
          throw e
        }
        if (forwarded === 0) this.modules.selector.recordLatency(peer, Date.now() - startedMs)
        forwarded++
        metrics?.chunks.inc({ protocol: label, source: 'upstream' })
        metrics?.bytes.inc({ protocol: label, source: 'upstream' }, chunk.raw.byteLength)
        yield chunk.raw
        collectedBytes += chunk.raw.byteLength
        if (cacheable && collectedBytes > this.modules.cache.maxEntryBytes) {
          // Too big to cache: stop holding it (a column response can reach hundreds of MB).
          cacheable = false
          collected.length = items.length = 0
        }
        if (cacheable) {
          collected.push(chunk)
          items.push(checked)
        }
      }
      if (forwarded === 0) this.modules.selector.recordLatency(peer, Date.now() - startedMs)
      const ms = Date.now() - startedMs
      metrics?.upstreamSeconds.observe({ protocol: label }, ms / 1000)
      this.modules.logger.debug({ upstream: peer, protocol: label, chunks: forwarded, ms }, 'upstream answered')
      if (cacheable) this.remember(req, collected, items, true)
      return { done: true }
    } catch (e) {
      if (signal.aborted) throw e // the requester left: nobody to answer
      const reason = this.penalise(req, peer, e, forwarded === 0 && deadline.aborted)
      metrics?.upstreamErrors.inc({ protocol: label, reason })
      this.modules.logger.debug({ peer, protocol: req.def.id, reason, forwarded, err: e }, 'upstream failed')
      if (forwarded > 0) {
        throw new RelayFailure(
          RespCode.ServerError,
          `upstream failed mid-response: ${reason}`,
          'failed_after_first_chunk',
        )
      }
      return { done: false, error: reason }
    } finally {
      deadline.removeEventListener('abort', onDeadline)
      signal.removeEventListener('abort', onGone)
      upstream.release()
    }
  }

  /**
   * Charges the upstream for its failure through the one error → penalty mapping (a refused chunk is an invalid
   * response, our deadline cutting a silent upstream short a time-to-first-byte timeout); returns the reason label.
   */
  private penalise(req: RelayRequest, peer: string, e: unknown, deadlinePassed: boolean): string {
    let err: RequestError
    let reason: string
    if (e instanceof InvalidChunkError) {
      err = new RequestError(RequestErrorCode.INVALID_RESPONSE, req.def.id, e.message, { cause: e })
      reason = e.reason
    } else if (e instanceof RequestError && e.code === RequestErrorCode.ABORTED && deadlinePassed) {
      err = new RequestError(RequestErrorCode.TTFB_TIMEOUT, req.def.id, 'no first chunk before the deadline')
      reason = 'deadline'
    } else if (e instanceof RequestError) {
      err = e
      reason = e.code === RequestErrorCode.ERROR_RESPONSE ? `error_response_${e.detail.respCode}` : e.code
    } else {
      this.modules.logger.warn({ err: e, protocol: req.def.id }, 'unexpected relay error')
      return 'internal'
    }
    const action = penaltyForRequestError(err)
    if (action) this.modules.scores.apply(peer, action, `relay_${reason.toLowerCase()}`)
    return reason
  }

  /**
   * Caches a complete, validated response. Blocks are also indexed by root without hashing them: in a range
   * response each block's root is the next one's parent_root (the last block, with no successor, is left out).
   * Those roots are only claimed by the upstream, so a by-root answer from the index is verified when served.
   */
  private remember(req: RelayRequest, chunks: ResponseChunk[], items: CheckedItem[], share: boolean): void {
    const { cache, chainView, forkSchedule, shared } = this.modules
    const finalizedSlot = chainView.status().finalizedEpoch * forkSchedule.config.slotsPerEpoch
    // Immutable once finalized: a range ending there, or items that all lie there (items without a slot never do).
    const lastSlot = req.range
      ? req.range.endSlot - 1
      : items.reduce<number>((max, item) => Math.max(max, item.slot ?? Infinity), -1)
    const finalized = (req.range !== null || chunks.length > 0) && lastSlot <= finalizedSlot
    const raw = chunks.map((c) => c.raw)
    cache.set(req.key, raw, { finalized })
    if (share && shared && (chunks.length > 0 || finalized))
      shared.put(req.key, chainView.currentDigest(), raw, finalized)
    const blocks: Array<{ root: Uint8Array; chunk: WireBytes }> = []
    if (req.def.name === 'beacon_blocks_by_root') {
      for (let i = 0; i < chunks.length; i++) blocks.push({ root: items[i].blockRoot!, chunk: chunks[i].raw })
    } else if (req.def.name === 'beacon_blocks_by_range') {
      for (let i = 0; i + 1 < chunks.length; i++) {
        blocks.push({ root: Uint8Array.from(items[i + 1].parentRoot!), chunk: chunks[i].raw })
      }
    }
    if (blocks.length > 0) cache.setBlocks(blocks, { finalized })
  }

  /**
   * A response another instance stored, checked chunk by chunk as an upstream's answer would be (framing, CRCs,
   * bounds, digest, range, roots); anything that fails is ignored and counted, and the request goes upstream.
   * A good one is kept in the local cache too.
   */
  private async fromShared(req: RelayRequest, shared: SharedResponseTier): Promise<CachedResponse | undefined> {
    const found = await shared.get(req.key, this.modules.chainView.currentDigest())
    if (found.kind !== 'hit') return undefined
    const stored = (found as { chunks: Uint8Array[] }).chunks
    if (stored.length > req.maxChunks) {
      shared.noteInvalid('too_many_chunks')
      return undefined
    }
    const validator = new ChunkValidator({ forkSchedule: this.modules.forkSchedule }, req)
    const boundsFor = this.modules.responseTypes.boundsFor(req.def)
    const chunks: ResponseChunk[] = []
    const items: CheckedItem[] = []
    try {
      for (const bytes of stored) {
        const reader = new ByteReader(
          (async function* () {
            yield bytes
          })(),
        )
        const chunk = await readResponseChunk(reader, { contextBytes: req.def.contextBytes, boundsFor })
        if (!chunk || chunk.result !== RespCode.Success || !(await reader.isEnd())) {
          shared.noteInvalid('chunk')
          return undefined
        }
        items.push(validator.check(chunk))
        chunks.push(chunk)
      }
    } catch (e) {
      shared.noteInvalid(e instanceof InvalidChunkError ? e.reason : 'chunk')
      return undefined
    }
    this.remember(req, chunks, items, false)
    const replay = chunks.map((c) => (c.raw instanceof Uint8ArrayList ? c.raw : new Uint8ArrayList(c.raw)))
    return { chunks: replay, bytes: replay.reduce((n, c) => n + c.byteLength, 0) }
  }

  /**
   * BlocksByRoot answered from blocks the cache holds by root, each checked (once) to hash to the root it is
   * filed under; a block that does not is dropped and the request goes upstream.
   */
  private async cachedBlocks(req: RelayRequest): Promise<CachedResponse | undefined> {
    const roots = req.blockRoots
    if (!roots || roots.length === 0) return undefined
    const cached = this.modules.cache.getBlocksByRoot(roots)
    if (!cached) return undefined
    for (let i = 0; i < roots.length; i++) {
      const chunk = cached.chunks[i]
      if (this.verified.has(chunk)) continue
      if (!(await this.hashesTo(req, chunk, roots[i]))) {
        this.modules.cache.deleteBlock(roots[i])
        return undefined
      }
      this.verified.add(chunk)
    }
    return cached
  }

  private async hashesTo(req: RelayRequest, raw: WireBytes, root: Uint8Array): Promise<boolean> {
    try {
      const reader = new ByteReader(
        (async function* () {
          yield raw
        })(),
      )
      const boundsFor = this.modules.responseTypes.boundsFor(req.def)
      const chunk = await readResponseChunk(reader, { contextBytes: true, boundsFor })
      const boundary = this.modules.forkSchedule.forkForDigest(chunk!.contextBytes!)!
      const facts = itemFacts(req.def.name, boundary.fork.name as ForkName, chunk!.ssz!)!
      return equalBytes(facts.blockRoot(), root)
    } catch {
      return false
    }
  }
}

/** Waits for `promise`, at most `ms`, or until the signal fires (then throws its reason). */
async function waitFor(promise: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  const bound = AbortSignal.any([signal, AbortSignal.timeout(ms)])
  await Promise.race([
    promise,
    new Promise<void>((resolve) => bound.addEventListener('abort', () => resolve(), { once: true })),
  ])
  if (signal.aborted) throw signal.reason
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(done, ms)
    function done() {
      signal.removeEventListener('abort', gone)
      resolve()
    }
    function gone() {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', gone, { once: true })
  })
}
