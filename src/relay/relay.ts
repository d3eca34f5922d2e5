import type { PeerId } from '@libp2p/interface'
import { type ClearableSignal, deadlineSignal } from '../deadline.js'
import { EPOCHS_PER_SYNC_COMMITTEE_PERIOD, type ForkName } from '@lodestar/params'
import { type Clock, MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS } from '../chain/clock.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import type { ChainView } from '../chain/chainView.js'
import type { InboundRateLimiter } from '../limits/inboundLimiter.js'
import type { Logger } from '../logger.js'
import { MAX_REQUEST_BLOCKS_DENEB } from '../spec/reqresp.js'
import { isRateLimitAnswer, penaltyForRequestError } from '../peers/penalties.js'
import { type PeerScores } from '../peers/score.js'
import { PeerAction } from '../reqresp/peerAction.js'
import type { ReqRespClient } from '../reqresp/client.js'
import { RequestError, RequestErrorCode, ResponseError } from '../reqresp/errors.js'
import type { ProtocolDef } from '../reqresp/protocols.js'
import type { ResponseTypes } from '../reqresp/responseTypes.js'
import type { InboundRequest, RequestHandler } from '../reqresp/server.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { ByteReader } from '../wire/byteReader.js'
import { RespCode } from '../wire/constants.js'
import { type ResponseChunk, readResponseChunk, type WireBytes } from '../wire/chunks.js'
import type { BlockRootHasher } from '../chain/blockRootHasher.js'
import { SIGNED_BLOCK_FIXED_BYTES } from '../chain/blockRoot.js'
import { type CheckedItem, ChunkValidator, InvalidChunkError } from './chunkValidator.js'
import { ColumnRouter, type Sidecar } from './columnRouter.js'
import { itemBytesRead } from './items.js'
import { KnownRoots } from './knownRoots.js'
import type { RelayMetrics } from './metrics.js'
import {
  type Horizon,
  periodsFrom,
  rangeFrom,
  rangeParts,
  type RelayRequest,
  rootsLeft,
  toRelayRequest,
} from './relayRequest.js'
import type { CachedResponse, ResponseCache } from './responseCache.js'
import { QueueError, QueueErrorCode, type Upstream, type UpstreamQueue } from './upstreamQueue.js'
import type { UpstreamSelector } from './upstreamSelector.js'
import { upstreamCall } from './upstreamCall.js'
import { ForwardedChunks } from './forwardedChunks.js'

/**
 * A BlocksByRange answer without even the block after the range, from an upstream whose head is past it: not taken as
 * the range's answer while another upstream may have blocks there.
 */
const EMPTY_ANSWER = 'empty_answer'

/** The source of answers from the fleet's shared cache, for known roots: another instance's upstreams. */
const FLEET_SOURCE = 'fleet'

export const RELAY_DEFAULTS = {
  /** Upstreams tried per request before giving up: a third rarely helps within the requester's patience. */
  maxAttempts: 3,
  /** Lodestar requesters wait 5 s for a first byte: answer with data or an error well before. */
  firstChunkDeadlineMs: 4_000,
  /**
   * Slots after a BlocksByRange range asked of the same upstream in the range's request, for the block that proves
   * the range's last block (its parent_root). Each costs the upstream's quota as much as a block of the range: one,
   * since a slot is rarely empty (8 took a third more quota for the 16-block ranges of the soak, whose requesters
   * then got `queue_timeout` for 19 % of their requests with every upstream healthy).
   */
  successorSlots: 1,
  /** When those slots hold no block (a missed proposal), the next slots asked of the same upstream in a follow-up. */
  followUpSlots: 8,
  /** Longest wait for the upstream's quota to allow the follow-up; past it, the range is left unproven. */
  followUpMaxWaitMs: 1_000,
  /**
   * Longest wait for an upstream slot: the first-chunk deadline less the upstream's time to first byte (1.5 s), so an
   * upstream is only ever asked with its full TTFB left, and never charged for time the request spent in our queue.
   */
  maxQueueWaitMs: 2_500,
  /** Upstream time to first byte: short enough that a silent upstream leaves time to fail over within the deadline. */
  upstreamTtfbMs: 1_500,
  /**
   * Upstream time for each later chunk: an upstream silent this long mid-response leaves another the time to go on
   * (a first-chunk deadline, 4 s) within the requester's RESP_TIMEOUT (10 s) for its next chunk.
   */
  upstreamChunkMs: 5_000,
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
  clock: Clock
  responseTypes: ResponseTypes
  chainView: ChainView
  metrics: RelayMetrics | null
  logger: Logger
  shared?: SharedResponseTier | null
  /** Hashes block roots off the event loop; without it, the relay's checks hash them on it. */
  blockRoots?: BlockRootHasher
}

type Result =
  | 'success'
  | 'cache_hit'
  | 'fleet_hit'
  | 'coalesced'
  | 'rate_limited'
  | 'queue_full'
  | 'queue_timeout'
  | 'requester_busy'
  | 'no_upstream'
  | 'upstream_failed'
  | 'failed_after_first_chunk'
  | 'invalid_request'
  | 'nothing_asked'
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
 * every chunk checked before it is streamed to the requester and teed into the cache. Failover happens before the
 * first chunk left; after it, an answer of blocks or light-client updates goes on from another upstream with what is
 * left (by range: after the last block forwarded), and any other answer ends with an error chunk. Error answers are chosen
 * for how requesters judge them: ResourceUnavailable only when no connected peer could serve the request at all, or
 * every upstream asked said it lacks the data (Lighthouse bans a peer that answers its block or column requests so,
 * taking it to lack the data); RateLimited (139) when Contower is busy or the requester over its limit (a
 * mid-tolerance error to Lighthouse, at most a high-tolerance one to Lodestar); ServerError when upstreams failed.
 */
export class Relay {
  /** Requests on their way upstream, by cache key: resolved when the answer is complete (and cached) or failed. */
  private readonly inFlight = new Map<string, Promise<void>>()
  /** Roots of finalized slots computed from verified responses: later responses must agree. */
  private readonly knownRoots = new KnownRoots()
  /** Data column requests go to the peers that custody the columns, split and merged (columnRouter.ts). */
  private readonly columns: ColumnRouter

  private readonly opts: typeof RELAY_DEFAULTS

  constructor(
    private readonly modules: RelayModules,
    opts: Partial<typeof RELAY_DEFAULTS> = {},
  ) {
    this.opts = { ...RELAY_DEFAULTS, ...opts }
    this.columns = new ColumnRouter(
      {
        ...modules,
        penalise: (req, upstream, e, deadlinePassed) => this.penalise(req, upstream, e, deadlinePassed),
        remember: (req, chunks, items) => this.remember(req, chunks, items, null, true), // sidecars: no block roots
        rememberSidecars: (sidecars) => this.rememberSidecars(sidecars),
        maxEntryBytes: () => modules.cache.maxEntryBytes,
      },
      {
        firstChunkDeadlineMs: this.opts.firstChunkDeadlineMs,
        upstreamTtfbMs: this.opts.upstreamTtfbMs,
        upstreamChunkMs: this.opts.upstreamChunkMs,
      },
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
        req = toRelayRequest(def, inbound.request, this.horizon())
      } catch (e) {
        if (e instanceof ResponseError) throw new RelayFailure(e.respCode, e.message, 'invalid_request')
        throw e
      }
      await this.admit(inbound.peerId, req, inbound.signal)
      if (req.maxChunks === 0) {
        // A range wholly past the clock (no peer has data there yet) or an empty list of roots: the answer is empty,
        // and no upstream is asked for it.
        result = 'nothing_asked'
        return
      }
      let cached = this.modules.cache.get(req.key) ?? this.cachedBlocks(req)
      const pending = cached ? undefined : this.inFlight.get(req.key)
      if (pending) {
        // The same request is already on its way upstream: wait for its answer to land in the cache.
        await waitFor(pending, this.firstChunkLeftMs(startedMs), inbound.signal)
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
        yield* this.replay(cached, label, result === 'fleet_hit' ? 'fleet' : 'cache')
        return
      }
      for await (const chunk of this.forwardOnce(req, inbound.peerId.toString(), inbound.signal, startedMs)) {
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

  /** The newest slot and period a peer can have data for: the clock's, allowing for the peers' clock disparity. */
  private horizon(): Horizon {
    const { clock } = this.modules
    const slot = clock.currentSlotWithToleranceMs(MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS)
    return { slot, period: Math.floor(clock.epochAtSlot(slot) / EPOCHS_PER_SYNC_COMMITTEE_PERIOD) }
  }

  /** Inbound rate limit: a short delay when the requester is slightly over, RateLimited and a penalty beyond. */
  private async admit(peerId: PeerId, req: RelayRequest, signal: AbortSignal): Promise<void> {
    const label = `${req.def.name}/${req.def.version}`
    const verdict = this.modules.limiter.check(peerId.toString(), req.def.name, req.askedCost)
    if (!verdict.ok) {
      this.modules.metrics?.rateLimited.inc({ protocol: label, outcome: verdict.reason })
      this.modules.scores.apply(peerId.toString(), PeerAction.MidToleranceError, `rate_limited_${req.def.name}`)
      throw new RelayFailure(RespCode.RateLimited, 'rate limited', 'rate_limited')
    }
    if (verdict.delayMs > 0) {
      this.modules.metrics?.rateLimited.inc({ protocol: label, outcome: 'delayed' })
      await sleep(verdict.delayMs, signal)
    }
  }

  /** Forwards, letting identical requests that arrive meanwhile wait for this one's answer instead of their own. */
  /**
   * ms left of the first-chunk deadline for a requester waiting since `sinceMs` (its request's arrival: the inbound
   * limit's delay and a wait for an identical request count against it, as they do against the requester's TTFB).
   */
  private firstChunkLeftMs(sinceMs: number): number {
    return Math.max(0, this.opts.firstChunkDeadlineMs - (Date.now() - sinceMs))
  }

  private async *forwardOnce(
    req: RelayRequest,
    requester: string,
    signal: AbortSignal,
    sinceMs: number,
  ): AsyncGenerator<WireBytes> {
    let finish!: () => void
    const done = new Promise<void>((resolve) => (finish = resolve))
    this.inFlight.set(req.key, done)
    try {
      if (this.columns.handles(req)) {
        yield* this.columns.serve(req, requester, signal, sinceMs)
      } else {
        const parts = this.partsToFit(req, requester)
        yield* parts
          ? this.forwardParts(req, parts, requester, signal, sinceMs)
          : this.forward(req, requester, signal, sinceMs)
      }
    } finally {
      if (this.inFlight.get(req.key) === done) this.inFlight.delete(req.key)
      finish()
    }
  }

  /** A cached answer's chunks, counted as sent from `source`. */
  private *replay(cached: CachedResponse, label: string, source: 'cache' | 'fleet'): Generator<WireBytes> {
    for (const chunk of cached.chunks) {
      this.modules.metrics?.chunks.inc({ protocol: label, source })
      this.modules.metrics?.bytes.inc({ protocol: label, source }, chunk.byteLength)
      yield chunk
    }
  }

  /**
   * A range larger than any upstream takes in one request (Lighthouse: one light-client update per 10 s), in parts
   * that one takes; null when some upstream takes it whole, or none could serve it at all.
   */
  private partsToFit(req: RelayRequest, requester: string): RelayRequest[] | null {
    if (!req.range && !req.periods) return null // by root: no request larger than every client takes
    const largest = this.modules.selector.largestFit(req, new Set([requester]))
    if (largest === 0 || this.withSuccessorCost(req).cost <= largest) return null
    return rangeParts(req, (part) => this.withSuccessorCost(part).cost <= largest)
  }

  /**
   * Answers `req` part by part, each a request of its own (from the cache, or upstream with its own deadline,
   * failover, checks and cache entry), the chunks in order. A part that cannot be had after earlier ones were sent
   * ends the answer: light-client updates there (consecutive periods from the first are a whole answer: a server may
   * leave later periods out), a slot range with ServerError (a shorter range would claim the missing slots empty).
   */
  private async *forwardParts(
    req: RelayRequest,
    parts: RelayRequest[],
    requester: string,
    signal: AbortSignal,
    sinceMs: number,
  ): AsyncGenerator<WireBytes> {
    const label = `${req.def.name}/${req.def.version}`
    let outcome: 'whole' | 'shortened' | 'failed' = 'failed'
    let sent = 0
    try {
      for (const part of parts) {
        let got = 0
        try {
          const cached = this.modules.cache.get(part.key)
          for await (const chunk of cached
            ? this.replay(cached, label, 'cache')
            : this.forward(part, requester, signal, sent === 0 ? sinceMs : Date.now())) {
            got++
            sent++
            yield chunk
          }
        } catch (e) {
          if (sent === 0 || got > 0 || !(e instanceof RelayFailure)) throw e
          if (!req.periods) {
            throw new RelayFailure(
              RespCode.ServerError,
              `the rest of the range could not be had: ${e.message}`,
              'failed_after_first_chunk',
            )
          }
          outcome = 'shortened'
          return
        }
        if (req.periods && got < part.maxChunks) break // a period without an update ends it, as a shortened answer
      }
      outcome = 'whole'
    } finally {
      this.modules.metrics?.splitRequests.inc({ protocol: label, outcome })
    }
  }

  /**
   * Upstreams in turn until one answers, within the first-chunk deadline of a requester waiting since `sinceMs`: an
   * upstream is asked only with its whole TTFB left before that deadline (the queue's wait is that deadline less
   * the TTFB), and none at all when the requester's wait used that time up.
   */
  private async *forward(
    req: RelayRequest,
    requester: string,
    signal: AbortSignal,
    sinceMs: number,
  ): AsyncGenerator<WireBytes> {
    const leftMs = this.firstChunkLeftMs(sinceMs)
    // What the requester already waited comes off the queue's wait too, which leaves an upstream its TTFB.
    const queueMs = Math.min(this.opts.maxQueueWaitMs - (Date.now() - sinceMs), leftMs)
    if (queueMs <= 0) {
      // The requester waited out the time an upstream needs (the inbound limit's delay, an identical request's wait).
      throw new RelayFailure(RespCode.RateLimited, 'busy: no time left to ask an upstream', 'queue_timeout')
    }
    const deadline = deadlineSignal([signal], leftMs)
    const queueDeadline = deadlineSignal([deadline], queueMs)
    try {
      yield* this.tryUpstreams(req, requester, signal, deadline, queueDeadline)
    } finally {
      queueDeadline.clear()
      deadline.clear()
    }
  }

  /**
   * Up to maxAttempts upstreams in turn, each taken from the queue, until one answers in full. An answer that fails
   * after chunks were forwarded goes on from the next upstream with what is left (restOf(): by range, from the slot
   * after the last block forwarded, its blocks linked on to that one; by root, the roots not yet answered), with a
   * first-chunk deadline of its own: the requester has had its first chunk and allows RESP_TIMEOUT for each next one.
   * Any other answer that fails after its first chunk ends there.
   */
  private async *tryUpstreams(
    req: RelayRequest,
    requester: string,
    signal: AbortSignal,
    deadline: AbortSignal,
    queueDeadline: AbortSignal,
  ): AsyncGenerator<WireBytes> {
    const { metrics } = this.modules
    const label = `${req.def.name}/${req.def.version}`
    const tried = new Set([requester])
    const errors: string[] = []
    const out = new ForwardedChunks(this.modules.cache.maxEntryBytes, (bytes) => {
      metrics?.chunks.inc({ protocol: label, source: 'upstream' })
      metrics?.bytes.inc({ protocol: label, source: 'upstream' }, bytes)
    })
    const resumeDeadlines: ClearableSignal[] = []
    let resumed = false
    try {
      for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
        const resuming = out.count > 0
        const asked = resuming ? this.restOf(req, out) : req
        if (asked === 'answered') {
          // All that was asked had been forwarded before the upstream failed: the answer is whole.
          if (out.cacheable) this.remember(req, out.chunks, out.items, null, true)
          return
        }
        if (!asked) break
        if (resuming) {
          resumed = true
          const firstChunk = deadlineSignal([signal], this.opts.firstChunkDeadlineMs)
          const queueWait = deadlineSignal([firstChunk], this.opts.maxQueueWaitMs)
          resumeDeadlines.push(firstChunk, queueWait)
          deadline = firstChunk
          queueDeadline = queueWait
        }
        let upstream: Upstream
        try {
          upstream = await this.modules.queue.acquire(this.withSuccessorCost(asked), tried, queueDeadline, requester)
        } catch (e) {
          if (!(e instanceof QueueError)) throw e
          if (!resuming && attempt === 0) this.refuseQueued(e, signal)
          break // deadline, or no untried upstream left
        }
        tried.add(upstream.peer.peerId.toString())
        if (attempt > 0 && !resuming) metrics?.failovers.inc({ protocol: label })
        metrics?.upstreamChoice.inc({ protocol: label, client: upstream.peer.client })
        const outcome = yield* this.fromUpstream(req, asked, out, upstream, deadline, signal)
        if (outcome.done) {
          if (resumed) metrics?.resumes.inc({ protocol: label, outcome: 'whole' })
          return
        }
        errors.push(outcome.error)
      }
    } finally {
      for (const d of resumeDeadlines) d.clear()
    }
    if (out.count === 0 && errors.includes(EMPTY_ANSWER)) {
      // No upstream had a block there, and one said so: an empty answer, as it gave, but unproven and not cached.
      metrics?.unprovenRanges.inc()
      return
    }
    const lastError = errors.at(-1) ?? 'no upstream tried'
    if (out.count > 0) {
      if (resumed) metrics?.resumes.inc({ protocol: label, outcome: 'failed' })
      throw new RelayFailure(
        RespCode.ServerError,
        `upstream failed mid-response: ${lastError}`,
        'failed_after_first_chunk',
      )
    }
    // Every upstream asked said it does not have it: so does Contower. Any other failure is ours to own.
    if (errors.length > 0 && errors.every((e) => e === `error_response_${RespCode.ResourceUnavailable}`)) {
      throw new RelayFailure(RespCode.ResourceUnavailable, 'no upstream has it', 'upstream_failed')
    }
    throw new RelayFailure(RespCode.ServerError, `no upstream could serve it: ${lastError}`, 'upstream_failed')
  }

  /**
   * What is left of `req` after the chunks `out` forwarded, for another upstream to go on with: a range's slots after
   * its last block, the roots not yet answered, the sync committee periods after the last update ('answered' when
   * none is left). Null for answers that do not go on here (data columns go on in the column router).
   */
  private restOf(req: RelayRequest, out: ForwardedChunks): RelayRequest | 'answered' | null {
    const last = out.last
    if (req.def.name === 'beacon_blocks_by_range') {
      if (last?.slot == null || !last.blockRoot || last.slot + 1 >= req.range!.endSlot) return null
      return rangeFrom(req, last.slot + 1)
    }
    if (req.def.name === 'light_client_updates_by_range') {
      if (last?.period === undefined) return null
      return last.period + 1 >= req.periods!.endPeriod ? 'answered' : periodsFrom(req, last.period + 1)
    }
    if (req.def.name !== 'beacon_blocks_by_root') return null
    return rootsLeft(req, out.blockRoots) ?? 'answered'
  }

  /** The answer to a request no upstream could be taken for at its first attempt (others end the attempts). */
  private refuseQueued(e: QueueError, signal: AbortSignal): void {
    if (e.code === QueueErrorCode.QUEUE_FULL) {
      throw new RelayFailure(RespCode.RateLimited, 'busy: request queue full', 'queue_full')
    }
    if (e.code === QueueErrorCode.REQUESTER_BUSY) {
      throw new RelayFailure(RespCode.RateLimited, 'busy: too many of your requests open', 'requester_busy')
    }
    if (e.code === QueueErrorCode.NO_UPSTREAM) {
      throw new RelayFailure(RespCode.ResourceUnavailable, 'no peer to serve this', 'no_upstream')
    }
    // Every upstream stayed at its self-limit (quotas spent, slots held): busy, not an upstream failure.
    if (e.code === QueueErrorCode.DEADLINE && !signal.aborted) {
      throw new RelayFailure(RespCode.RateLimited, 'busy: no upstream free in time', 'queue_timeout')
    }
  }

  /**
   * One upstream call for `asked` (`req` itself, or what is left of it: restOf()). Chunks are checked,
   * forwarded and added to `out`, which is cached once the whole answer is complete. Returns done after a complete
   * response, or the error when the call failed (the caller fails over, or resumes, or ends the answer).
   */
  private async *fromUpstream(
    req: RelayRequest,
    asked: RelayRequest,
    out: ForwardedChunks,
    upstream: Upstream,
    deadline: AbortSignal,
    signal: AbortSignal,
  ): AsyncGenerator<WireBytes, { done: true } | { done: false; error: string }> {
    const { metrics, client } = this.modules
    const label = `${req.def.name}/${req.def.version}`
    const peer = upstream.peer.peerId.toString()
    const before = out.count
    const validator = this.validatorFor(asked, before > 0 && asked.range ? out.last! : undefined)
    let received = 0
    // BlocksByRange: a block is held back until the next one names it as its parent, so a broken link never leaves.
    const holdBack = req.def.name === 'beacon_blocks_by_range'
    let held: { chunk: ResponseChunk; checked: CheckedItem } | null = null
    // ...and the range's last block by the first block after it, asked in the same request (or, after empty slots, in
    // a follow-up) and never forwarded.
    const successors = holdBack ? this.successorsToAsk(asked, upstream) : 0
    let proven = false
    const startedMs = Date.now()
    const call = upstreamCall(deadline, signal, () => out.count > before)
    try {
      for await (const chunk of client.request(upstream.peer.peerId, req.def, withSlotsAfter(asked, successors), {
        maxChunks: asked.maxChunks + successors,
        signal: call.signal,
        sszPrefixBytes: itemBytesRead(req.def.name),
        ttfbTimeoutMs: this.opts.upstreamTtfbMs,
        respTimeoutMs: this.opts.upstreamChunkMs,
      })) {
        let checked
        try {
          if (successors > 0 && (await validator.provesLastBlock(chunk, successors))) {
            proven = true
            call.abort(new Error('the block after the range was all it took')) // the rest is not read
            break
          }
          checked = await validator.check(chunk)
        } catch (e) {
          call.abort(e) // the upstream stream is reset, not drained
          throw e
        }
        if (received++ === 0) this.modules.selector.recordLatency(peer, Date.now() - startedMs)
        if (!holdBack) {
          yield out.add(chunk, checked)
          continue
        }
        const ready = held
        held = { chunk, checked }
        if (ready) yield out.add(ready.chunk, ready.checked)
      }
      if (received === 0) this.modules.selector.recordLatency(peer, Date.now() - startedMs)
      if (received === 0 && successors > 0) {
        // Not even the block after the range, from an upstream whose head is past it: every slot empty is rare, and a
        // js-libp2p peer hanging up ends its streams cleanly, which reads so. Another upstream is asked (uncharged).
        metrics?.upstreamErrors.inc({ protocol: label, reason: EMPTY_ANSWER })
        return { done: false, error: EMPTY_ANSWER }
      }
      if (held && !proven) {
        proven =
          (await this.provenOnGossip(held.checked, validator, peer)) ||
          (await this.proveByFollowUp(asked, upstream, validator, successors, signal))
        if (!proven) {
          // No later block could be had: forwarded, not cached, once its root is hashed (one that does not decode is
          // not forwarded).
          metrics?.unprovenRanges.inc()
          out.dropFromCache()
          await validator.settle()
        }
      }
      if (held) yield out.add(held.chunk, held.checked)
      const ms = Date.now() - startedMs
      metrics?.upstreamSeconds.observe({ protocol: label }, ms / 1000)
      this.modules.logger.debug({ upstream: peer, protocol: label, chunks: out.count, ms }, 'upstream answered')
      // An answer resumed from several upstreams notes no known roots: those count what one upstream served.
      if (out.cacheable) this.remember(req, out.chunks, out.items, before === 0 ? peer : null, true)
      return { done: true }
    } catch (e) {
      if (signal.aborted) throw e // the requester left: nobody to answer
      return { done: false, error: this.upstreamFailed(req, upstream, e, out.count - before, deadline.aborted) }
    } finally {
      call.dispose()
      upstream.release()
    }
  }

  /** The checks of one upstream answer to `req`, whose first block must follow `after` when given. */
  private validatorFor(req: RelayRequest, after?: CheckedItem): ChunkValidator {
    const { forkSchedule, blockRoots } = this.modules
    return new ChunkValidator(
      {
        forkSchedule,
        knownRoot: (slot) => this.knownRoots.get(slot),
        blockRoots,
        payloadBid: (root) => this.modules.chainView.payloadBids.get(root),
      },
      req,
      after,
    )
  }

  /** Slots asked after a BlocksByRange range to prove its last block: within the protocol's count limit. */
  private successorSlots(req: RelayRequest): number {
    if (req.def.name !== 'beacon_blocks_by_range' || !req.range) return 0
    const count = req.range.endSlot - req.range.startSlot
    return Math.max(0, Math.min(this.opts.successorSlots, MAX_REQUEST_BLOCKS_DENEB - count))
  }

  /** The request as the upstream limiter charges it: the successor request is taken from the same upstream's quota. */
  private withSuccessorCost(req: RelayRequest): RelayRequest {
    const extra = this.successorSlots(req)
    return extra > 0 ? { ...req, cost: req.cost + extra } : req
  }

  /** An upstream call failed: charges the upstream and returns why (`forwarded`: chunks the call forwarded). */
  private upstreamFailed(
    req: RelayRequest,
    upstream: Upstream,
    e: unknown,
    forwarded: number,
    deadlinePassed: boolean,
  ): string {
    const peer = upstream.peer.peerId.toString()
    const reason = this.penalise(req, upstream, e, forwarded === 0 && deadlinePassed)
    this.modules.metrics?.upstreamErrors.inc({ protocol: `${req.def.name}/${req.def.version}`, reason })
    this.modules.logger.debug({ peer, protocol: req.def.id, reason, forwarded, err: e }, 'upstream failed')
    return reason
  }

  /**
   * Slots after a BlocksByRange range to ask of `upstream` with it, so that the first block after the range proves
   * the range's last block: none when the range reaches the head (nothing after it can be had yet).
   */
  private successorsToAsk(req: RelayRequest, upstream: Upstream): number {
    const { endSlot } = req.range!
    const head = this.headFor(upstream)
    if (endSlot > head) return 0
    return Math.min(this.successorSlots(req), head - endSlot + 1)
  }

  /** The highest slot a block can be had at from `upstream`: its Status head or Contower's view, the higher. */
  private headFor(upstream: Upstream): number {
    return Math.max(upstream.peer.status?.headSlot ?? 0, this.modules.chainView.status().headSlot)
  }

  /**
   * The range's last block, with no block after it in the answer, is proven when a block with its root reached
   * Contower on gossip from another peer than `upstream` (the newest blocks, which have no block after them yet, are
   * on gossip): no follow-up needed.
   */
  private async provenOnGossip(last: CheckedItem, validator: ChunkValidator, upstream: string): Promise<boolean> {
    const root = await validator.settle()
    if (root === null || last.slot === null) return false
    if (!this.modules.chainView.relayedOnGossip(last.slot, root, upstream)) return false
    this.modules.metrics?.gossipProvenRanges.inc()
    return true
  }

  /**
   * The range's answer did not prove its last block: the `asked` slots after it held no block (a missed proposal,
   * or an upstream keeping the proof back), or none were asked (a full-size range: the protocol's count limit). Asks
   * the same upstream, on the same slot, for the next `followUpSlots` (`successorSlots` when none were asked), whose
   * first block must name the range's last block as its parent (a wrong one throws, as in the range). Its quota is
   * reserved ahead of waiting requests, and the request's first-chunk deadline no longer applies: the range is
   * already on its way to the requester, and the wait for quota is ours, not the upstream's (the client's TTFB still
   * bounds the call). False, leaving the range unproven, when nothing can be had: the head is reached, the quota has
   * no room within `followUpMaxWaitMs`, or these slots are empty too.
   */
  private async proveByFollowUp(
    req: RelayRequest,
    upstream: Upstream,
    validator: ChunkValidator,
    asked: number,
    requesterSignal: AbortSignal,
  ): Promise<boolean> {
    const { metrics, client } = this.modules
    const startSlot = req.range!.endSlot + asked
    const wanted = asked === 0 ? this.opts.successorSlots : this.opts.followUpSlots
    const count = Math.min(wanted, this.headFor(upstream) - startSlot + 1)
    if (count <= 0) return false
    const waitMs = upstream.reserveMore(count, this.opts.followUpMaxWaitMs)
    if (waitMs === null) {
      metrics?.followUps.inc({ result: 'no_quota' })
      return false
    }
    // Ended early only by the requester leaving, or by the proof (the rest of the answer is then not read).
    const call = new AbortController()
    const gone = () => call.abort(requesterSignal.reason)
    requesterSignal.addEventListener('abort', gone, { once: true })
    try {
      if (waitMs > 0) await sleep(waitMs, call.signal)
      const request = req.def.request!.serialize({ startSlot, count, step: 1 })
      for await (const chunk of client.request(upstream.peer.peerId, req.def, request, {
        maxChunks: count,
        signal: call.signal,
        sszPrefixBytes: itemBytesRead(req.def.name),
        ttfbTimeoutMs: this.opts.upstreamTtfbMs,
        respTimeoutMs: this.opts.upstreamChunkMs, // the range's last block waits on it
      })) {
        // The first block decides: it proves the range's last block, or the answer is wrong. The rest is not read.
        try {
          if (!(await validator.provesLastBlock(chunk, asked + count))) {
            throw new InvalidChunkError('slot_out_of_range', `a block before slot ${startSlot}, the first one asked`)
          }
        } catch (e) {
          call.abort(e)
          throw e
        }
        metrics?.followUps.inc({ result: 'proven' })
        call.abort(new Error('the block after the empty slots was all it took'))
        return true
      }
      metrics?.followUps.inc({ result: 'empty' })
      return false
    } finally {
      requesterSignal.removeEventListener('abort', gone)
    }
  }

  /**
   * Charges the upstream for its failure through the one error → penalty mapping (a refused chunk is an invalid
   * response, our deadline cutting a silent upstream short a time-to-first-byte timeout; an upstream saying we ask
   * too fast is not charged but backed off); returns the reason label.
   */
  private penalise(req: RelayRequest, upstream: Upstream, e: unknown, deadlinePassed: boolean): string {
    const peer = upstream.peer.peerId.toString()
    let err: RequestError
    let reason: string
    if (e instanceof InvalidChunkError && e.code === 'fork_at_join') {
      return e.code // not linked on to another upstream's blocks: refused, but maybe a fork, not a lie
    } else if (e instanceof InvalidChunkError) {
      err = new RequestError(RequestErrorCode.INVALID_RESPONSE, req.def.id, e.message, { cause: e })
      reason = e.code
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
    if (isRateLimitAnswer(err)) {
      upstream.backOff() // its limits are stricter than its client's model: not asked again before a whole refill
      reason = 'rate_limited'
    }
    const action = penaltyForRequestError(err)
    if (action) this.modules.scores.apply(peer, action, `relay_${reason.toLowerCase()}`)
    return reason
  }

  /**
   * Caches a complete response that passed every check. Blocks are also indexed by the roots computed from their
   * bytes, and the roots of finalized blocks are noted by slot, as served by `source`, for checking later responses
   * (null: an answer of sidecars, which has no block roots to note).
   */
  private remember(
    req: RelayRequest,
    chunks: ResponseChunk[],
    items: CheckedItem[],
    source: string | null,
    share: boolean,
  ): void {
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
    for (let i = 0; i < chunks.length; i++) {
      const { blockRoot, slot } = items[i]
      if (!blockRoot) continue
      blocks.push({ root: blockRoot, chunk: chunks[i].raw })
      const signed = chunks[i].ssz
      if (slot !== null && signed) {
        const fork = forkSchedule.forkAtEpoch(Math.floor(slot / forkSchedule.config.slotsPerEpoch)).name as ForkName
        chainView.payloadBids.noteBlock(fork, signed.subarray(SIGNED_BLOCK_FIXED_BYTES), blockRoot)
      }
      if (source !== null && slot !== null && slot <= finalizedSlot) this.knownRoots.note(slot, blockRoot, source)
    }
    if (blocks.length > 0) cache.setBlocks(blocks, { finalized })
  }

  /** Indexes verified column sidecars by (block root, column); those of finalized slots live longer. */
  private rememberSidecars(sidecars: Sidecar[]): void {
    const { cache, chainView, forkSchedule } = this.modules
    const finalizedSlot = chainView.status().finalizedEpoch * forkSchedule.config.slotsPerEpoch
    cache.setColumns(
      sidecars.filter((s) => s.slot <= finalizedSlot),
      { finalized: true },
    )
    cache.setColumns(
      sidecars.filter((s) => s.slot > finalizedSlot),
      { finalized: false },
    )
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
    const validator = new ChunkValidator(
      {
        forkSchedule: this.modules.forkSchedule,
        knownRoot: (slot) => this.knownRoots.get(slot),
        blockRoots: this.modules.blockRoots,
      },
      req,
    )
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
        items.push(await validator.check(chunk))
        chunks.push(chunk)
      }
      await validator.settle() // the last block's root
    } catch (e) {
      shared.noteInvalid(e instanceof InvalidChunkError ? e.code : 'chunk')
      return undefined
    }
    this.remember(req, chunks, items, FLEET_SOURCE, false)
    const replay = chunks.map((c) => (c.raw instanceof Uint8ArrayList ? c.raw : new Uint8ArrayList(c.raw)))
    return { chunks: replay, bytes: replay.reduce((n, c) => n + c.byteLength, 0) }
  }

  /** BlocksByRoot answered from blocks the cache holds by root (filed only under roots computed from their bytes). */
  private cachedBlocks(req: RelayRequest): CachedResponse | undefined {
    const roots = req.blockRoots
    if (!roots || roots.length === 0) return undefined
    return this.modules.cache.getBlocksByRoot(roots)
  }
}

/** The BlocksByRange request `req` extended by `slots` slots after its range (itself when none). */
function withSlotsAfter(req: RelayRequest, slots: number): Uint8Array | null {
  if (slots === 0) return req.ssz
  const { startSlot, endSlot } = req.range!
  return req.def.request!.serialize({ startSlot, count: endSlot - startSlot + slots, step: 1 })
}

/** Waits for `promise`, at most `ms`, or until the signal fires (then throws its reason). */
async function waitFor(promise: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  const bound = deadlineSignal([signal], ms)
  try {
    await Promise.race([
      promise,
      new Promise<void>((resolve) => bound.addEventListener('abort', () => resolve(), { once: true })),
    ])
  } finally {
    bound.clear()
  }
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
