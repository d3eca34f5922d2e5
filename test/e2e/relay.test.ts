import { describe, expect, it } from 'vitest'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import type { WireBytes } from '../../src/wire/chunks.js'
import { rangeRequest, startPeer, startRelay, stopAfterEach, testChain, waitHandshaken } from '../helpers/devnet.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const BY_ROOT = getProtocol('beacon_blocks_by_root', 2)
const COLUMNS_BY_RANGE = getProtocol('data_column_sidecars_by_range', 1)
const COLUMNS_BY_ROOT = getProtocol('data_column_sidecars_by_root', 1)

const track = stopAfterEach()

const range = rangeRequest
const concat = (parts: WireBytes[]) => Buffer.concat(parts.map((p) => p.subarray()))
// A chunk's bytes arrive as a Buffer or a plain Uint8Array depending on how the stream split them.
const bytesOf = (c: { raw: WireBytes }) => Buffer.from(c.raw.subarray())

describe('relay', () => {
  it('forwards BlocksByRange byte-for-byte and answers a repeat from the cache', async () => {
    const { network, chain } = testChain()
    const upstreams = [await track(startPeer(network, chain)), await track(startPeer(network, chain))]
    const node = await track(startRelay(network, upstreams))
    await waitHandshaken(node, upstreams)
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    await requester.libp2p.dial(upstreams[0].multiaddr)

    const direct = await requester.fetch(upstreams[0].peerId, BY_RANGE, range(10, 20), 20)
    const relayed = await requester.fetch(node.libp2p.peerId, BY_RANGE, range(10, 20), 20)
    expect(relayed).toHaveLength(20)
    expect(concat(relayed.map((c) => c.raw))).toEqual(concat(direct.map((c) => c.raw)))
    const servedBefore = upstreams.map((u) => u.servedCount('beacon_blocks_by_range').requests)

    const again = await requester.fetch(node.libp2p.peerId, BY_RANGE, range(10, 20), 20)
    expect(concat(again.map((c) => c.raw))).toEqual(concat(direct.map((c) => c.raw)))
    expect(upstreams.map((u) => u.servedCount('beacon_blocks_by_range').requests)).toEqual(servedBefore)

    // Blocks from the range response also answer by root, without an upstream call.
    const roots = [chain.blockAt(12)!.root, chain.blockAt(15)!.root]
    const byRoot = await requester.fetch(node.libp2p.peerId, BY_ROOT, BY_ROOT.request!.serialize(roots), 2)
    expect(byRoot.map(bytesOf)).toEqual([bytesOf(relayed[2]), bytesOf(relayed[5])])
    expect(upstreams.map((u) => u.servedCount('beacon_blocks_by_root').requests)).toEqual([0, 0])

    // Every block is filed under the root hashed from its bytes, the range's last one included.
    const last = [chain.blockAt(29)!.root]
    const lastByRoot = await requester.fetch(node.libp2p.peerId, BY_ROOT, BY_ROOT.request!.serialize(last), 1)
    expect(lastByRoot.map(bytesOf)).toEqual([bytesOf(relayed[19])])
    expect(upstreams.map((u) => u.servedCount('beacon_blocks_by_root').requests)).toEqual([0, 0])
  })

  it('forwards data column sidecars by range and by root, checked and byte-for-byte', async () => {
    const { network } = testChain(40)
    const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1 })
    // A supernode: it custodies (and serves) every column.
    const upstream = await track(startPeer(network, chain, { custodyGroupCount: 128 }))
    const node = await track(startRelay(network, [upstream]))
    await waitHandshaken(node, [upstream])
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0])
    await requester.libp2p.dial(upstream.multiaddr)

    // Columns out of order and repeated: Contower asks upstream for the canonical (sorted, deduplicated) list.
    const request = COLUMNS_BY_RANGE.request!.serialize({ startSlot: 20, count: 4, columns: [7, 3, 7] })
    const canonical = COLUMNS_BY_RANGE.request!.serialize({ startSlot: 20, count: 4, columns: [3, 7] })
    const direct = await requester.fetch(upstream.peerId, COLUMNS_BY_RANGE, canonical, 8)
    const relayed = await requester.fetch(node.libp2p.peerId, COLUMNS_BY_RANGE, request, 8)
    expect(relayed).toHaveLength(8)
    expect(concat(relayed.map((c) => c.raw))).toEqual(concat(direct.map((c) => c.raw)))

    const ids = [{ blockRoot: chain.blockAt(25)!.root, columns: [0, 127] }]
    const byRootDirect = await requester.fetch(
      upstream.peerId,
      COLUMNS_BY_ROOT,
      COLUMNS_BY_ROOT.request!.serialize(ids),
      2,
    )
    const byRoot = await requester.fetch(
      node.libp2p.peerId,
      COLUMNS_BY_ROOT,
      COLUMNS_BY_ROOT.request!.serialize(ids),
      2,
    )
    expect(byRoot).toHaveLength(2)
    expect(concat(byRoot.map((c) => c.raw))).toEqual(concat(byRootDirect.map((c) => c.raw)))
  })

  it('answers identical requests in flight with one upstream call', async () => {
    const { network, chain } = testChain()
    const upstreams = [await track(startPeer(network, chain)), await track(startPeer(network, chain))]
    const node = await track(startRelay(network, upstreams))
    await waitHandshaken(node, upstreams)
    const requesters = [
      await track(startPeer(network, chain, { serveBlocks: false })),
      await track(startPeer(network, chain, { serveBlocks: false })),
    ]
    for (const r of requesters) await r.libp2p.dial(node.listenAddresses[0])

    const answers = await Promise.all(
      [...requesters, ...requesters].map((r) => r.fetch(node.libp2p.peerId, BY_RANGE, range(30, 40), 40)),
    )
    for (const a of answers) expect(concat(a.map((c) => c.raw))).toEqual(concat(answers[0].map((c) => c.raw)))
    expect(answers[0]).toHaveLength(40)
    // One upstream call (for the range and the block after it, which proves the range's last block).
    expect(upstreams.reduce((n, u) => n + u.servedCount('beacon_blocks_by_range').requests, 0)).toBe(1)
    const coalesced = await node.registry!.getSingleMetric('contower_relay_requests_total')!.get()
    expect(coalesced.values.find((v) => v.labels.result === 'coalesced')?.value).toBe(3)
  })
})
