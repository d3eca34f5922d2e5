// Upstreams that limit requests their own way, as the clients they stand for do, on hosts Contower did not build:
// plain libp2p with the client's agent string and its limiter written here from the client's source. Contower must
// stay within each one's limits (Prysm bans after five refusals, Teku disconnects at once) and still serve everyone,
// also what no single one of them would serve at once.
import type { Libp2p } from '@libp2p/interface'
import { EPOCHS_PER_SYNC_COMMITTEE_PERIOD } from '@lodestar/params'
import { describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import type { ContowerNode } from '../../src/node.js'
import { getProtocol, protocolId } from '../../src/reqresp/protocols.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeErrorChunk, encodeResponseChunk, readRequest } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { relevantStatus, serveBeaconProtocols } from '../helpers/beaconPeer.js'
import {
  clientFor,
  connectUpstreams,
  metricValue,
  outcomeOf,
  rangeRequest,
  startPeer,
  startRelay,
  stopAfterEach,
  testChain,
  waitHandshaken,
} from '../helpers/devnet.js'
import { updatesOfPeriods } from '../helpers/lightClient.js'
import { createTestPeer } from '../helpers/peers.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const BY_ROOT = getProtocol('beacon_blocks_by_root', 2)
const UPDATES = getProtocol('light_client_updates_by_range', 1)
const track = stopAfterEach()
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/**
 * A Prysm node's block limit (beacon-chain/sync/rate_limiter.go): a leaky bucket of 128 blocks per peer that drains
 * 64 every 30 s, shared by blocks by range and by root; a request that does not fit is answered InvalidRequest
 * "rate limited" and counted against the peer (five of them and Prysm bans it).
 */
async function startPrysmLike(node: ContowerNode, chain: SyntheticChain, schedule: ForkSchedule) {
  const host = (await createTestPeer({ agentVersion: 'Prysm/v7.1.6/c40b59a4' })) as Libp2p
  await host.start()
  await serveBeaconProtocols(host, () => relevantStatus(node))
  const seen = { servedBlocks: 0, refused: 0 }
  let level = 0
  let drainedAt = Date.now()
  await host.handle(protocolId(BY_RANGE.name, BY_RANGE.version), async (stream) => {
    const { startSlot, count } = BY_RANGE.request!.deserialize(
      await readRequest(new ByteReader(stream), BY_RANGE.request!),
    ) as { startSlot: number; count: number }
    const now = Date.now()
    level = Math.max(0, level - ((now - drainedAt) * 64) / 30_000)
    drainedAt = now
    if (level + count > 128) {
      seen.refused++
      stream.send(encodeErrorChunk(RespCode.InvalidRequest, 'rate limited'))
      await stream.close()
      return
    }
    level += count
    const head = Math.max(0, node.clock.currentSlot - 1)
    for (const block of chain.blocksInRange(startSlot, count, head)) {
      const digest = schedule.digestAtEpoch(Math.floor(block.slot / schedule.config.slotsPerEpoch))
      stream.send(encodeResponseChunk(RespCode.Success, block.ssz, digest))
      seen.servedBlocks++
    }
    await stream.close()
  })
  return { host, seen, stop: () => host.stop() }
}

/**
 * A Lighthouse node's light-client server (lighthouse_network rpc/config.rs, rate_limiter.rs): one update per 10 s
 * per peer, a request counted by the updates it asks; one that can never fit (two or more) or comes too soon is
 * answered with Lighthouse's RateLimited code, 139. Serves `updateOf(period)`, the update of each period asked.
 */
async function startLighthouseLike(
  node: ContowerNode,
  schedule: ForkSchedule,
  updateOf: (period: number) => { bytes: Uint8Array; attestedSlot: number },
) {
  const host = (await createTestPeer({ agentVersion: 'Lighthouse/v8.0.1-ced49dd/x86_64-linux' })) as Libp2p
  await host.start()
  await serveBeaconProtocols(host, () => relevantStatus(node))
  const seen = { served: 0, refused: 0 }
  let lastServedMs = -Infinity
  await host.handle(protocolId(UPDATES.name, UPDATES.version), async (stream) => {
    const { startPeriod, count } = UPDATES.request!.deserialize(
      await readRequest(new ByteReader(stream), UPDATES.request!),
    ) as { startPeriod: number; count: number }
    if (count > 1 || Date.now() - lastServedMs < 10_000) {
      seen.refused++
      stream.send(encodeErrorChunk(139, count > 1 ? 'Rate limited. Request too large' : 'Wait 10s'))
      await stream.close()
      return
    }
    lastServedMs = Date.now()
    const { bytes, attestedSlot } = updateOf(startPeriod)
    stream.send(
      encodeResponseChunk(
        RespCode.Success,
        bytes,
        schedule.digestAtEpoch(Math.floor(attestedSlot / schedule.config.slotsPerEpoch)),
      ),
    )
    seen.served++
    await stream.close()
  })
  return { host, seen, stop: () => host.stop() }
}

/**
 * A Teku node's request limit (networking/eth2 PeerRequestLimiter, RateTrackerImpl): 100 requests a minute from one
 * peer, of any protocol (Status, Ping and MetaData included), and 500 blocks; over either, Teku says Goodbye with
 * reason 130 and refuses the peer's connections for two minutes. Serves blocks by root from `chain`.
 */
async function startTekuLike(node: ContowerNode, chain: SyntheticChain, schedule: ForkSchedule) {
  const host = (await createTestPeer({
    agentVersion: 'teku/v25.11.1/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21',
  })) as Libp2p
  await host.start()
  const beacon = await serveBeaconProtocols(host, () => relevantStatus(node))
  const seen = { dataRequests: [] as number[], blocks: [] as number[], overLimit: 0 }
  /** Requests and blocks of the last minute; the handshake's are counted whenever they came (the test is shorter). */
  const lastMinute = (times: number[]) => times.filter((t) => t > Date.now() - 60_000).length
  const requestsInMinute = () =>
    lastMinute(seen.dataRequests) + beacon.statuses.length + beacon.pings.length + beacon.metadataRequests
  await host.handle(protocolId(BY_ROOT.name, BY_ROOT.version), async (stream) => {
    const roots = BY_ROOT.request!.deserialize(
      await readRequest(new ByteReader(stream), BY_ROOT.request!),
    ) as Uint8Array[]
    seen.dataRequests.push(Date.now())
    if (requestsInMinute() > 100 || lastMinute(seen.blocks) + roots.length > 500) {
      seen.overLimit++ // Teku: Goodbye 130, then the connection is closed and refused for two minutes
      stream.abort(new Error('rate limited'))
      await host.hangUp(node.libp2p.peerId)
      return
    }
    for (const root of roots) {
      const block = chain.blockByRoot(root)
      if (!block) continue
      seen.blocks.push(Date.now())
      const digest = schedule.digestAtEpoch(Math.floor(block.slot / schedule.config.slotsPerEpoch))
      stream.send(encodeResponseChunk(RespCode.Success, block.ssz, digest))
    }
    await stream.close()
  })
  return { host, seen, requestsInMinute, stop: () => host.stop() }
}

describe('relay: upstreams held to their own clients’ limits', () => {
  it('a Prysm upstream is asked only within its block quota; with another upstream, every request is served', async () => {
    const { network, chain } = testChain(90, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    // The requester may ask far more than one Lodestar peer allows: the limits under test are the upstreams'.
    const node = await track(startRelay(network, [], { 'rate-limits': 'beacon_blocks_by_range:4096/10' }))
    const prysm = await track(startPrysmLike(node, chain, schedule))
    await node.libp2p.dial(prysm.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [prysm.host], 15_000)
    await expect.poll(() => node.peerStore.get(prysm.host.peerId)?.client, { timeout: 15_000 }).toBe('prysm')
    await requester.libp2p.dial(node.listenAddresses[0]!)
    const client = clientFor(requester)
    const ask = (startSlot: number) => outcomeOf(client, node.libp2p.peerId, BY_RANGE, rangeRequest(startSlot, 16), 16)
    const expected = (startSlot: number) => chain.blocksInRange(startSlot, 16, 200).map((b) => hex(b.ssz))

    // Prysm the only upstream: 12 ranges of 16 blocks back to back, 204 blocks with the slot after each. Its burst
    // (128) takes the first seven; at Lodestar's pace (128 per 10 s) the eighth would follow within 2 s, over
    // Prysm's limit. Held to Prysm's (64 per 30 s), a range that cannot go within the queue wait is declined.
    let served = 0
    for (let i = 0; i < 12; i++) {
      const out = await ask(1 + i)
      if (out.error === null) {
        expect(out.chunks.map((c) => hex(c.ssz!))).toEqual(expected(1 + i))
        served++
      } else {
        expect(out.error.detail).toMatchObject({ respCode: RespCode.RateLimited })
      }
    }
    expect(served).toBeGreaterThanOrEqual(7)
    expect(prysm.seen.servedBlocks).toBeGreaterThanOrEqual(7 * 16) // all from Prysm: it was asked, up to its burst
    expect(prysm.seen.refused).toBe(0)

    // With a Lodestar-like upstream beside it, every range is served, and Prysm is still never over-asked.
    const lodestarLike = await track(startPeer(network, chain)) // enforces Lodestar's quotas
    await node.libp2p.dial(lodestarLike.multiaddr)
    await waitHandshaken(node, [lodestarLike], 15_000)
    for (let i = 0; i < 12; i++) {
      const out = await ask(20 + i)
      expect(out.error).toBeNull()
      expect(out.chunks.map((c) => hex(c.ssz!))).toEqual(expected(20 + i))
    }
    expect(prysm.seen.refused).toBe(0)
    expect(node.peerStore.get(prysm.host.peerId)?.handshaken).toBe(true) // still an upstream
  })
  it('light-client updates of several periods from Lighthouse peers, which serve one at a time: asked one period each', async () => {
    const slotsPerPeriod = EPOCHS_PER_SYNC_COMMITTEE_PERIOD * 32 // the devnet's mainnet preset
    const { network } = testChain(2 * slotsPerPeriod + 64) // the clock in period 2: periods 0-2 can be had
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const updates = updatesOfPeriods([0, 1, 2], slotsPerPeriod)
    const node = await track(startRelay(network, []))
    const lighthouses = [
      await track(startLighthouseLike(node, schedule, (p) => updates[p]!)),
      await track(startLighthouseLike(node, schedule, (p) => updates[p]!)),
    ]
    await connectUpstreams(
      node,
      lighthouses.map((lh) => lh.host),
      'lighthouse',
    )
    const requester = await track(startPeer(network, testChain().chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0]!)
    const ask = () =>
      outcomeOf(
        clientFor(requester),
        node.libp2p.peerId,
        UPDATES,
        UPDATES.request!.serialize({ startPeriod: 0, count: 5 }),
        5,
      )
    const payloads = (chunks: Array<{ ssz?: Uint8Array }>) => chunks.map((c) => hex(c.ssz!))

    // Two Lighthouse peers, three periods up to the clock: one period from each, and the answer ends after those two
    // (consecutive periods from the first: a whole answer, which the spec lets a server give).
    const first = await ask()
    expect(first.error).toBeNull()
    expect(payloads(first.chunks)).toEqual(updates.slice(0, 2).map((u) => hex(u.bytes)))
    expect(lighthouses.map((lh) => lh.seen)).toEqual([
      { served: 1, refused: 0 },
      { served: 1, refused: 0 },
    ])

    // A third Lighthouse peer: the same request now has all three periods, the first two from the cache.
    const third = await track(startLighthouseLike(node, schedule, (p) => updates[p]!))
    await node.libp2p.dial(third.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [third.host], 15_000)
    await expect.poll(() => node.peerStore.get(third.host.peerId)?.client, { timeout: 15_000 }).toBe('lighthouse')
    const second = await ask()
    expect(second.error).toBeNull()
    expect(payloads(second.chunks)).toEqual(updates.map((u) => hex(u.bytes)))
    expect([...lighthouses, third].map((lh) => lh.seen)).toEqual([
      { served: 1, refused: 0 },
      { served: 1, refused: 0 },
      { served: 1, refused: 0 },
    ])
    const split = (outcome: string) =>
      metricValue(node, 'contower_relay_split_requests_total', { protocol: 'light_client_updates_by_range/1', outcome })
    expect(await split('shortened')).toBe(1)
    expect(await split('whole')).toBe(1)
  })
  it('a Teku upstream is sent fewer than the 100 requests a minute it allows, however many small requests come in', async () => {
    const { network, chain } = testChain(150, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const node = await track(startRelay(network, []))
    const teku = await track(startTekuLike(node, chain, schedule))
    await node.libp2p.dial(teku.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [teku.host], 15_000)
    await expect.poll(() => node.peerStore.get(teku.host.peerId)?.client, { timeout: 15_000 }).toBe('teku')
    // Five requesters, two requests open each: 110 blocks asked one root at a time, a request Teku counts per block.
    const requesters = await Promise.all(
      [0, 1, 2, 3, 4].map(() => track(startPeer(network, chain, { serveBlocks: false }))),
    )
    for (const r of requesters) await r.libp2p.dial(node.listenAddresses[0]!)
    const slots = Array.from({ length: 110 }, (_, i) => i + 1)
    let served = 0
    let declined = 0
    const lanes = requesters
      .flatMap((r) => [r, r])
      .map(async (requester, lane) => {
        for (let i = lane; i < slots.length; i += 10) {
          const block = chain.blockAt(slots[i]!)!
          const out = await outcomeOf(
            clientFor(requester),
            node.libp2p.peerId,
            BY_ROOT,
            BY_ROOT.request!.serialize([block.root]),
            1,
          )
          if (out.error === null) {
            expect(out.chunks.map((c) => hex(c.ssz!))).toEqual([hex(block.ssz)])
            served++
          } else {
            expect(out.error.detail).toMatchObject({ respCode: RespCode.RateLimited })
            declined++
          }
        }
      })
    await Promise.all(lanes)
    expect(served + declined).toBe(110)
    // Teku's burst of Contower's table (30) at least, then 0.8 a second; never over Teku's limit.
    expect(served).toBeGreaterThanOrEqual(30)
    expect(teku.seen.overLimit).toBe(0)
    expect(teku.requestsInMinute()).toBeLessThanOrEqual(100)
    expect(node.peerStore.get(teku.host.peerId)?.handshaken).toBe(true) // still an upstream
  })
})
