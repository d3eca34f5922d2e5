import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { DEVNET_DEFAULTS, Devnet, formatSummary } from '../../src/devnet/devnet.js'
import { PeerAction } from '../../src/reqresp/peerAction.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import type { WireBytes } from '../../src/wire/chunks.js'
import {
  logger,
  metricValue,
  rangeRequest,
  startPeer,
  startRelay,
  stopAfterEach,
  testChain,
  waitHandshaken,
} from '../helpers/devnet.js'
import { startTestNode } from '../helpers/node.js'
import { TestRedis } from '../helpers/redis.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const track = stopAfterEach()
/** Each test starts two Contowers and several peers: generous on a loaded machine, where a start takes seconds. */
const TEST_TIMEOUT_MS = 120_000
const concat = (parts: WireBytes[]) => Buffer.concat(parts.map((p) => p.subarray()))
/** The chain's own blocks of a range: what a requester must receive, whoever answers. */
const blocks = (chain: SyntheticChain, start: number, count: number) =>
  chain.blocksInRange(start, count, start + count - 1).map((b) => b.ssz)

/**
 * The tests share this 2-core machine with other suites: a 20 ms Redis budget is often missed under that load,
 * which would turn shared hits into upstream fetches. The budget itself is tested with a frozen Redis below.
 */
const LOADED_MACHINE = { fleetCache: { budgetMs: 2_000 } }

// A real redis-server (Debian's, installed by .ci/run) of this file's own.
let redis: TestRedis
beforeAll(async () => {
  redis = await TestRedis.start()
})
afterAll(() => redis?.stop())
beforeEach(async () => {
  await redis.restart() // a test may have killed it
  const probe = new Redis(redis.url)
  await probe.flushall()
  probe.disconnect()
})

/** Two Contowers sharing the test's Redis, each with the same upstream, and a requester connected to both. */
async function fleetOfTwo() {
  const { network, chain } = testChain()
  const upstream = await track(startPeer(network, chain))
  const flags = { 'fleet-redis': redis.url }
  const a = await track(startRelay(network, [upstream], flags, LOADED_MACHINE))
  const b = await track(startRelay(network, [upstream], flags, LOADED_MACHINE))
  await waitHandshaken(a, [upstream])
  await waitHandshaken(b, [upstream])
  for (const node of [a, b]) await expect.poll(() => node.health().fleet, { timeout: 10_000 }).toBe('ok')
  const requester = await track(startPeer(network, chain, { serveBlocks: false }))
  await requester.libp2p.dial(a.listenAddresses[0])
  await requester.libp2p.dial(b.listenAddresses[0])
  // One upstream request per range fetched (the range and the block after it that proves its last block).
  const upstreamRequests = () => upstream.servedCount('beacon_blocks_by_range').requests
  return { network, chain, upstream, a, b, requester, upstreamRequests }
}

describe('fleet through a real Redis', () => {
  it(
    'shares the cache: a range relayed by A is replayed by B with no upstream request',
    async () => {
      const { a, b, requester, chain, upstreamRequests } = await fleetOfTwo()
      const fromA = await requester.fetch(a.libp2p.peerId, BY_RANGE, rangeRequest(10, 20), 20)
      expect(fromA.map((c) => c.ssz)).toEqual(blocks(chain, 10, 20))
      expect(upstreamRequests()).toBe(1)
      // A writes the entry without waiting for Redis: B may look before it landed, so wait for the write.
      await expect
        .poll(() => metricValue(a, 'contower_fleet_cache_writes_total', { result: 'stored' }), { timeout: 10_000 })
        .toBe(1)

      const fromB = await requester.fetch(b.libp2p.peerId, BY_RANGE, rangeRequest(10, 20), 20)
      expect(concat(fromB.map((c) => c.raw))).toEqual(concat(fromA.map((c) => c.raw)))
      expect(upstreamRequests()).toBe(1)
      expect(await metricValue(b, 'contower_relay_requests_total', { result: 'fleet_hit' })).toBe(1)
      // B kept it locally too: the next repeat is a local hit, not another Redis round trip.
      await requester.fetch(b.libp2p.peerId, BY_RANGE, rangeRequest(10, 20), 20)
      expect(await metricValue(b, 'contower_relay_requests_total', { result: 'cache_hit' })).toBe(1)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'ignores a corrupted shared entry and fetches upstream instead',
    async () => {
      const { a, b, requester, chain, upstreamRequests } = await fleetOfTwo()
      await requester.fetch(a.libp2p.peerId, BY_RANGE, rangeRequest(30, 8), 8)
      await expect
        .poll(() => metricValue(a, 'contower_fleet_cache_writes_total', { result: 'stored' }), { timeout: 10_000 })
        .toBe(1)

      // Flip one byte deep inside the stored value (a block's compressed bytes): the CRC check must catch it.
      const probe = new Redis(redis.url)
      try {
        const keys = await probe.keys('contower:v1:*:cache:*')
        expect(keys).toHaveLength(1)
        const value = (await probe.getBuffer(keys[0]))!
        value[value.byteLength - 100] ^= 0xff
        await probe.set(keys[0], value)
      } finally {
        probe.disconnect()
      }
      const fromB = await requester.fetch(b.libp2p.peerId, BY_RANGE, rangeRequest(30, 8), 8)
      expect(fromB.map((c) => c.ssz)).toEqual(blocks(chain, 30, 8))
      expect(upstreamRequests()).toBe(2)
      expect(await metricValue(b, 'contower_fleet_invalid_data_total', { source: 'cache' })).toBe(1)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'applies a ban decided by A on B within a second, and disconnects the peer there',
    async () => {
      const { network, chain, a, b } = await fleetOfTwo()
      const offender = await track(startPeer(network, chain, { serveBlocks: false }))
      await offender.libp2p.dial(b.listenAddresses[0])
      const id = offender.peerId.toString()
      await expect.poll(() => b.libp2p.getPeers().some((p) => p.equals(offender.peerId))).toBe(true)

      // A finds the peer provably broken: its own handshake service bans it, and the fleet hears of it.
      a.scores.apply(id, PeerAction.Fatal, 'invalid_response')
      expect(a.bans.isBanned(id)).toBe(true)
      await expect.poll(() => b.bans.isBanned(id), { timeout: 1_000 }).toBe(true)
      await expect.poll(() => b.libp2p.getPeers().some((p) => p.equals(offender.peerId))).toBe(false)
      expect(b.scores.score(id)).toBeLessThanOrEqual(-50)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'loses no request when Redis dies, and shares again once it is back',
    async () => {
      const { a, b, requester, chain, upstreamRequests } = await fleetOfTwo()
      await redis.kill()
      await expect.poll(() => a.health().fleet, { timeout: 10_000 }).toBe('degraded')

      for (const [node, start] of [
        [a, 40],
        [b, 40],
        [b, 60],
      ] as const) {
        const got = await requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(start, 10), 10)
        expect(got.map((c) => c.ssz)).toEqual(blocks(chain, start, 10))
      }
      expect(upstreamRequests()).toBe(3) // each instance fetched on its own, none failed

      await redis.restart()
      for (const node of [a, b]) await expect.poll(() => node.health().fleet, { timeout: 20_000 }).toBe('ok')
      await requester.fetch(a.libp2p.peerId, BY_RANGE, rangeRequest(70, 10), 10)
      await expect
        .poll(() => metricValue(a, 'contower_fleet_cache_writes_total', { result: 'stored' }), { timeout: 10_000 })
        .toBe(1)
      await requester.fetch(b.libp2p.peerId, BY_RANGE, rangeRequest(70, 10), 10)
      expect(upstreamRequests()).toBe(4)
      expect(await metricValue(b, 'contower_relay_requests_total', { result: 'fleet_hit' })).toBe(1)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'a frozen Redis does not hold a request: the lookup gives up at its budget and the request goes upstream',
    async () => {
      const { network, chain } = testChain()
      const upstream = await track(startPeer(network, chain))
      const node = await track(startRelay(network, [upstream], { 'fleet-redis': redis.url })) // the default budget
      await waitHandshaken(node, [upstream])
      await expect.poll(() => node.health().fleet, { timeout: 10_000 }).toBe('ok')
      const requester = await track(startPeer(network, chain, { serveBlocks: false }))
      await requester.libp2p.dial(node.listenAddresses[0])
      redis.pause()
      try {
        const got = await requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(20, 10), 10)
        expect(got.map((c) => c.ssz)).toEqual(blocks(chain, 20, 10))
        expect(await metricValue(node, 'contower_fleet_cache_lookups_total', { result: 'timeout' })).toBe(1)
        expect(upstream.servedCount('beacon_blocks_by_range').requests).toBe(1)
      } finally {
        redis.resume()
      }
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'starts without Redis, says so in /health, and joins the fleet when Redis comes up',
    async () => {
      await redis.kill()
      const { network, chain } = testChain()
      const upstream = await track(startPeer(network, chain))
      const node = await track(startRelay(network, [upstream], { 'fleet-redis': redis.url }))
      expect(node.health().fleet).toBe('degraded')
      await waitHandshaken(node, [upstream])
      await redis.restart()
      await expect.poll(() => node.health().fleet, { timeout: 30_000 }).toBe('ok')
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'runs a devnet of two Contowers sharing one Redis: each syncs its peer, and history fetched by one is a fleet hit on the other',
    async () => {
      const devnet = await track(
        (async () => {
          const d = new Devnet(
            {
              logger,
              startRelay: (network, bootnode, overrides) =>
                startTestNode(
                  { discovery: 'true', 'discovery-port': '0', bootnodes: bootnode, 'fleet-redis': redis.url },
                  network,
                  { ...overrides, ...LOADED_MACHINE },
                ),
            },
            {
              ...DEVNET_DEFAULTS,
              relays: 2,
              servingPeers: 2,
              syncingPeers: 2,
              slotSeconds: 1,
              historySlots: 200,
              blockBytes: 20_000,
            },
          )
          await d.start()
          return d
        })(),
      )
      expect(devnet.relays).toHaveLength(2)
      for (const [i, peer] of devnet.syncing.entries()) {
        expect(peer.libp2p.getPeers().map(String)).toEqual([devnet.relays[i].libp2p.peerId.toString()])
        await expect
          .poll(() => peer.progress.headSlot, { timeout: 30_000 })
          .toBeGreaterThanOrEqual(devnet.currentSlot - 2)
        expect(peer.progress.invalidBlocks).toBe(0)
      }
      const summary = await devnet.summary()
      expect(summary.fleetHits).toBeGreaterThan(0)
      expect(formatSummary(summary)).toContain(`fleet hits ${summary.fleetHits}`)
    },
    TEST_TIMEOUT_MS,
  )
})
