import type { PeerId } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { transportOf } from '../../src/network/transport.js'
import type { ContowerNode } from '../../src/node.js'
import { RequestErrorCode } from '../../src/reqresp/errors.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { RespCode } from '../../src/wire/constants.js'
import {
  clientFor,
  metricValue,
  outcomeOf,
  type RequestOutcome,
  startPeer,
  startRelay,
  testChain,
  waitHandshaken,
  rangeRequest,
  stopAfterEach,
} from '../helpers/devnet.js'

// Limits on both sides of the relay: a bounded queue, the inbound rate limit, the upstream self-limit under a
// flood, and no request sent back to the peer that asked it. Every request ends with data or a spec error code.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)

const track = stopAfterEach()

const range = rangeRequest

/** A BlocksByRange request from `requester` to Contower, its outcome recorded (never thrown). */
function ask(requester: SimulatedPeer, node: ContowerNode, startSlot: number, count: number, signal?: AbortSignal) {
  return outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, range(startSlot, count), count, signal)
}

function expectRateLimited(out: RequestOutcome): void {
  expect(out.chunks).toHaveLength(0)
  expect(out.error?.code).toBe(RequestErrorCode.ERROR_RESPONSE)
  expect(out.error?.detail.respCode).toBe(RespCode.RateLimited)
}

/** Records each outcome's arrival, so a test can tell which requests were still open at a given moment. */
function settled<T>(p: Promise<T>): { promise: Promise<T>; done: () => boolean } {
  let done = false
  const promise = p.finally(() => (done = true))
  return { promise, done: () => done }
}

describe('relay limits', () => {
  it('a full queue answers RateLimited (139) at once', async () => {
    const { network, chain } = testChain(100, 2_000)
    // Two requesters: each may have only 2 requests of a protocol open (the spec's limit).
    const [upstream, requester, second] = await Promise.all([
      track(startPeer(network, chain)),
      track(startPeer(network, chain, { serveBlocks: false })),
      track(startPeer(network, chain, { serveBlocks: false })),
    ])
    // The deadline, not the TTFB, ends the stalled calls, and well before the requester's own 5 s TTFB.
    const node = await track(
      startRelay(
        network,
        [upstream],
        {},
        { relay: { maxQueued: 1, upstreamTtfbMs: 10_000, firstChunkDeadlineMs: 3_000 } },
      ),
    )
    await waitHandshaken(node, [upstream])
    await requester.libp2p.dial(node.listenAddresses[0])
    await second.libp2p.dial(node.listenAddresses[0])
    upstream.misbehaviour = 'stall'

    // Two requests hold the upstream's two concurrency slots, a third waits in the one-place queue.
    const holding = [settled(ask(requester, node, 10, 4)), settled(ask(requester, node, 20, 4))]
    await expect.poll(() => upstream.stats.maxConcurrent, { timeout: 5_000 }).toBe(2)
    const queued = settled(ask(second, node, 30, 4))
    await expect.poll(() => metricValue(node, 'contower_relay_queue_depth'), { timeout: 2_000 }).toBe(1)

    const refused = await ask(second, node, 40, 4)
    expectRateLimited(refused)
    expect(await metricValue(node, 'contower_relay_requests_total', { result: 'queue_full' })).toBe(1)
    expect([...holding, queued].map((r) => r.done())).toEqual([false, false, false]) // refused before any ended

    // The stalled ones end too, at their deadline: none hangs. The queued one was busy; the upstream of the others
    // failed them.
    expectRateLimited(await queued.promise)
    for (const r of holding) expect((await r.promise).error?.detail.respCode).toBe(RespCode.ServerError)
  })

  // A QUIC requester is held to the same quota as a TCP one (issue 18: bad input limited on both transports).
  it.each(['tcp', 'quic'] as const)(
    'a requester over %s over its inbound quota gets RateLimited (139) and a penalty',
    async (transport) => {
      const { network, chain } = testChain(100, 2_000)
      const [upstream, requester] = await Promise.all([
        track(startPeer(network, chain)),
        track(startPeer(network, chain, { serveBlocks: false, quic: transport === 'quic' })),
      ])
      const node = await track(startRelay(network, [upstream], { 'rate-limits': 'beacon_blocks_by_range:10/60' }))
      await waitHandshaken(node, [upstream])
      await requester.libp2p.dial(node.listenAddresses.find((a) => transportOf(a) === transport)!)
      expect(requester.libp2p.getConnections(node.libp2p.peerId).map((c) => transportOf(c.remoteAddr))).toEqual([
        transport,
      ])
      const id = requester.peerId.toString()

      const first = await ask(requester, node, 10, 8)
      expect(first.error).toBeNull()
      expect(first.chunks).toHaveLength(8)
      expect(node.scores.score(id)).toBe(0)

      // 2 of 10 tokens left, refilling at one per 6 s: 8 more is far beyond the limiter's short delay.
      expectRateLimited(await ask(requester, node, 20, 8))
      expect(node.scores.score(id)).toBeLessThan(0)
      // More than the whole quota can never be served.
      expectRateLimited(await ask(requester, node, 30, 11))
      expect(await metricValue(node, 'contower_relay_rate_limited_total', { outcome: 'peer_quota' })).toBe(1)
      expect(await metricValue(node, 'contower_relay_rate_limited_total', { outcome: 'cost_exceeds_quota' })).toBe(1)
      // Refused requests never went upstream: only the one relayed request did.
      expect(upstream.servedCount('beacon_blocks_by_range').requests).toBe(1)
    },
  )

  it('a request is never sent back to the peer that asked it', async () => {
    const { network, chain } = testChain(100, 2_000)
    // The requester serves blocks and is Contower's only upstream: a candidate for every request but its own.
    const requester = await track(startPeer(network, chain))
    const node = await track(startRelay(network, [requester]))
    await waitHandshaken(node, [requester])

    const out = await ask(requester, node, 10, 8)
    expect(out.error?.detail.respCode).toBe(RespCode.ResourceUnavailable) // there is no peer to ask: not busy
    expect(await metricValue(node, 'contower_relay_requests_total', { result: 'no_upstream' })).toBe(1)
    expect(requester.stats.maxConcurrent).toBe(0) // no block request ever reached it
    expect(requester.servedCount('beacon_blocks_by_range').requests).toBe(0)
  })

  // BUG (src/reqresp/server.ts): the handler's signal is documented as aborted "when the server stops or the stream
  // fails", but only stop() aborts it. A requester that resets its stream is not noticed: Contower keeps the
  // upstream call and its slot until the first-chunk deadline, then charges the upstream for the wait. Remove
  // `.fails` once a stream 'close' with an error aborts the request's controller.
  it('a requester that gives up frees its upstream slot at once', async () => {
    const { network, chain } = testChain(100, 2_000)
    const [upstream, requester] = await Promise.all([
      track(startPeer(network, chain)),
      track(startPeer(network, chain, { serveBlocks: false })),
    ])
    const node = await track(
      startRelay(network, [upstream], {}, { relay: { upstreamTtfbMs: 10_000, firstChunkDeadlineMs: 3_000 } }),
    )
    await waitHandshaken(node, [upstream])
    await requester.libp2p.dial(node.listenAddresses[0])
    upstream.misbehaviour = 'stall'

    const leaving = [new AbortController(), new AbortController()]
    const gone = leaving.map((c, i) => ask(requester, node, 10 + 10 * i, 4, c.signal))
    await expect.poll(() => upstream.stats.maxConcurrent, { timeout: 5_000 }).toBe(2)
    for (const c of leaving) c.abort()
    for (const g of gone) expect((await g).error?.code).toBe(RequestErrorCode.ABORTED)

    // Both relayed requests end as abandoned well before their 3 s deadline, and the upstream is not charged.
    await expect
      .poll(() => metricValue(node, 'contower_relay_requests_total', { result: 'aborted' }), { timeout: 1_000 })
      .toBe(2)
    expect(node.scores.score(upstream.peerId.toString())).toBe(0)
    upstream.misbehaviour = 'none'
    const next = await ask(requester, node, 30, 4)
    expect(next.error).toBeNull()
    expect(next.chunks).toHaveLength(4)
  })

  it('a flood of requests never takes an upstream over its quota or concurrency limit', async () => {
    const { network, chain } = testChain(100, 1_000)
    const [upstream, ...requesters] = await Promise.all([
      track(startPeer(network, chain)),
      ...Array.from({ length: 5 }, () => track(startPeer(network, chain, { serveBlocks: false }))),
    ])
    // Contower itself accepts the whole flood; what reaches the upstream is up to its self-limit.
    const node = await track(
      startRelay(
        network,
        [upstream],
        { 'rate-limits': 'beacon_blocks_by_range:10000/10' },
        { relay: { firstChunkDeadlineMs: 3_000 } },
      ),
    )
    await waitHandshaken(node, [upstream])
    await Promise.all(requesters.map((r) => r.libp2p.dial(node.listenAddresses[0])))
    const disconnects: string[] = []
    node.libp2p.addEventListener('peer:disconnect', (evt: CustomEvent<PeerId>) =>
      disconnects.push(evt.detail.toString()),
    )

    // 30 requests of 32 blocks (960; the upstream allows 128 per 10 s), 6 per requester, distinct ranges. At 32 both
    // limits bind: the first four fit the upstream's bucket, but only two may be open at once.
    const count = 32
    const starts = Array.from({ length: 30 }, (_, i) => 1 + i)
    // Patient requesters: on a loaded machine the relay's own deadline answer (code 3 at 3 s) may come after the
    // default 5 s TTFB, and this test is about what the relay answers, not about how fast.
    const patient = requesters.map((r) => clientFor(r, { ttfbTimeoutMs: 15_000 }))
    const outcomes = await Promise.all(
      starts.map((start, i) =>
        outcomeOf(
          patient[i % patient.length]!,
          node.libp2p.peerId,
          BY_RANGE,
          range(start, count),
          count,
          AbortSignal.timeout(20_000),
        ),
      ),
    )

    let served = 0
    outcomes.forEach((out, i) => {
      if (out.error === null) {
        served++
        expect(out.chunks.map((c) => Buffer.from(c.ssz!))).toEqual(
          Array.from({ length: count }, (_, j) => Buffer.from(chain.blockAt(starts[i] + j)!.ssz)),
        )
      } else expectRateLimited(out) // not ABORTED: every request ended on its own, with data or code 3
    })
    expect(served).toBeGreaterThan(0)
    // One upstream request per served range (it also asked the slots after the range: charged to the quota with it).
    expect(upstream.servedCount('beacon_blocks_by_range').requests).toBe(served)
    expect(upstream.stats.quotaExceeded).toBe(0)
    expect(upstream.stats.maxConcurrent).toBeLessThanOrEqual(2)
    expect(upstream.bans.isBanned(node.libp2p.peerId.toString())).toBe(false)
    expect(disconnects).not.toContain(upstream.peerId.toString())
    expect(node.libp2p.getConnections(upstream.peerId)).not.toHaveLength(0)
    expect(node.scores.score(upstream.peerId.toString())).toBeGreaterThanOrEqual(0)
  })
})
