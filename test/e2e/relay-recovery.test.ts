import { describe, expect, it } from 'vitest'
import { RequestErrorCode } from '../../src/reqresp/errors.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { RespCode } from '../../src/wire/constants.js'
import {
  clientFor,
  metricValue,
  outcomeOf,
  rangeRequest,
  startPeer,
  startRelay,
  stopAfterEach,
  testChain,
  waitHandshaken,
} from '../helpers/devnet.js'
import { startStranger } from '../helpers/stranger.js'

// No self-lockout: after every upstream misbehaved (and sits at or below the selector's minScore), a healthy
// upstream is still asked, so service resumes as soon as one heals, not when the scores have decayed.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const track = stopAfterEach()

/** Contower with two upstreams (static peers) and a requester; `ask` sends BlocksByRange through it. */
async function twoUpstreams() {
  const { network, chain } = testChain(100, 2_000)
  const [a, b, requester] = await Promise.all([
    track(startPeer(network, chain)),
    track(startPeer(network, chain)),
    track(startPeer(network, chain, { serveBlocks: false })),
  ])
  const node = await track(startRelay(network, [a, b]))
  await waitHandshaken(node, [a, b])
  await requester.libp2p.dial(node.listenAddresses[0])
  const ask = (startSlot: number, count: number) =>
    outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, rangeRequest(startSlot, count), count)
  return { chain, a, b, node, ask }
}

describe('relay recovery', () => {
  it('after every upstream misbehaved, the next request is served once one heals', async () => {
    const { chain, a, b, node, ask } = await twoUpstreams()

    // Each request tries both once: first both answer ServerError (-1 each), then both corrupt their answers (bad
    // CRC: an invalid response, -10 each). Every request fails with ServerError.
    for (const [fault, startSlot] of [
      ['error', 10],
      ['corrupt', 30],
    ] as const) {
      a.misbehaviour = fault
      b.misbehaviour = fault
      const failed = await ask(startSlot, 4)
      expect(failed.chunks).toHaveLength(0)
      expect(failed.error?.code).toBe(RequestErrorCode.ERROR_RESPONSE)
      expect(failed.error?.detail.respCode).toBe(RespCode.ServerError)
    }
    for (const p of [a, b]) {
      const id = p.peerId.toString()
      expect(node.scores.score(id)).toBeLessThanOrEqual(-10) // the selector's minScore: both are a last choice
      expect(node.scores.state(id)).toBe('healthy') // not disconnected or banned
    }

    // Both heal. Their scores (about -11) take over a minute to decay above -10, but the next request is served now.
    a.misbehaviour = 'none'
    b.misbehaviour = 'none'
    const served = await ask(20, 4)
    expect(served.error).toBeNull()
    expect(served.chunks.map((c) => Buffer.from(c.ssz!))).toEqual(
      [20, 21, 22, 23].map((slot) => Buffer.from(chain.blockAt(slot)!.ssz)),
    )
    expect(await metricValue(node, 'contower_relay_requests_total', { result: 'no_upstream' })).toBe(0)
  })

  it('after every static upstream was banned (and kept), the next request is served once one heals', async () => {
    const { chain, a, b, node, ask } = await twoUpstreams()
    const banned = () => [a, b].every((p) => node.scores.state(p.peerId.toString()) === 'ban')
    const dropped: string[] = []
    const upstreamIds = new Set([a, b].map((p) => p.peerId.toString()))
    node.libp2p.addEventListener('peer:disconnect', (evt) => {
      if (upstreamIds.has(evt.detail.toString())) dropped.push(evt.detail.toString())
    })

    // Bad CRCs (an invalid response, -10 each) until both are past the ban threshold (-50). Static peers are kept
    // connected: no Goodbye(Banned), no redial.
    a.misbehaviour = 'corrupt'
    b.misbehaviour = 'corrupt'
    for (let startSlot = 10; !banned(); startSlot += 4) {
      expect(startSlot).toBeLessThan(90) // each request costs both upstreams it reaches: a few suffice
      await waitHandshaken(node, [a, b], 30_000)
      const failed = await ask(startSlot, 4)
      expect(failed.chunks).toHaveLength(0)
      expect(failed.error?.detail.respCode).toBe(RespCode.ServerError)
    }

    expect(dropped).toEqual([])

    // Both heal; their scores need minutes to decay above -50, but the next request is served now.
    a.misbehaviour = 'none'
    b.misbehaviour = 'none'
    await waitHandshaken(node, [a, b], 30_000)
    expect(banned()).toBe(true)
    const served = await ask(20, 4)
    expect(served.error).toBeNull()
    expect(served.chunks.map((c) => Buffer.from(c.ssz!))).toEqual(
      [20, 21, 22, 23].map((slot) => Buffer.from(chain.blockAt(slot)!.ssz)),
    )
  }, 90_000)
})

describe('relay at start-up', () => {
  it('a request made while the only upstream is still in its handshake waits for it, and is served once it is done', async () => {
    const { network, chain } = testChain()
    // Two hosts Contower did not build: an upstream slow to answer Contower's Status, and a requester that asks as
    // soon as it is connected (Lodestar asks for blocks milliseconds after its handshake, whatever ours).
    const [upstream, requester] = await Promise.all([
      track(startStranger({ network, chain }, ['yamux'])),
      track(startStranger({ network, chain }, ['mplex', 'yamux'])),
    ])
    // No re-check timer within the test: only the handshake's notice to the queue can wake the request in time.
    const node = await track(startRelay(network, [], {}, { relay: { handshakeRetryMs: 60_000 } }))
    await requester.host.dial(node.listenAddresses[0])
    // From here the request must come within Contower's Status timeout (5 s): nothing slow is left before it.
    const answerStatus = upstream.hold('status')
    await node.libp2p.dial(upstream.host.getMultiaddrs()[0])
    await expect.poll(() => upstream.received.get('status') ?? 0, { timeout: 5_000 }).toBeGreaterThan(0)
    const fetching = requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(10, 4), 4)
    // Waiting in the queue, not refused with ResourceUnavailable as "no peer to serve this".
    await expect.poll(() => metricValue(node, 'contower_relay_queue_depth'), { timeout: 10_000 }).toBe(1)
    expect(node.peerStore.get(upstream.peerId)?.handshaken).toBe(false)
    answerStatus()
    const blocks = await fetching
    const expected = chain.blocksInRange(10, 4, 99)
    expect(expected.length).toBeGreaterThan(0)
    expect(blocks.map((c) => c.result)).toEqual(expected.map(() => RespCode.Success))
    expect(blocks.map((c) => Buffer.from(c.ssz!).toString('hex'))).toEqual(
      expected.map((b) => Buffer.from(b.ssz).toString('hex')),
    )
  }, 60_000)
})
