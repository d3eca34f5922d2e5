import type { Libp2p } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import type { Misbehaviour } from '../../src/devnet/misbehaviour.js'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import type { ContowerNode, NodeOverrides } from '../../src/node.js'
import { getProtocol, protocolId, type ProtocolDef } from '../../src/reqresp/protocols.js'
import { toRelayRequest } from '../../src/relay/relayRequest.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeResponseChunk, readRequest, type ResponseChunk } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { serveBeaconProtocols } from '../helpers/beaconPeer.js'
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
import { createTestPeer } from '../helpers/peers.js'

// Upstreams that lie with valid SSZ (a changed field, a wrong parent_root, a broken inclusion proof): Contower
// checks roots, links and proofs, so no wrong block or sidecar reaches the requester or the cache, the liar is
// charged, and the requester is served once an honest answer can be had.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const COLUMNS_BY_RANGE = getProtocol('data_column_sidecars_by_range', 1)
const COLUMNS_BY_ROOT = getProtocol('data_column_sidecars_by_root', 1)
const FAST: NodeOverrides = { relay: { upstreamTtfbMs: 300, firstChunkDeadlineMs: 2_000 } }
/** The build's block root worker (`npm test` builds first); run from sources, Contower hashes on its event loop. */
const BUILT_WORKER = new URL('../../dist/bundle/blockRootWorker.js', import.meta.url)

const track = stopAfterEach()
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const payloads = (chunks: ResponseChunk[]) => chunks.map((c) => hex(c.ssz!))
const cacheKey = (def: ProtocolDef, requestSsz: Uint8Array) =>
  toRelayRequest(def, def.request!.deserialize(requestSsz)).key
const label = (def: ProtocolDef) => `${def.name}/${def.version}`

/** The chain's own blocks for [startSlot, startSlot + count), as SSZ hex: what a correct answer holds. */
const chainBlocks = (chain: SyntheticChain, startSlot: number, count: number) =>
  chain.blocksInRange(startSlot, count, startSlot + count).map((b) => hex(b.ssz))

interface Setup {
  chain: SyntheticChain
  node: ContowerNode
  faulty: SimulatedPeer
  healthy: SimulatedPeer
  requester: SimulatedPeer
}

/** As in relay-faults: `faulty` is a static peer (tried first), `healthy` the one left to fail over to. */
async function setup(blobsPerBlock = 0, overrides: NodeOverrides = FAST): Promise<Setup> {
  const { network } = testChain(100)
  const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock })
  const [faulty, healthy, requester] = await Promise.all([
    // Supernodes: each serves every column, so either can answer any column request.
    track(startPeer(network, chain, { custodyGroupCount: 128 })),
    track(startPeer(network, chain, { custodyGroupCount: 128 })),
    track(startPeer(network, chain, { serveBlocks: false })),
  ])
  const node = await track(startRelay(network, [faulty], {}, overrides))
  await node.libp2p.dial(healthy.multiaddr)
  await waitHandshaken(node, [faulty, healthy])
  await requester.libp2p.dial(node.listenAddresses[0])
  await requester.libp2p.dial(healthy.multiaddr)
  return { chain, node, faulty, healthy, requester }
}

describe('relay verification: lying upstreams before the first chunk', () => {
  const cases: Array<{ fault: Misbehaviour; start: number; count: number; thread: 'event_loop' | 'worker' }> = [
    // The second block names a wrong parent: the first is held back and never leaves.
    { fault: 'wrong_parent', start: 10, count: 8, thread: 'event_loop' },
    // A single block with a changed state_root: only the block after the range (asked with it) shows it.
    { fault: 'alter_block', start: 30, count: 1, thread: 'event_loop' },
    // The same lies with roots hashed on the build's worker thread, as the daemon does.
    { fault: 'wrong_parent', start: 10, count: 8, thread: 'worker' },
    { fault: 'alter_block', start: 30, count: 1, thread: 'worker' },
  ]

  it.each(cases)(
    '$fault, roots on the $thread: the healthy upstream answers, the liar is charged, only its answer is cached',
    async (c) => {
      const workerFile = c.thread === 'worker' ? BUILT_WORKER : null
      const { chain, node, faulty, healthy, requester } = await setup(0, { ...FAST, blockRoots: { workerFile } })
      faulty.misbehaviour = c.fault
      faulty.alteredSlot = c.start + c.count - 1 // alter_block: the range's last block
      const request = rangeRequest(c.start, c.count)

      const relayed = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, c.count)
      expect(payloads(relayed)).toEqual(chainBlocks(chain, c.start, c.count))
      expect(healthy.servedCount(BY_RANGE.name).requests).toBeGreaterThanOrEqual(1)
      expect(
        await metricValue(node, 'contower_relay_upstream_errors_total', {
          protocol: label(BY_RANGE),
          reason: 'broken_link',
        }),
      ).toBe(1)
      expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)
      expect(node.scores.score(healthy.peerId.toString())).toBeGreaterThanOrEqual(0)
      const cached = node.relayCache.get(cacheKey(BY_RANGE, request))!
      expect(cached.chunks).toHaveLength(c.count)
      const other = c.thread === 'worker' ? 'event_loop' : 'worker'
      // Both answers' blocks, and the block after the range asked with them: every root hashed where configured.
      expect(await metricValue(node, 'contower_relay_block_roots_total', { thread: c.thread })).toBeGreaterThan(c.count)
      expect(await metricValue(node, 'contower_relay_block_roots_total', { thread: other })).toBe(0)

      // Healed: served again (from the cache), still the chain's blocks.
      faulty.misbehaviour = 'none'
      const again = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, c.count)
      expect(payloads(again)).toEqual(chainBlocks(chain, c.start, c.count))
    },
  )

  it.each([
    {
      def: COLUMNS_BY_RANGE,
      request: () => COLUMNS_BY_RANGE.request!.serialize({ startSlot: 20, count: 4, columns: [3, 9] }),
    },
    {
      def: COLUMNS_BY_ROOT,
      request: (chain: SyntheticChain) =>
        COLUMNS_BY_ROOT.request!.serialize([{ blockRoot: chain.blockAt(22)!.root, columns: [3, 9] }]),
    },
  ])(
    'bad_proof ($def.name): no sidecar with a broken inclusion proof is forwarded or cached',
    async ({ def, request }) => {
      const { chain, node, faulty, healthy, requester } = await setup(1)
      faulty.misbehaviour = 'bad_proof'
      const ssz = request(chain)
      const direct = await requester.fetch(healthy.peerId, def, ssz, 16)
      expect(direct.length).toBeGreaterThan(0)

      const relayed = await requester.fetch(node.libp2p.peerId, def, ssz, 16)
      expect(payloads(relayed)).toEqual(payloads(direct))
      expect(
        await metricValue(node, 'contower_relay_upstream_errors_total', {
          protocol: label(def),
          reason: 'invalid_sidecar',
        }),
      ).toBe(1)
      expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)
      // By root the answer is cached whole; by range, per column (columnRouter.ts), under one-column requests' keys.
      const keys =
        def === COLUMNS_BY_RANGE
          ? [3, 9].map((c) => cacheKey(def, def.request!.serialize({ startSlot: 20, count: 4, columns: [c] })))
          : [cacheKey(def, ssz)]
      const cachedChunks = keys.map((k) => node.relayCache.get(k)?.chunks.length ?? 0)
      expect(cachedChunks.reduce((a, b) => a + b, 0)).toBe(direct.length)
    },
  )
})

describe('relay verification: a range reaching the head', () => {
  it('its last block, relayed on gossip by another peer, proves it: cached, and a repeat comes from the cache', async () => {
    // One-minute slots from a slot's start: the head stays put for the whole test, so nothing after it exists.
    const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - 100 * 60, slotSeconds: 60 })
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000 })
    const [upstream, gossiper] = await Promise.all([
      track(startPeer(network, chain)),
      track(startPeer(network, chain, { serveBlocks: false })), // not an upstream: only gossip and requests
    ])
    const node = await track(startRelay(network, [upstream], {}, FAST))
    await waitHandshaken(node, [upstream])
    await gossiper.libp2p.dial(node.listenAddresses[0])
    const head = gossiper.clock.currentSlot
    // The head block, published once Contower's subscription has reached the gossiper, and accepted by Contower.
    await expect.poll(() => gossiper.publishBlock(head), { timeout: 20_000 }).toBe(true)
    await expect
      .poll(() => metricValue(node, 'contower_gossip_accepted_total', { kind: 'beacon_block' }), { timeout: 20_000 })
      .toBe(1)

    const request = rangeRequest(head - 2, 3)
    const relayed = await gossiper.fetch(node.libp2p.peerId, BY_RANGE, request, 3)
    expect(payloads(relayed)).toEqual(chainBlocks(chain, head - 2, 3))
    expect(await metricValue(node, 'contower_relay_gossip_proven_ranges_total')).toBe(1)
    expect(await metricValue(node, 'contower_relay_unproven_ranges_total')).toBe(0)
    expect(node.relayCache.get(cacheKey(BY_RANGE, request))?.chunks).toHaveLength(3)

    const served = upstream.servedCount(BY_RANGE.name).requests
    const again = await gossiper.fetch(node.libp2p.peerId, BY_RANGE, request, 3)
    expect(payloads(again)).toEqual(chainBlocks(chain, head - 2, 3))
    expect(upstream.servedCount(BY_RANGE.name).requests).toBe(served)
  })
})

describe('relay verification: a lie found after chunks have left', () => {
  it('alter_block on the last block, found after chunks left: the healthy upstream goes on from there; the whole range reaches the requester and the cache', async () => {
    const { chain, node, faulty, requester } = await setup()
    faulty.misbehaviour = 'alter_block'
    faulty.alteredSlot = 47 // the range's last block
    const request = rangeRequest(40, 8)

    const out = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, request, 8)
    // Seven blocks linked by their successors left; the altered eighth, disowned by the block after the range, did
    // not: the healthy upstream was asked for slot 47 on, and its block 47 had to name the seventh as its parent.
    expect(out.error).toBeNull()
    expect(payloads(out.chunks)).toEqual(chainBlocks(chain, 40, 8))
    expect(await metricValue(node, 'contower_relay_resumes_total', { outcome: 'whole' })).toBe(1)
    expect(node.scores.score(faulty.peerId.toString())).toBeLessThan(0)

    // The answer put together from both passed every check: cached, and a repeat asks no upstream.
    expect(node.relayCache.get(cacheKey(BY_RANGE, request))).toBeDefined()
    const choices = await metricValue(node, 'contower_relay_upstream_choice_total', { protocol: label(BY_RANGE) })
    const again = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, 8)
    expect(payloads(again)).toEqual(chainBlocks(chain, 40, 8))
    expect(await metricValue(node, 'contower_relay_upstream_choice_total', { protocol: label(BY_RANGE) })).toBe(choices)
  })
})

/**
 * A liar built without SimulatedPeer: a plain libp2p host answering the beacon handshake and BlocksByRange with
 * hand-made responses, the chain's blocks with one block's graffiti changed (re-serialized, valid SSZ) while `lying`:
 * the block at `alteredSlot` when set, else each answer's second block. With `hangUpAfter`, it sends that many blocks
 * of an answer and hangs up the connection, as a js-libp2p node going away does (its streams end cleanly).
 */
async function startLiar(chain: SyntheticChain, honest: SimulatedPeer) {
  const host = (await createTestPeer({ muxers: 'mplex' })) as Libp2p
  await host.start()
  const state = { lying: true, requests: 0, alteredSlot: null as number | null, hangUpAfter: null as number | null }
  const head = () => honest.clock.currentSlot // the same network and genesis: the same clock and digests
  await serveBeaconProtocols(host, () => {
    const headBlock = chain.headAt(head())
    const finalized = chain.checkpoint(Math.max(0, Math.floor(head() / chain.slotsPerEpoch) - 2))
    return {
      forkDigest: honest.forkSchedule.digestAtEpoch(Math.floor(head() / chain.slotsPerEpoch)),
      finalizedRoot: finalized.root,
      finalizedEpoch: finalized.epoch,
      headRoot: headBlock.root,
      headSlot: headBlock.slot,
      earliestAvailableSlot: 0,
    }
  })
  await host.handle(protocolId(BY_RANGE.name, BY_RANGE.version), async (stream, connection) => {
    state.requests++
    const req = BY_RANGE.request!.deserialize(await readRequest(new ByteReader(stream), BY_RANGE.request!)) as {
      startSlot: number
      count: number
    }
    const all = chain.blocksInRange(req.startSlot, req.count, head())
    const blocks = state.hangUpAfter === null ? all : all.slice(0, state.hangUpAfter)
    blocks.forEach((block, i) => {
      let bytes = block.ssz
      if (state.lying && (state.alteredSlot === null ? i === 1 : block.slot === state.alteredSlot)) {
        const signed = ssz.fulu.SignedBeaconBlock.deserialize(bytes)
        signed.message.body.graffiti = new Uint8Array(32).fill(0xee)
        bytes = ssz.fulu.SignedBeaconBlock.serialize(signed)
      }
      const digest = honest.forkSchedule.digestAtEpoch(Math.floor(block.slot / chain.slotsPerEpoch))
      stream.send(encodeResponseChunk(RespCode.Success, bytes, digest))
    })
    if (state.hangUpAfter !== null && blocks.length < all.length) await host.hangUp(connection.remotePeer)
    else await stream.close()
  })
  return { host, state, stop: () => host.stop() }
}

describe('relay verification: an independent lying host', () => {
  it('a stranger that hangs up mid-response: the honest upstream goes on after the last block forwarded; whole and linked', async () => {
    const { network } = testChain(100)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000 })
    const [honest, requester] = await Promise.all([
      track(startPeer(network, chain)),
      track(startPeer(network, chain, { serveBlocks: false })),
    ])
    const stranger = await track(startLiar(chain, honest))
    stranger.state.lying = false
    stranger.state.hangUpAfter = 3
    // A static peer: asked first.
    const node = await track(
      startRelay(network, [], { 'static-peers': stranger.host.getMultiaddrs()[0]!.toString() }, FAST),
    )
    await node.libp2p.dial(honest.multiaddr)
    await waitHandshaken(node, [stranger.host, honest])
    await requester.libp2p.dial(node.listenAddresses[0])

    const out = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, rangeRequest(50, 6), 6)
    expect(stranger.state.requests).toBeGreaterThanOrEqual(1)
    expect(out.error).toBeNull()
    expect(payloads(out.chunks)).toEqual(chainBlocks(chain, 50, 6))
    expect(await metricValue(node, 'contower_relay_resumes_total', { outcome: 'whole' })).toBe(1)
  })

  it.each(['event_loop', 'worker'] as const)(
    'a corrupt range first, a correct one later, roots on the %s: the requester never sees the changed block, nor is it cached',
    async (thread) => {
      const { network } = testChain(100)
      const chain = new SyntheticChain({ network }, { payloadBytes: 2_000 })
      const [honest, requester] = await Promise.all([
        track(startPeer(network, chain)),
        track(startPeer(network, chain, { serveBlocks: false })),
      ])
      const workerFile = thread === 'worker' ? BUILT_WORKER : null
      const node = await track(startRelay(network, [], {}, { ...FAST, blockRoots: { workerFile } }))
      const liar = await track(startLiar(chain, honest))
      await node.libp2p.dial(liar.host.getMultiaddrs()[0])
      await waitHandshaken(node, [liar.host])
      await requester.libp2p.dial(node.listenAddresses[0])
      const request = rangeRequest(50, 6)
      const truth = chainBlocks(chain, 50, 6)

      // Only the liar upstream: block 0 links to block 1 and leaves; block 1 (changed) is not named by block 2.
      const first = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, request, 6)
      expect(liar.state.requests).toBeGreaterThanOrEqual(1)
      expect(payloads(first.chunks)).toEqual(truth.slice(0, first.chunks.length))
      expect(first.chunks.length).toBeLessThan(2)
      expect(first.error).not.toBeNull()
      expect(node.relayCache.get(cacheKey(BY_RANGE, request))).toBeUndefined()
      expect(node.scores.score(liar.host.peerId.toString())).toBeLessThan(0)
      expect(
        await metricValue(node, 'contower_relay_upstream_errors_total', {
          protocol: label(BY_RANGE),
          reason: 'broken_link',
        }),
      ).toBe(1)

      // An honest upstream joins and the liar heals: the whole range, then the same again from the cache.
      liar.state.lying = false
      await node.libp2p.dial(honest.multiaddr)
      await waitHandshaken(node, [honest])
      const second = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, 6)
      expect(payloads(second)).toEqual(truth)
      const choices = await metricValue(node, 'contower_relay_upstream_choice_total', { protocol: label(BY_RANGE) })
      const third = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, 6)
      expect(payloads(third)).toEqual(truth)
      expect(await metricValue(node, 'contower_relay_upstream_choice_total', { protocol: label(BY_RANGE) })).toBe(
        choices,
      )
      expect(await metricValue(node, 'contower_relay_block_roots_total', { thread })).toBeGreaterThanOrEqual(6)
    },
  )

  it('the liar as a static peer: banned for its lies, kept connected, and once healed it serves as the last choice', async () => {
    const { network } = testChain(100)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000 })
    const [honest, requester] = await Promise.all([
      track(startPeer(network, chain, { serveBlocks: false })), // the liar's clock only: never connected
      track(startPeer(network, chain, { serveBlocks: false })),
    ])
    const liar = await track(startLiar(chain, honest))
    const id = liar.host.peerId.toString()
    const node = await track(startRelay(network, [], { 'static-peers': liar.host.getMultiaddrs()[0].toString() }, FAST))
    await waitHandshaken(node, [liar.host])
    let dropped = 0
    node.libp2p.addEventListener('peer:disconnect', (evt) => {
      if (evt.detail.toString() === id) dropped++
    })
    await requester.libp2p.dial(node.listenAddresses[0])

    // Each range it answers has a changed block (broken_link, -10): five and it is banned. It is still asked, last.
    for (let startSlot = 20; node.scores.state(id) !== 'ban'; startSlot += 6) {
      expect(startSlot).toBeLessThan(90)
      const lied = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, rangeRequest(startSlot, 6), 6)
      expect(payloads(lied.chunks)).toEqual(chainBlocks(chain, startSlot, 6).slice(0, lied.chunks.length))
      expect(lied.error).not.toBeNull()
    }
    expect(dropped).toBe(0)

    liar.state.lying = false
    const served = await requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(50, 6), 6)
    expect(payloads(served)).toEqual(chainBlocks(chain, 50, 6))
    expect(node.scores.state(id)).toBe('ban')
    expect(dropped).toBe(0)
  })

  it('after an empty slot, the next block proves the range’s last one in a follow-up: a changed last block is caught, a sound one cached', async () => {
    const { network } = testChain(100)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, skipSlotEvery: 16 }) // 48 is empty
    const [clockPeer, requester] = await Promise.all([
      track(startPeer(network, chain, { serveBlocks: false })), // the liar's clock only: never connected
      track(startPeer(network, chain, { serveBlocks: false })),
    ])
    const liar = await track(startLiar(chain, clockPeer))
    const node = await track(startRelay(network, [], {}, FAST))
    await node.libp2p.dial(liar.host.getMultiaddrs()[0])
    await waitHandshaken(node, [liar.host])
    await requester.libp2p.dial(node.listenAddresses[0])
    const request = rangeRequest(40, 8)
    const truth = chainBlocks(chain, 40, 8)

    // Block 47 changed: nothing in the range's answer (40..48, 48 empty) follows it; block 49, asked in the
    // follow-up, names the real 47 as its parent.
    liar.state.alteredSlot = 47
    const lied = await outcomeOf(clientFor(requester), node.libp2p.peerId, BY_RANGE, request, 8)
    expect(payloads(lied.chunks)).toEqual(truth.slice(0, 7))
    expect(lied.error?.detail.respCode).toBe(RespCode.ServerError)
    expect(liar.state.requests).toBe(2)
    expect(node.relayCache.get(cacheKey(BY_RANGE, request))).toBeUndefined()
    expect(
      await metricValue(node, 'contower_relay_upstream_errors_total', {
        protocol: label(BY_RANGE),
        reason: 'broken_link',
      }),
    ).toBe(1)

    liar.state.lying = false
    const served = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, 8)
    expect(payloads(served)).toEqual(truth)
    expect(liar.state.requests).toBe(4)
    expect(await metricValue(node, 'contower_relay_successor_followups_total', { result: 'proven' })).toBe(1)
    expect(await metricValue(node, 'contower_relay_unproven_ranges_total')).toBe(0)
    expect(node.relayCache.get(cacheKey(BY_RANGE, request))).toBeDefined()
  })
})
