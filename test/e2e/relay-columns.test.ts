import { describe, expect, it } from 'vitest'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { RespCode } from '../../src/wire/constants.js'
import { startColumnPeer } from '../helpers/columnPeer.js'
import {
  clientFor,
  metricValue,
  outcomeOf,
  startPeer,
  startRelay,
  stopAfterEach,
  testChain,
} from '../helpers/devnet.js'

const BY_RANGE = getProtocol('data_column_sidecars_by_range', 1)
const BY_ROOT = getProtocol('data_column_sidecars_by_root', 1)

const track = stopAfterEach()
const hex = (b: Uint8Array | null | undefined) => Buffer.from(b!).toString('hex')

/** Columns only `custodies[i]` holds, up to `take[i]` of each: every upstream must be asked for its own. */
function exclusiveColumns(custodies: ReadonlySet<number>[], take: number[]): number[] {
  const out: number[] = []
  custodies.forEach((custody, i) => {
    const own = [...custody].filter((c) => custodies.every((other, j) => j === i || !other.has(c)))
    expect(own.length, `upstream ${i} custodies a column no other does`).toBeGreaterThan(0)
    out.push(...own.slice(0, take[i]))
  })
  return out.sort((a, b) => a - b)
}

describe('relay of data columns by custody', () => {
  it('splits a request over the custodians of its columns and merges the answers in (slot, column) order', async () => {
    const { network } = testChain(40)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1 })
    const sims = [
      await track(startPeer(network, chain, { custodyGroupCount: 4 })),
      await track(startPeer(network, chain, { custodyGroupCount: 8 })),
      await track(startPeer(network, chain, { custodyGroupCount: 16 })),
    ]
    // The fourth is no simulated peer: plain createLibp2p, its own muxer order, serving only its custody.
    const plain = await track(startColumnPeer(network, chain, 8))
    const addrs = [...sims.map((s) => s.multiaddr), plain.host.getMultiaddrs()[0]].map(String)
    const node = await track(startRelay(network, sims, { 'static-peers': addrs.join(',') }))
    const ids = [...sims.map((s) => s.peerId), plain.host.peerId]
    for (const id of ids) {
      await expect.poll(() => node.peerStore.get(id)?.custody?.source, { timeout: 15_000 }).toBe('metadata')
    }
    // What Contower computed from each peer's node id and MetaData cgc is what each one serves.
    expect(ids.map((id) => [...node.peerStore.get(id)!.custody!.columns])).toEqual(
      [...sims.map((s) => s.custody), plain.custody].map((c) => [...c].sort((a, b) => a - b)),
    )

    const custodies = [...sims.map((s) => s.custody), plain.custody]
    const columns = exclusiveColumns(custodies, [1, 1, 2, 2])
    expect(columns).toHaveLength(6)
    for (const custody of custodies) expect(columns.every((c) => custody.has(c))).toBe(false)

    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    const request = BY_RANGE.request!.serialize({ startSlot: 8, count: 16, columns })
    const relayed = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, 16 * 6)
    const expected: string[] = []
    for (let slot = 8; slot < 24; slot++) {
      for (const c of columns) {
        const sidecar = chain.dataColumnSidecar(slot, c)
        if (sidecar) expected.push(hex(sidecar))
      }
    }
    expect(expected.length).toBeGreaterThanOrEqual(16 * 6 - 6 * 2) // blobs in (nearly) every slot
    expect(relayed.map((c) => hex(c.ssz))).toEqual(expected)

    // Cached per column: a request overlapping this one's columns takes the overlap from the cache and asks
    // upstream only for the column it adds.
    const asked = () => new Set([...sims.flatMap((s) => [...s.stats.columnsAsked]), ...plain.asked])
    const askedBefore = asked()
    const extra = custodies.flatMap((c) => [...c]).find((c) => !columns.includes(c))!
    const overlapping = [...columns.slice(0, 4), extra].sort((a, b) => a - b)
    const again = await requester.fetch(
      node.libp2p.peerId,
      BY_RANGE,
      BY_RANGE.request!.serialize({ startSlot: 8, count: 16, columns: overlapping }),
      16 * 5,
    )
    const expectedAgain: string[] = []
    for (let slot = 8; slot < 24; slot++) {
      for (const c of overlapping) {
        const sidecar = chain.dataColumnSidecar(slot, c)
        if (sidecar) expectedAgain.push(hex(sidecar))
      }
    }
    expect(again.map((c) => hex(c.ssz))).toEqual(expectedAgain)
    expect([...asked()].filter((c) => !askedBefore.has(c))).toEqual([extra])
    expect(
      await metricValue(node, 'contower_relay_response_chunks_total', {
        protocol: 'data_column_sidecars_by_range/1',
        source: 'cache',
      }),
    ).toBe(expectedAgain.length - 16)

    // By root: two blocks, different columns each; the answer too comes back complete and in (slot, column) order.
    const [b1, b2] = [chain.headAt(30), chain.headAt(33)]
    const byRootIds = [
      { blockRoot: b2.root, columns: columns.slice(0, 3) },
      { blockRoot: b1.root, columns },
    ]
    const byRoot = await requester.fetch(node.libp2p.peerId, BY_ROOT, BY_ROOT.request!.serialize(byRootIds), 9)
    const expectedByRoot = [
      ...columns.map((c) => chain.dataColumnSidecar(b1.slot, c)),
      ...columns.slice(0, 3).map((c) => chain.dataColumnSidecar(b2.slot, c)),
    ].map(hex)
    expect(byRoot.map((c) => hex(c.ssz))).toEqual(expectedByRoot)

    // Every upstream was asked, and none for a column it does not custody.
    for (const sim of sims) {
      expect(sim.stats.columnsAsked.size).toBeGreaterThan(0)
      for (const c of sim.stats.columnsAsked) expect(sim.custody.has(c)).toBe(true)
    }
    expect(plain.asked.size).toBeGreaterThan(0)
    for (const c of plain.asked) expect(plain.custody.has(c)).toBe(true)
    expect(await metricValue(node, 'contower_relay_columns_delivered_total')).toBe(expected.length + 16 + 9)
    expect(await metricValue(node, 'contower_relay_columns_unavailable_total')).toBe(0)
  })

  it('takes by-root sidecars from the cache per (block, column), also those a by-range answer brought', async () => {
    // 60 slots of history: the blocks asked (slots 30 and 33) are finalized, so their cache entries live an hour.
    const { network } = testChain(60)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1 })
    const sims = [
      await track(startPeer(network, chain, { custodyGroupCount: 8 })),
      await track(startPeer(network, chain, { custodyGroupCount: 16 })),
    ]
    const node = await track(startRelay(network, sims))
    for (const s of sims) {
      await expect.poll(() => node.peerStore.get(s.peerId)?.custody?.source, { timeout: 15_000 }).toBe('metadata')
    }
    const custodied = [...new Set(sims.flatMap((s) => [...s.custody]))].sort((x, y) => x - y)
    const [a, b, c, d] = custodied
    const blocks = [chain.headAt(30), chain.headAt(33)]
    for (const block of blocks) expect(chain.dataColumnSidecar(block.slot, a)).not.toBeNull()
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    // What each upstream was asked since `before` (counted per upstream: a flat list would mix old and new).
    const askedSince = (before: number[]) => sims.flatMap((s, i) => s.stats.columnIdsAsked.slice(before[i]))
    const byRoot = async (columns: number[]) => {
      // Asked newest block first: the answer still comes in (slot, column) order.
      const ids = [...blocks].reverse().map((block) => ({ blockRoot: block.root, columns }))
      const before = sims.map((s) => s.stats.columnIdsAsked.length)
      const got = await requester.fetch(
        node.libp2p.peerId,
        BY_ROOT,
        BY_ROOT.request!.serialize(ids),
        2 * columns.length,
      )
      const expected = blocks.flatMap((block) => columns.map((col) => hex(chain.dataColumnSidecar(block.slot, col))))
      expect(got.map((chunk) => hex(chunk.ssz))).toEqual(expected)
      return askedSince(before).sort()
    }
    const idsOf = (columns: number[]) =>
      blocks.flatMap((block) => columns.map((col) => `${hex(block.root)}/${col}`)).sort()

    expect(await byRoot([a, b])).toEqual(idsOf([a, b]))
    // b of both blocks is cached: only c is asked upstream.
    expect(await byRoot([b, c])).toEqual(idsOf([c]))
    // d of both blocks arrives through a by-range answer; a by-root request for it then asks nobody.
    await requester.fetch(
      node.libp2p.peerId,
      BY_RANGE,
      BY_RANGE.request!.serialize({ startSlot: 28, count: 8, columns: [d] }),
      8,
    )
    expect(await byRoot([a, d])).toEqual([])
    expect(
      await metricValue(node, 'contower_relay_response_chunks_total', {
        protocol: 'data_column_sidecars_by_root/1',
        source: 'cache',
      }),
    ).toBe(2 + 4)
    for (const sim of sims) for (const col of sim.stats.columnsAsked) expect(sim.custody.has(col)).toBe(true)
  })

  it('a request that waited out the time a custodian needs is answered busy (139), not with its columns left out', async () => {
    const { network } = testChain(40)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1 })
    const supernode = await track(startPeer(network, chain, { custodyGroupCount: 128 }))
    // 8 sidecars a second: the second request of 8 waits a second of a 2 s first-chunk deadline, leaving the
    // custodian less than its 1.5 s TTFB.
    const node = await track(
      startRelay(
        network,
        [supernode],
        { 'rate-limits': 'data_column_sidecars_by_range:8/1' },
        { relay: { firstChunkDeadlineMs: 2_000 } },
      ),
    )
    await expect.poll(() => node.peerStore.get(supernode.peerId)?.custody?.source, { timeout: 15_000 }).toBe('metadata')
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    const ask = (startSlot: number) =>
      requester.fetch(
        node.libp2p.peerId,
        BY_RANGE,
        BY_RANGE.request!.serialize({ startSlot, count: 2, columns: [0, 1, 2, 3] }),
        8,
      )
    expect((await ask(10)).length).toBeGreaterThan(0)
    const askedBefore = supernode.servedCount('data_column_sidecars_by_range').requests
    await expect(ask(20)).rejects.toMatchObject({ detail: { respCode: RespCode.RateLimited } })
    expect(supernode.servedCount('data_column_sidecars_by_range').requests).toBe(askedBefore)
  })

  it('moves a failing part to another custodian and leaves out columns nobody else custodies', async () => {
    const { network } = testChain(40)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1 })
    const supernode = await track(startPeer(network, chain, { custodyGroupCount: 128 }))
    const small = await track(startPeer(network, chain, { custodyGroupCount: 4 }))
    const node = await track(startRelay(network, [supernode, small]))
    for (const p of [supernode, small]) {
      await expect.poll(() => node.peerStore.get(p.peerId)?.custody?.source, { timeout: 15_000 }).toBe('metadata')
    }
    supernode.misbehaviour = 'error'
    const kept = [...small.custody].sort((a, b) => a - b)
    const lost = [0, 1, 2, 3, 4, 5].find((c) => !small.custody.has(c))!
    const columns = [...kept, lost].sort((a, b) => a - b)

    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    const request = BY_RANGE.request!.serialize({ startSlot: 10, count: 4, columns })
    const relayed = await requester.fetch(node.libp2p.peerId, BY_RANGE, request, 4 * columns.length)
    const expected: string[] = []
    for (let slot = 10; slot < 14; slot++) {
      for (const c of kept) {
        const sidecar = chain.dataColumnSidecar(slot, c)
        if (sidecar) expected.push(hex(sidecar))
      }
    }
    expect(relayed.map((c) => hex(c.ssz))).toEqual(expected)
    // The supernode was tried first (it covers everything), failed, and the rest went to the small custodian only.
    expect([...supernode.stats.columnsAsked].sort((a, b) => a - b)).toEqual(columns)
    for (const c of small.stats.columnsAsked) expect(small.custody.has(c)).toBe(true)
    expect(await metricValue(node, 'contower_relay_columns_unavailable_total')).toBe(1)
    expect(await metricValue(node, 'contower_relay_upstream_errors_total')).toBeGreaterThan(0)
  })
})

describe('a custodian falling silent mid-response', () => {
  it('is given up after upstreamChunkMs, and another custodian of the columns goes on within the requester’s patience', async () => {
    const { network } = testChain(40)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1 })
    const supernode = await track(startPeer(network, chain, { custodyGroupCount: 128 }))
    const small = await track(startPeer(network, chain, { custodyGroupCount: 4 }))
    const node = await track(startRelay(network, [supernode, small], {}, { relay: { upstreamChunkMs: 500 } }))
    for (const p of [supernode, small]) {
      await expect.poll(() => node.peerStore.get(p.peerId)?.custody?.source, { timeout: 15_000 }).toBe('metadata')
    }
    // Only the supernode custodies all the columns asked, so it is asked for all; it hangs after 3 sidecars. The rest
    // is re-planned: the small custodian's columns from it, the one only the supernode has left out from there on.
    supernode.misbehaviour = 'hang'
    supernode.faultAtChunk = 2
    const lost = [0, 1, 2, 3, 4, 5].find((c) => !small.custody.has(c))!
    const columns = [...small.custody, lost].sort((a, b) => a - b)

    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    const request = BY_RANGE.request!.serialize({ startSlot: 10, count: 4, columns })
    // A requester that waits 3 s for each chunk: one Contower made wait for the client's 10 s would give up.
    const client = clientFor(requester, { respTimeoutMs: 3_000 })
    const out = await outcomeOf(client, node.libp2p.peerId, BY_RANGE, request, 4 * columns.length)
    const all: Array<{ column: number; hex: string }> = []
    for (let slot = 10; slot < 14; slot++) {
      for (const c of columns) {
        const sidecar = chain.dataColumnSidecar(slot, c)
        if (sidecar) all.push({ column: c, hex: hex(sidecar) })
      }
    }
    const expected = [...all.slice(0, 3), ...all.slice(3).filter((s) => s.column !== lost)].map((s) => s.hex)
    expect(out.error).toBeNull()
    expect(out.chunks.map((c) => hex(c.ssz))).toEqual(expected)
    expect([...supernode.stats.columnsAsked].sort((a, b) => a - b)).toEqual(columns)
    expect([...small.stats.columnsAsked].sort((a, b) => a - b)).toEqual([...small.custody].sort((a, b) => a - b))
    expect(node.scores.score(supernode.peerId.toString())).toBeLessThan(0)
  })
})

describe('custody Contower advertises', () => {
  it('with --custody-group-count auto follows what the peers cover together, and /ready says how much is covered', async () => {
    const { network, chain } = testChain(40, 2_000)
    const supernode = await track(startPeer(network, chain, { custodyGroupCount: 128 }))
    const small = await track(startPeer(network, chain, { custodyGroupCount: 4 }))
    const node = await track(startRelay(network, [supernode, small], { 'custody-group-count': 'auto' }))
    expect(node.metadata.custodyGroupCount).toBe(4) // nothing known yet: CUSTODY_REQUIREMENT
    for (const p of [supernode, small]) {
      await expect.poll(() => node.peerStore.get(p.peerId)?.custody?.source, { timeout: 15_000 }).toBe('metadata')
    }
    const seq = node.metadata.seqNumber
    node.followCustody()
    expect(node.metadata.custodyGroupCount).toBe(128)
    expect(node.metadata.seqNumber).toBe(seq + 1n) // peers refetch our MetaData
    expect(node.readiness().custody).toEqual({ advertisedColumns: 128, coveredColumns: 128 })

    // The supernode leaves: only the small peer's columns are covered, and auto follows them down.
    await supernode.stop()
    await expect.poll(() => node.peerStore.get(supernode.peerId), { timeout: 10_000 }).toBeUndefined()
    expect(node.readiness().custody).toEqual({ advertisedColumns: 128, coveredColumns: 4 })
    node.followCustody()
    const count = node.metadata.custodyGroupCount
    expect(count).toBeGreaterThanOrEqual(4)
    expect(count).toBeLessThan(128)
    const covered = node.readiness().custody!
    expect(covered.advertisedColumns).toBe(count)
    // Beyond CUSTODY_REQUIREMENT, auto advertises only columns a peer covers.
    if (count > 4) expect(covered.coveredColumns).toBe(count)
  })
})
