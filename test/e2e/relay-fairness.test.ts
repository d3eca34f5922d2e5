import { describe, expect, it } from 'vitest'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import type { ContowerNode } from '../../src/node.js'
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

// Fair share: a requester's open requests of one protocol are bounded by the spec's 2 (the excess is refused with
// RateLimited (139) as soon as it is read, before any work), and another requester still gets its place in the
// upstream queue ahead of the flooder's. The queue's own per-requester bound (4, across protocols) is unit-tested.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const track = stopAfterEach()

function ask(requester: SimulatedPeer, node: ContowerNode, startSlot: number, count: number) {
  return outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, rangeRequest(startSlot, count), count)
}

describe('relay fairness', () => {
  it("a flooder's excess is refused at once; another requester still queues and is served", async () => {
    const { network, chain } = testChain(100, 2_000)
    const [upstream, flooder, polite] = await Promise.all([
      track(startPeer(network, chain)),
      track(startPeer(network, chain, { serveBlocks: false })),
      track(startPeer(network, chain, { serveBlocks: false })),
    ])
    // The inbound quota is raised to let the flood in: what stands in its way is the queue.
    const node = await track(startRelay(network, [upstream], { 'rate-limits': 'beacon_blocks_by_range:10000/10' }))
    await waitHandshaken(node, [upstream])
    await flooder.libp2p.dial(node.listenAddresses[0])
    await polite.libp2p.dial(node.listenAddresses[0])
    // One served request each first: the connections are fully set up before the timing matters.
    for (const [i, r] of [flooder, polite].entries()) expect((await ask(r, node, 80 + i, 1)).error).toBeNull()
    // Slow (a pause before each chunk): eight blocks hold an upstream slot for two seconds.
    upstream.misbehaviour = 'slow'

    // Six at once: two hold the upstream's two slots, four are over the spec's two open per protocol.
    let ended = 0
    const flood = Array.from({ length: 6 }, (_, i) => ask(flooder, node, 10 + 8 * i, 8).finally(() => ended++))
    await expect.poll(() => ended, { timeout: 5_000 }).toBe(4)
    const inbound = { protocol: 'beacon_blocks_by_range/2', result: 'too_many_concurrent' }
    expect(await metricValue(node, 'contower_reqresp_inbound_requests_total', inbound)).toBe(4)
    // The two warm-ups were served; the two admitted ones are open, and the refused never reached the relay.
    expect(upstream.servedCount('beacon_blocks_by_range').requests).toBe(2)
    expect(await metricValue(node, 'contower_relay_requests_total', { result: 'requester_busy' })).toBe(0)
    const politeOutcome = ask(polite, node, 70, 8)
    await expect.poll(() => metricValue(node, 'contower_relay_queue_depth'), { timeout: 5_000 }).toBe(1)

    // The polite request waits for the first slot the flooder's frees, within the queue's 2.5 s.
    const served = await politeOutcome
    expect(served.error).toBeNull()
    expect(served.chunks).toHaveLength(8)
    const outcomes = await Promise.all(flood)
    const refused = outcomes.filter(
      (o) => o.error?.code === RequestErrorCode.ERROR_RESPONSE && o.error.detail.respCode === RespCode.RateLimited,
    )
    expect(refused.length).toBe(4)
    expect(outcomes.filter((o) => o.error === null).length).toBe(2)
    expect(upstream.stats.quotaExceeded).toBe(0)
  })
})
