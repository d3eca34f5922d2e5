import type { UpstreamLease } from '../limits/index.js'
import type { PeerData } from '../peers/peerStore.js'
import type { RelayRequest } from './relayRequest.js'
import type { UpstreamSelector } from './upstreamSelector.js'

export const UPSTREAM_QUEUE_DEFAULTS = {
  /** Requests waiting for an upstream slot; beyond it requesters get ResourceUnavailable at once (bounded memory). */
  maxQueued: 256,
}

export enum QueueErrorCode {
  /** No connected peer can serve the request at all. */
  NO_UPSTREAM = 'NO_UPSTREAM',
  /** Every eligible upstream is at its self-limit and the queue is full. */
  QUEUE_FULL = 'QUEUE_FULL',
  /** The caller's deadline passed (or it went away) while waiting. */
  DEADLINE = 'DEADLINE',
}

export class QueueError extends Error {
  constructor(readonly code: QueueErrorCode) {
    super(code)
    this.name = 'QueueError'
  }
}

export interface Upstream {
  peer: PeerData
  /** Frees the upstream slot; idempotent. */
  release(): void
}

/**
 * The bounded wait between a request and an upstream slot. A request that finds every eligible upstream at its
 * self-limit waits (FIFO-fair enough: every waiter re-tries on each release or when the soonest bucket refills)
 * until a slot frees or its deadline passes; the number of waiters is capped.
 */
export class UpstreamQueue {
  private readonly waiters = new Set<() => void>()

  constructor(
    private readonly modules: { selector: UpstreamSelector; onWait?: (ms: number) => void },
    private readonly opts = UPSTREAM_QUEUE_DEFAULTS,
  ) {}

  get depth(): number {
    return this.waiters.size
  }

  async acquire(req: RelayRequest, exclude: ReadonlySet<string>, signal: AbortSignal): Promise<Upstream> {
    const startedMs = Date.now()
    let queued = false
    try {
      for (;;) {
        if (signal.aborted) throw new QueueError(QueueErrorCode.DEADLINE)
        const choice = this.modules.selector.choose(req, exclude)
        if (choice.kind === 'chosen') return this.upstream(choice.peer, choice.lease)
        if (choice.kind === 'none') throw new QueueError(QueueErrorCode.NO_UPSTREAM)
        if (!queued && this.waiters.size >= this.opts.maxQueued) throw new QueueError(QueueErrorCode.QUEUE_FULL)
        queued = true
        await this.wait(choice.waitMs, signal)
      }
    } finally {
      if (queued) {
        this.modules.onWait?.(Date.now() - startedMs)
      }
    }
  }

  /** Wakes every waiter to re-try (a slot was released). */
  notify(): void {
    for (const wake of [...this.waiters]) wake()
  }

  private upstream(peer: PeerData, lease: UpstreamLease): Upstream {
    let released = false
    return {
      peer,
      release: () => {
        if (released) return
        released = true
        lease.release()
        this.notify()
      },
    }
  }

  /** Resolves on a release, when `waitMs` has passed (a bucket refilled) or when the signal fires. */
  private wait(waitMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done)
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      // Infinity/0 mean "only a release helps": still re-check now and then in case a peer connected.
      const ms = Number.isFinite(waitMs) && waitMs > 0 ? Math.ceil(waitMs) : 250
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
      this.waiters.add(done)
    })
  }
}
