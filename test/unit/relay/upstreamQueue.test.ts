import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { type Quota } from '../../../src/spec/quotas.js'
import { UpstreamLimiter } from '../../../src/limits/upstreamLimiter.js'
import { type PeerData, PeerStore } from '../../../src/peers/peerStore.js'
import { PeerScores } from '../../../src/peers/score.js'
import {
  QueueError,
  QueueErrorCode,
  UPSTREAM_QUEUE_DEFAULTS,
  type Upstream,
  UpstreamQueue,
} from '../../../src/relay/upstreamQueue.js'
import { UPSTREAM_SELECTOR_DEFAULTS, UpstreamSelector } from '../../../src/relay/upstreamSelector.js'
import { relayRequest } from './fixtures.js'

const GENESIS_TIME = 1_600_000_000
const BBR = 'beacon_blocks_by_range'
const req = (count = 10) => relayRequest(BBR, { startSlot: 100, count, step: 1 })
/** When only a release can help, waiters still re-check this often (upstreamQueue.ts). */
const RECHECK_MS = 250

let ids: PeerId[]
beforeAll(async () => {
  ids = await Promise.all(
    Array.from({ length: 3 }, async () => peerIdFromPrivateKey(await generateKeyPair('secp256k1'))),
  )
})

beforeEach(() => {
  // Timers and Date only: promises, nextTick and setImmediate stay real so `settle` can drain them.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: GENESIS_TIME * 1000 + 5000 * 12_000 })
})
afterEach(() => {
  vi.useRealTimers()
})

/** Lets every pending promise continuation run, without moving the fake clock. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

interface Tracked<T> {
  settled: boolean
  value?: T
  error?: unknown
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { settled: false }
  promise.then(
    (value) => Object.assign(t, { settled: true, value }),
    (error: unknown) => Object.assign(t, { settled: true, error }),
  )
  return t
}

function setup(
  opts: {
    maxQueued?: number
    maxPerRequester?: number
    maxConcurrent?: number
    quotas?: ReadonlyMap<string, Quota>
  } = {},
) {
  const peerStore = new PeerStore()
  const now = () => Date.now()
  const scores = new PeerScores({ now })
  const limiter = new UpstreamLimiter(
    { now },
    { quotas: opts.quotas ?? new Map(), maxConcurrent: opts.maxConcurrent ?? 1 },
  )
  const clock = new Clock({ now }, { genesisTime: GENESIS_TIME, secondsPerSlot: 12, slotsPerEpoch: 32 })
  const selector = new UpstreamSelector(
    { peerStore, scores, limiter, clock, isPreferred: () => false },
    UPSTREAM_SELECTOR_DEFAULTS,
    () => 0,
  )
  const waits: number[] = []
  const queue = new UpstreamQueue(
    { selector, onWait: (ms) => waits.push(ms) },
    {
      maxQueued: opts.maxQueued ?? UPSTREAM_QUEUE_DEFAULTS.maxQueued,
      maxPerRequester: opts.maxPerRequester ?? 100,
    },
  )
  /** Peer `i` connected, its handshake under way. */
  const connectPeer = (i: number) => peerStore.add(ids[i]!, 'outbound')
  const addPeer = (i: number) => handshake(connectPeer(i))
  /** Its Status arrives: handshaken, head at the current slot. */
  const handshake = (data: PeerData) => {
    data.handshaken = true
    data.status = {
      forkDigest: new Uint8Array(4),
      finalizedRoot: new Uint8Array(32),
      finalizedEpoch: 0,
      headRoot: new Uint8Array(32),
      headSlot: clock.currentSlot,
      earliestAvailableSlot: 0,
    }
    data.statusAtMs = Date.now()
    return data
  }
  const id = (i: number) => ids[i]!.toString()
  const acquire = (
    exclude: ReadonlySet<string> = new Set(),
    signal = new AbortController().signal,
    count = 10,
    requester = 'requester-a',
  ) => queue.acquire(req(count), exclude, signal, requester)
  /** A request of `count` blocks from `requester`. */
  const ask = (requester: string, count = 10, signal = new AbortController().signal) =>
    acquire(new Set(), signal, count, requester)
  return { peerStore, limiter, queue, waits, connectPeer, addPeer, handshake, id, acquire, ask }
}

async function expectQueueError(promise: Promise<unknown>, code: QueueErrorCode): Promise<void> {
  const error = await promise.then(
    () => new Error(`expected QueueError ${code}, but it resolved`),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(QueueError)
  expect((error as QueueError).code).toBe(code)
}

const peerOf = (upstream: Upstream) => upstream.peer.peerId.toString()

describe('UpstreamQueue', () => {
  it('documents its defaults', () => {
    expect(UPSTREAM_QUEUE_DEFAULTS).toEqual({ maxQueued: 256, maxPerRequester: 4 })
  })

  it('returns at once when a slot is free, holding it until release', async () => {
    const s = setup()
    s.addPeer(0)
    const upstream = await s.acquire()
    expect(peerOf(upstream)).toBe(s.id(0))
    expect(s.limiter.inFlight(s.id(0), BBR)).toBe(1)
    expect(s.queue.depth).toBe(0)
    expect(s.waits).toEqual([]) // never queued
    upstream.release()
    expect(s.limiter.inFlight(s.id(0), BBR)).toBe(0)
  })

  it('waits while every upstream is at its limit and resumes on a release, not on a timer', async () => {
    const s = setup()
    s.addPeer(0)
    const held = await s.acquire()
    const waiting = track(s.acquire())
    await settle()
    expect(waiting.settled).toBe(false)
    expect(s.queue.depth).toBe(1)
    vi.advanceTimersByTime(1000) // re-checks find the slot still taken
    await settle()
    expect(waiting.settled).toBe(false)
    expect(s.queue.depth).toBe(1)

    held.release()
    await settle()
    expect(waiting.settled).toBe(true)
    expect(peerOf(waiting.value!)).toBe(s.id(0))
    expect(s.queue.depth).toBe(0)
    expect(s.limiter.inFlight(s.id(0), BBR)).toBe(1)
    expect(vi.getTimerCount()).toBe(0) // the re-check timer is cleared
    expect(s.waits).toEqual([1000])
  })

  it('re-checks every 250 ms when only a release would help, so a peer that connects is found', async () => {
    const s = setup()
    s.addPeer(0)
    await s.acquire()
    const waiting = track(s.acquire())
    await settle()
    s.addPeer(1)
    vi.advanceTimersByTime(RECHECK_MS - 1)
    await settle()
    expect(waiting.settled).toBe(false)
    vi.advanceTimersByTime(1)
    await settle()
    expect(peerOf(waiting.value!)).toBe(s.id(1))
    expect(s.waits).toEqual([RECHECK_MS])
  })

  it('waits for the soonest bucket to refill when tokens run out', async () => {
    // 10 tokens a second, refilled at 80%: 10 tokens take 1250 ms, and the jitter allowance adds 500.
    const s = setup({ quotas: new Map([[BBR, { tokens: 10, seconds: 1 }]]), maxConcurrent: 2 })
    s.addPeer(0)
    ;(await s.acquire()).release()
    const refillMs = s.limiter.waitMs(s.id(0), BBR, 10)
    expect(refillMs).toBeCloseTo(1250 + 500, 6)
    const waiting = track(s.acquire())
    await settle()
    vi.advanceTimersByTime(Math.ceil(refillMs) - 1)
    await settle()
    expect(waiting.settled).toBe(false)
    vi.advanceTimersByTime(1)
    await settle()
    expect(peerOf(waiting.value!)).toBe(s.id(0))
    expect(s.waits).toEqual([Math.ceil(refillMs)])
  })

  it('refuses with QUEUE_FULL once maxQueued requests wait, and queues again when one leaves', async () => {
    const s = setup({ maxQueued: 2 })
    s.addPeer(0)
    const held = await s.acquire()
    const first = track(s.acquire())
    const second = track(s.acquire())
    await settle()
    expect(s.queue.depth).toBe(2)
    await expectQueueError(s.acquire(), QueueErrorCode.QUEUE_FULL)
    expect(s.queue.depth).toBe(2)

    held.release()
    await settle()
    expect(first.settled).toBe(true) // woken first, served first
    expect(second.settled).toBe(false)
    expect(s.queue.depth).toBe(1)
    const third = track(s.acquire())
    await settle()
    expect(third.settled).toBe(false)
    expect(s.queue.depth).toBe(2)
  })

  it('maxQueued 0 never queues', async () => {
    const s = setup({ maxQueued: 0 })
    s.addPeer(0)
    await s.acquire()
    await expectQueueError(s.acquire(), QueueErrorCode.QUEUE_FULL)
    expect(s.waits).toEqual([])
  })

  it('gives up with DEADLINE when the signal fires while waiting, leaving no timer or waiter behind', async () => {
    const s = setup({ quotas: new Map([[BBR, { tokens: 10, seconds: 100 }]]), maxConcurrent: 2 })
    s.addPeer(0)
    await s.acquire() // spends every token: the next one waits ~125 s
    const controller = new AbortController()
    const waiting = s.acquire(new Set(), controller.signal)
    await settle()
    expect(s.queue.depth).toBe(1)
    vi.advanceTimersByTime(300)
    controller.abort()
    await expectQueueError(waiting, QueueErrorCode.DEADLINE)
    expect(s.queue.depth).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    expect(s.waits).toEqual([300])
  })

  it('gives up with DEADLINE on an aborted signal without taking a free slot', async () => {
    const s = setup()
    s.addPeer(0)
    await expectQueueError(s.acquire(new Set(), AbortSignal.abort()), QueueErrorCode.DEADLINE)
    expect(s.limiter.inFlight(s.id(0), BBR)).toBe(0)
  })

  it('fails with NO_UPSTREAM when no peer could serve the request', async () => {
    const s = setup()
    await expectQueueError(s.acquire(), QueueErrorCode.NO_UPSTREAM)
    s.addPeer(0)
    await expectQueueError(s.acquire(new Set([s.id(0)])), QueueErrorCode.NO_UPSTREAM)
    expect(s.waits).toEqual([])
  })

  it('waits for a peer still in its handshake and is served by it once its Status arrives, or refused at the deadline', async () => {
    const s = setup()
    const pending = s.connectPeer(0)
    const waiting = track(s.acquire())
    vi.advanceTimersByTime(UPSTREAM_SELECTOR_DEFAULTS.handshakeRetryMs * 3)
    await settle()
    expect(waiting.settled).toBe(false) // not NO_UPSTREAM: the only peer may serve in a moment
    s.handshake(pending)
    vi.advanceTimersByTime(UPSTREAM_SELECTOR_DEFAULTS.handshakeRetryMs)
    await settle()
    expect(peerOf(waiting.value!)).toBe(s.id(0))
    waiting.value!.release()

    s.connectPeer(1) // a handshake that never ends: the request's own deadline refuses it
    const deadline = new AbortController()
    const stuck = s.acquire(new Set([s.id(0)]), deadline.signal)
    vi.advanceTimersByTime(2_500)
    deadline.abort()
    await expectQueueError(stuck, QueueErrorCode.DEADLINE)
    expect(s.queue.depth).toBe(0)
  })

  it('fails a waiter with NO_UPSTREAM when its only upstream goes away', async () => {
    const s = setup()
    s.addPeer(0)
    await s.acquire()
    const waiting = s.acquire()
    await settle()
    s.peerStore.delete(ids[0]!)
    s.queue.notify()
    await expectQueueError(waiting, QueueErrorCode.NO_UPSTREAM)
    expect(s.queue.depth).toBe(0)
    expect(s.waits).toHaveLength(1)
  })

  it('release is idempotent: one slot freed, waiters woken once', async () => {
    const s = setup({ maxConcurrent: 2 })
    s.addPeer(0)
    const a = await s.acquire()
    await s.acquire()
    const notify = vi.spyOn(s.queue, 'notify')
    a.release()
    a.release()
    expect(notify).toHaveBeenCalledTimes(1)
    expect(s.limiter.inFlight(s.id(0), BBR)).toBe(1)
  })

  it('a release wakes every waiter: one takes the slot, the others wait on', async () => {
    const s = setup()
    s.addPeer(0)
    const held = await s.acquire()
    const waiters = [track(s.acquire()), track(s.acquire()), track(s.acquire())]
    await settle()
    expect(s.queue.depth).toBe(3)
    held.release()
    await settle()
    expect(waiters.map((w) => w.settled)).toEqual([true, false, false])
    expect(s.queue.depth).toBe(2)
    waiters[0]!.value!.release()
    await settle()
    expect(waiters.map((w) => w.settled)).toEqual([true, true, false])
    waiters[1]!.value!.release()
    await settle()
    expect(waiters.map((w) => w.settled)).toEqual([true, true, true])
    expect(s.queue.depth).toBe(0)
  })

  it('serves a requester that asks rarely before one with a backlog (start-time fair queuing)', async () => {
    const s = setup()
    s.addPeer(0)
    const held = await s.ask('flooder')
    const flood = Array.from({ length: 5 }, () => track(s.ask('flooder')))
    await settle()
    const polite = track(s.ask('polite'))
    await settle()
    expect(s.queue.depth).toBe(6)
    held.release()
    await settle()
    // The flooder's queued requests start where its running one ends (tags 10..50); the polite one starts at the
    // virtual time (0), so it is served first, ahead of all five.
    expect(polite.settled).toBe(true)
    expect(flood.map((w) => w.settled)).toEqual([false, false, false, false, false])
    polite.value!.release()
    await settle()
    expect(flood.map((w) => w.settled)).toEqual([true, false, false, false, false])
  })

  it('shares slots round-robin between backlogged requesters, by cost', async () => {
    const s = setup()
    s.addPeer(0)
    let held = await s.ask('a')
    // a: four requests of 10 blocks; b: two of 20 blocks, queued after all of a's.
    const order: string[] = []
    const waiting = [
      ...Array.from({ length: 4 }, (_, i) => ({ name: `a${i}`, t: track(s.ask('a', 10)) })),
      ...Array.from({ length: 2 }, (_, i) => ({ name: `b${i}`, t: track(s.ask('b', 20)) })),
    ]
    await settle()
    for (let i = 0; i < waiting.length; i++) {
      held.release()
      await settle()
      const next = waiting.find((w) => w.t.settled && !order.includes(w.name))!
      order.push(next.name)
      held = next.t.value!
    }
    // Tags: a 10,20,30,40 (its first request took 0..10); b 0,20. Equal tags go in arrival order.
    expect(order).toEqual(['b0', 'a0', 'a1', 'b1', 'a2', 'a3'])
  })

  it('refuses a requester over maxPerRequester at once (waiting or holding), and takes it again after a release', async () => {
    const s = setup({ maxPerRequester: 2 })
    s.addPeer(0)
    const held = await s.ask('flooder')
    const waiting = track(s.ask('flooder'))
    await settle()
    await expectQueueError(s.ask('flooder'), QueueErrorCode.REQUESTER_BUSY)
    expect(s.queue.depth).toBe(1) // the refused request never queued
    const other = track(s.ask('other'))
    await settle()
    expect(s.queue.depth).toBe(2)
    held.release()
    await settle()
    expect(other.settled).toBe(true) // tag 0, ahead of the flooder's second (tag 10)
    expect(waiting.settled).toBe(false)
    // One of the flooder's two is done: it may ask again, and queues.
    const again = track(s.ask('flooder'))
    await settle()
    expect(again.settled).toBe(false)
    expect(s.queue.depth).toBe(2)
    await expectQueueError(s.ask('flooder'), QueueErrorCode.REQUESTER_BUSY)
    other.value!.release()
    await settle()
    expect([waiting.settled, again.settled]).toEqual([true, false])
  })

  it('frees a requester’s share when its waiting request gives up or fails', async () => {
    const s = setup({ maxPerRequester: 1 })
    s.addPeer(0)
    const held = await s.ask('a')
    const controller = new AbortController()
    const gone = s.ask('b', 10, controller.signal)
    await settle()
    controller.abort()
    await expectQueueError(gone, QueueErrorCode.DEADLINE)
    const back = track(s.ask('b'))
    await settle()
    expect(back.settled).toBe(false) // queued, not refused as busy
    s.peerStore.delete(ids[0]!)
    s.queue.notify()
    await settle()
    expect((back.error as QueueError).code).toBe(QueueErrorCode.NO_UPSTREAM)
    held.release()
    await expectQueueError(s.ask('b'), QueueErrorCode.NO_UPSTREAM) // not REQUESTER_BUSY
  })
})
