import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { type Quota, UpstreamLimiter } from '../../../src/limits/index.js'
import { PeerStore } from '../../../src/peers/peerStore.js'
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

function setup(opts: { maxQueued?: number; maxConcurrent?: number; quotas?: ReadonlyMap<string, Quota> } = {}) {
  const peerStore = new PeerStore()
  const now = () => Date.now()
  const scores = new PeerScores({ now })
  const limiter = new UpstreamLimiter(
    { now },
    { quotas: opts.quotas ?? new Map(), maxConcurrent: opts.maxConcurrent ?? 1 },
  )
  const clock = new Clock({ genesisTime: GENESIS_TIME, secondsPerSlot: 12, slotsPerEpoch: 32, now })
  const selector = new UpstreamSelector(
    { peerStore, scores, limiter, clock, isPreferred: () => false },
    UPSTREAM_SELECTOR_DEFAULTS,
    () => 0,
  )
  const waits: number[] = []
  const queue = new UpstreamQueue(
    { selector, onWait: (ms) => waits.push(ms) },
    { maxQueued: opts.maxQueued ?? UPSTREAM_QUEUE_DEFAULTS.maxQueued },
  )
  const addPeer = (i: number) => {
    const data = peerStore.add(ids[i]!, 'outbound')
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
  const acquire = (exclude: ReadonlySet<string> = new Set(), signal = new AbortController().signal, count = 10) =>
    queue.acquire(req(count), exclude, signal)
  return { peerStore, limiter, queue, waits, addPeer, id, acquire }
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
    expect(UPSTREAM_QUEUE_DEFAULTS).toEqual({ maxQueued: 256 })
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
    // 10 tokens a second, refilled at 80%: 10 tokens take 1250 ms.
    const s = setup({ quotas: new Map([[BBR, { tokens: 10, seconds: 1 }]]), maxConcurrent: 2 })
    s.addPeer(0)
    ;(await s.acquire()).release()
    const refillMs = s.limiter.waitMs(s.id(0), BBR, 10)
    expect(refillMs).toBeCloseTo(1250, 6)
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
})
