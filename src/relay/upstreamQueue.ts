import { ContowerError } from '../errors.js'
import type { UpstreamLease } from '../limits/upstreamLimiter.js'
import type { PeerData } from '../peers/peerStore.js'
import type { RelayRequest } from './relayRequest.js'
import type { UpstreamSelector } from './upstreamSelector.js'

export const UPSTREAM_QUEUE_DEFAULTS = {
  /** Requests waiting for an upstream slot; beyond it requesters get ResourceUnavailable at once (bounded memory). */
  maxQueued: 256,
  /**
   * Requests one requester may have waiting for or holding an upstream slot: the spec's 2 concurrent requests per
   * protocol, for the two protocols a syncing node uses at once (blocks and columns). More are refused at once.
   */
  maxPerRequester: 4,
}

export enum QueueErrorCode {
  /** No connected peer can serve the request at all. */
  NO_UPSTREAM = 'NO_UPSTREAM',
  /** Every eligible upstream is at its self-limit and the queue is full. */
  QUEUE_FULL = 'QUEUE_FULL',
  /** The requester already has maxPerRequester requests waiting for or holding upstream slots. */
  REQUESTER_BUSY = 'REQUESTER_BUSY',
  /** The caller's deadline passed (or it went away) while waiting. */
  DEADLINE = 'DEADLINE',
}

export class QueueError extends ContowerError<QueueErrorCode> {
  constructor(code: QueueErrorCode) {
    super(code, code)
  }
}

export interface Upstream {
  peer: PeerData
  /** Frees the upstream slot; idempotent. */
  release(): void
  /** Reserves more of the peer's quota for a follow-up request on this slot (UpstreamLease.reserveMore). */
  reserveMore(cost: number, maxWaitMs: number): number | null
  /** The peer said we ask too fast: waits a whole refill before asking it again (UpstreamLease.backOff). */
  backOff(): void
}

interface Waiter {
  req: RelayRequest
  exclude: ReadonlySet<string>
  requester: string
  /** Start tag: the virtual time at which its requester's fair share reaches it. */
  tag: number
  /** Arrival order, to break ties between equal tags. */
  seq: number
  startedMs: number
  /** Set while acquire() is still running: a request served then never waited. */
  arriving: boolean
  grant(upstream: Upstream): void
  fail(error: QueueError): void
}

/** A requester's requests waiting (FIFO) or holding a slot, and the finish tag of its newest request. */
interface Requester {
  active: number
  waiting: Waiter[]
  finishTag: number
}

/**
 * The bounded wait between a request and an upstream slot, shared fairly among requesters (start-time fair
 * queuing): each request gets a start tag max(virtual time, its requester's previous finish tag) and adds its cost
 * to the requester's finish tag; when a slot frees (or a bucket refills), the waiting request with the lowest tag
 * that some upstream can take now goes first, and the virtual time moves to its tag. A requester that asks rarely
 * therefore goes ahead of one with a backlog, however many requests that one has queued, and backlogged requesters
 * share slots in proportion to what they ask. Each requester has at most `maxPerRequester` requests waiting or
 * holding a slot (a flood's excess is refused at once), and at most `maxQueued` requests wait in all.
 */
export class UpstreamQueue {
  private readonly requesters = new Map<string, Requester>()
  private virtualTime = 0
  private seq = 0
  private queued = 0
  private timer: NodeJS.Timeout | null = null

  private readonly opts: typeof UPSTREAM_QUEUE_DEFAULTS

  constructor(
    private readonly modules: { selector: UpstreamSelector; onWait?: (ms: number) => void },
    opts: Partial<typeof UPSTREAM_QUEUE_DEFAULTS> = {},
  ) {
    this.opts = { ...UPSTREAM_QUEUE_DEFAULTS, ...opts }
  }

  get depth(): number {
    return this.queued
  }

  acquire(req: RelayRequest, exclude: ReadonlySet<string>, signal: AbortSignal, requester: string): Promise<Upstream> {
    if (signal.aborted) return Promise.reject(new QueueError(QueueErrorCode.DEADLINE))
    const state = this.requesters.get(requester) ?? { active: 0, waiting: [], finishTag: 0 }
    if (state.active >= this.opts.maxPerRequester) {
      return Promise.reject(new QueueError(QueueErrorCode.REQUESTER_BUSY))
    }
    this.requesters.set(requester, state)
    state.active++
    const previousFinish = state.finishTag
    const tag = Math.max(this.virtualTime, previousFinish)
    state.finishTag = tag + req.cost
    return new Promise<Upstream>((resolve, reject) => {
      const onAbort = () => {
        if (!this.remove(waiter)) return
        this.settled(waiter)
        this.release(requester)
        reject(new QueueError(QueueErrorCode.DEADLINE))
        this.dispatch() // its requester's next request may now be at the head
      }
      const waiter: Waiter = {
        req,
        exclude,
        requester,
        tag,
        seq: this.seq++,
        startedMs: Date.now(),
        arriving: true,
        grant: (upstream) => {
          signal.removeEventListener('abort', onAbort)
          this.settled(waiter)
          resolve(upstream)
        },
        fail: (error) => {
          signal.removeEventListener('abort', onAbort)
          this.settled(waiter)
          this.release(requester)
          reject(error)
        },
      }
      signal.addEventListener('abort', onAbort, { once: true })
      state.waiting.push(waiter)
      this.queued++
      this.dispatch()
      waiter.arriving = false
      // Still waiting, and the queue was full before it came: refused without waiting and without spending a share.
      if (this.queued > this.opts.maxQueued && this.remove(waiter)) {
        signal.removeEventListener('abort', onAbort)
        state.finishTag = previousFinish
        this.release(requester)
        if (this.queued === 0) this.schedule(Infinity) // clears the timer
        reject(new QueueError(QueueErrorCode.QUEUE_FULL))
      }
    })
  }

  /** Re-tries the waiting requests now (a slot was released, a peer connected, or the service stops). */
  notify(): void {
    this.dispatch()
  }

  /** Hands free upstream slots to waiting requests, lowest start tag first, then sets the timer for the next try. */
  private dispatch(): void {
    let soonestMs: number
    for (;;) {
      soonestMs = Infinity
      const heads = [...this.requesters.values()]
        .flatMap((r) => (r.waiting.length > 0 ? [r.waiting[0]] : []))
        .sort((a, b) => a.tag - b.tag || a.seq - b.seq)
      let progress = false
      for (const waiter of heads) {
        const choice = this.modules.selector.choose(waiter.req, waiter.exclude)
        if (choice.kind === 'busy') {
          soonestMs = Math.min(soonestMs, choice.waitMs)
          continue
        }
        this.remove(waiter)
        if (choice.kind === 'none') {
          waiter.fail(new QueueError(QueueErrorCode.NO_UPSTREAM))
        } else {
          this.virtualTime = Math.max(this.virtualTime, waiter.tag)
          waiter.grant(this.upstream(waiter.requester, choice.peer, choice.lease))
        }
        progress = true
        break // the heads' order may have changed
      }
      if (!progress) break
    }
    this.schedule(soonestMs)
  }

  /** A re-try when the soonest bucket refills; with only releases to wait for, still now and then (peers connect). */
  private schedule(soonestMs: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.queued === 0) return
    const ms = Number.isFinite(soonestMs) && soonestMs > 0 ? Math.ceil(soonestMs) : 250
    this.timer = setTimeout(() => {
      this.timer = null
      this.dispatch()
    }, ms)
  }

  private upstream(requester: string, peer: PeerData, lease: UpstreamLease): Upstream {
    let released = false
    return {
      peer,
      release: () => {
        if (released) return
        released = true
        lease.release()
        this.release(requester)
        this.notify()
      },
      reserveMore: (cost, maxWaitMs) => lease.reserveMore(cost, maxWaitMs),
      backOff: () => lease.backOff(),
    }
  }

  /** One of the requester's requests is done with the queue; a requester with none left is forgotten. */
  private release(requester: string): void {
    const state = this.requesters.get(requester)
    if (!state) return
    state.active--
    if (state.active === 0) this.requesters.delete(requester)
  }

  /** Takes a waiting request out of the queue; false if it was not there (already served or failed). */
  private remove(waiter: Waiter): boolean {
    const list = this.requesters.get(waiter.requester)?.waiting
    const i = list ? list.indexOf(waiter) : -1
    if (i < 0) return false
    list!.splice(i, 1)
    this.queued--
    return true
  }

  private settled(waiter: Waiter): void {
    if (!waiter.arriving) this.modules.onWait?.(Date.now() - waiter.startedMs)
  }
}
