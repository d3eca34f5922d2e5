import { describe, expect, it } from 'vitest'
import type { Misbehaviour } from '../../src/devnet/misbehaviour.js'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import type { ContowerNode, NodeOverrides } from '../../src/node.js'
import { getProtocol, type ProtocolDef } from '../../src/reqresp/protocols.js'
import { RequestErrorCode } from '../../src/reqresp/errors.js'
import { toRelayRequest } from '../../src/relay/relayRequest.js'
import { RespCode } from '../../src/wire/constants.js'
import { type WireBytes } from '../../src/wire/chunks.js'
import {
  clientFor,
  metricValue,
  outcomeOf,
  startPeer,
  startRelay,
  testChain,
  waitHandshaken,
  rangeRequest,
  stopAfterEach,
} from '../helpers/devnet.js'

// Upstream faults: before the first chunk reached the requester Contower fails over to a healthy upstream and
// charges the faulty one; after it, a range goes on from a healthy upstream after the last block forwarded (and a
// lie found there is in relay-verify.test.ts). Nothing failed is cached.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const BY_ROOT = getProtocol('beacon_blocks_by_root', 2)
const BY_RANGE_LABEL = { protocol: 'beacon_blocks_by_range/2' }

/** Short relay timings so a stalling upstream costs a fraction of a second. */
const FAST: NodeOverrides = { relay: { upstreamTtfbMs: 300, firstChunkDeadlineMs: 2_000 } }

const track = stopAfterEach()

const range = rangeRequest
const roots = (chain: SyntheticChain, slots: number[]) =>
  BY_ROOT.request!.serialize(slots.map((s) => chain.blockAt(s)!.root))
const raw = (chunks: Array<{ raw: WireBytes }>) => Buffer.concat(chunks.map((c) => c.raw.subarray()))
const cacheKey = (def: ProtocolDef, ssz: Uint8Array) => toRelayRequest(def, def.request!.deserialize(ssz)).key

interface Setup {
  chain: SyntheticChain
  node: ContowerNode
  faulty: SimulatedPeer
  healthy: SimulatedPeer
  requester: SimulatedPeer
}

/**
 * Contower with two upstreams: `faulty` is a static peer, so it is preferred and always tried first while in good
 * standing; `healthy` is an ordinary peer Contower dialled, the only one left to fail over to. The requester is
 * connected to Contower and to `healthy` (to compare the relayed answer with the direct one).
 */
async function setup(overrides: NodeOverrides = FAST): Promise<Setup> {
  const { network, chain } = testChain(100, 2_000)
  const [faulty, healthy, requester] = await Promise.all([
    track(startPeer(network, chain)),
    track(startPeer(network, chain)),
    track(startPeer(network, chain, { serveBlocks: false })),
  ])
  const node = await track(startRelay(network, [faulty], {}, overrides))
  await node.libp2p.dial(healthy.multiaddr)
  await waitHandshaken(node, [faulty, healthy])
  await requester.libp2p.dial(node.listenAddresses[0])
  await requester.libp2p.dial(healthy.multiaddr)
  return { chain, node, faulty, healthy, requester }
}

const served = (peer: SimulatedPeer, def: ProtocolDef) => peer.servedCount(def.name).requests

describe('relay failover before the first chunk', () => {
  const cases: Array<{ fault: Misbehaviour; def: ProtocolDef; reason: string }> = [
    { fault: 'stall', def: BY_RANGE, reason: RequestErrorCode.TTFB_TIMEOUT },
    { fault: 'corrupt', def: BY_RANGE, reason: RequestErrorCode.INVALID_RESPONSE },
    { fault: 'wrong_block', def: BY_RANGE, reason: 'slot_out_of_range' },
    { fault: 'wrong_block', def: BY_ROOT, reason: 'root_not_requested' },
    { fault: 'error', def: BY_RANGE, reason: `error_response_${RespCode.ServerError}` },
  ]

  it.each(cases)('$fault ($def.name): the healthy upstream answers, the faulty one is charged', async (c) => {
    const { chain, node, faulty, healthy, requester } = await setup()
    faulty.misbehaviour = c.fault
    const ssz = c.def === BY_RANGE ? range(10, 8) : roots(chain, [12, 15, 17])
    const n = c.def === BY_RANGE ? 8 : 3

    const direct = await requester.fetch(healthy.peerId, c.def, ssz, n)
    expect(direct).toHaveLength(n)
    const servedBefore = served(healthy, c.def)
    const relayed = await requester.fetch(node.libp2p.peerId, c.def, ssz, n)

    expect(raw(relayed)).toEqual(raw(direct))
    // One call (by range it also asks the slots after the range, whose first block proves the range's last block).
    expect(served(healthy, c.def) - servedBefore).toBe(1)
    const protocol = `${c.def.name}/${c.def.version}`
    expect(await metricValue(node, 'contower_relay_failovers_total', { protocol })).toBe(1)
    expect(await metricValue(node, 'contower_relay_upstream_errors_total', { protocol, reason: c.reason })).toBe(1)
    expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)
    expect(node.scores.score(healthy.peerId.toString())).toBeGreaterThanOrEqual(0)

    if (c.fault === 'corrupt') {
      // Only the healthy answer was stored; a repeat is served from it without another upstream call.
      expect(raw(node.relayCache.get(cacheKey(c.def, ssz))!.chunks.map((chunk) => ({ raw: chunk })))).toEqual(
        raw(direct),
      )
      const choicesBefore = await metricValue(node, 'contower_relay_upstream_choice_total', { protocol })
      const again = await requester.fetch(node.libp2p.peerId, c.def, ssz, n)
      expect(raw(again)).toEqual(raw(direct))
      expect(await metricValue(node, 'contower_relay_upstream_choice_total', { protocol })).toBe(choicesBefore)
    }
  })

  it('all upstreams silent: the requester gets ServerError within the deadline', async () => {
    const deadlineMs = 1_500
    const { node, faulty, healthy, requester } = await setup({
      relay: { upstreamTtfbMs: 500, firstChunkDeadlineMs: deadlineMs },
    })
    faulty.misbehaviour = 'stall'
    healthy.misbehaviour = 'stall'

    // The requester waits 5 s for a first byte: an answer after that would show as TTFB_TIMEOUT here.
    const out = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, range(10, 8), 8)
    expect(out.chunks).toHaveLength(0)
    expect(out.error?.code).toBe(RequestErrorCode.ERROR_RESPONSE)
    expect(out.error?.detail.respCode).toBe(RespCode.ServerError)
    expect(out.ms).toBeLessThan(deadlineMs + 2_500)
    // Both were tried: the first ran out of TTFB, the second was cut short by the request's deadline.
    expect(await metricValue(node, 'contower_relay_failovers_total', BY_RANGE_LABEL)).toBe(1)
    expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)
    expect(node.scores.score(healthy.peerId.toString())).toBeLessThan(0)
    expect(await metricValue(node, 'contower_relay_requests_total', { result: 'upstream_failed' })).toBe(1)
  })
})

/**
 * The faulty upstream sends the first of 8 blocks, then drops the connection. That block is held back until the
 * next one links to it, so nothing has left: Contower fails over and the requester gets the whole range.
 */
async function disconnectAfterFirstBlock(): Promise<void> {
  const { node, faulty, healthy, requester } = await setup()
  faulty.misbehaviour = 'disconnect'
  const ssz = range(10, 8)

  const direct = await requester.fetch(healthy.peerId, BY_RANGE, ssz, 8)
  const out = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, ssz, 8)
  expect(out.error).toBeNull()
  expect(raw(out.chunks)).toEqual(raw(direct))
  expect(await metricValue(node, 'contower_relay_failovers_total', BY_RANGE_LABEL)).toBe(1)
  expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)
  expect(raw(node.relayCache.get(cacheKey(BY_RANGE, ssz))!.chunks.map((chunk) => ({ raw: chunk })))).toEqual(
    raw(direct),
  )
}

describe('relay fault after the first block', () => {
  it('an upstream dropping its connection after one block: the block was held back, so Contower fails over', () =>
    disconnectAfterFirstBlock())

  it.each([
    { fault: 'disconnect' as const, what: 'resetting its connection' },
    { fault: 'hang' as const, what: 'falling silent with the stream open' },
  ])('an upstream $what after five blocks: the healthy one goes on after the fourth, linked on', async (c) => {
    // An upstream silent mid-response is given up after upstreamChunkMs: here 500 ms, against a requester that waits
    // 3 s for each chunk (RESP_TIMEOUT, 10 s, against 5 s as Contower runs).
    const { node, faulty, healthy, requester } = await setup({ relay: { ...FAST.relay, upstreamChunkMs: 500 } })
    faulty.misbehaviour = c.fault
    faulty.faultAtChunk = 4 // five blocks sent; four left Contower (the fifth was held back for its proof)
    const ssz = range(10, 8)

    const direct = await requester.fetch(healthy.peerId, BY_RANGE, ssz, 8)
    const out = await outcomeOf(clientFor(requester, { respTimeoutMs: 3_000 }), node.libp2p.peerId, BY_RANGE, ssz, 8)
    expect(out.error).toBeNull()
    expect(raw(out.chunks)).toEqual(raw(direct))
    const resumed = await metricValue(node, 'contower_relay_resumes_total', { outcome: 'whole' })
    const failedOver = await metricValue(node, 'contower_relay_failovers_total', BY_RANGE_LABEL)
    // A reset can overtake the blocks sent before it (the transport drops what was not read yet): on a loaded
    // machine the reset may then arrive before any block, which is a failover, not a resume. A silent stream cannot.
    if (c.fault === 'disconnect') expect([resumed, failedOver].sort()).toEqual([0, 1])
    else expect([resumed, failedOver]).toEqual([1, 0])
    expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)
    expect(raw(node.relayCache.get(cacheKey(BY_RANGE, ssz))!.chunks.map((chunk) => ({ raw: chunk })))).toEqual(
      raw(direct),
    )
  })
})
