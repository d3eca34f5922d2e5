import { describe, expect, it } from 'vitest'
import type { Network } from '../../src/chain/resolveNetwork.js'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { RespCode } from '../../src/wire/constants.js'
import {
  clientFor,
  connectUpstreams,
  metricValue,
  outcomeOf,
  type RequestOutcome,
  startPeer,
  startRelay,
  stopAfterEach,
} from '../helpers/devnet.js'
import { type GloasPeer, startGloasPeer } from '../helpers/gloasPeer.js'

const BLOCKS = getProtocol('beacon_blocks_by_range', 2)
const ENVELOPES_BY_RANGE = getProtocol('execution_payload_envelopes_by_range', 1)
const ENVELOPES_BY_ROOT = getProtocol('execution_payload_envelopes_by_root', 1)

const track = stopAfterEach()
const hex = (b: Uint8Array | null | undefined) => Buffer.from(b!).toString('hex')

/** A devnet 44 slots old whose Gloas fork began at epoch 1 (slot 32), every 7th slot empty. */
function gloasChain() {
  const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - 44 * 2, forkEpochs: { GLOAS: 1 } })
  const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: 1, skipSlotEvery: 7 })
  return { network, chain }
}

/** Contower with `upstreams` as its peers, and a requester connected to it only. */
async function relayFor(network: Network, chain: SyntheticChain, upstreams: GloasPeer[]) {
  const node = await track(startRelay(network, []))
  await connectUpstreams(
    node,
    upstreams.map((u) => u.host),
    'other',
  )
  const requester = await track(startPeer(network, chain, { serveBlocks: false }))
  await requester.libp2p.dial(node.listenAddresses[0]!)
  return { node, client: clientFor(requester) }
}

describe('relay at Gloas, from peers Contower did not build', () => {
  it('relays blocks across the Fulu→Gloas boundary and payload envelopes by range and by root, never cached', async () => {
    const { network, chain } = gloasChain()
    const upstream = await track(startGloasPeer(network, chain))
    const { node, client } = await relayFor(network, chain, [upstream])
    const ask = (def: typeof BLOCKS, request: unknown, max: number) =>
      outcomeOf(client, node.libp2p.peerId, def, def.request!.serialize(request as never), max)

    // Blocks: Fulu until slot 31, Gloas from 32, linked across, each verified before it is forwarded.
    const blocks = await ask(BLOCKS, { startSlot: 26, count: 12, step: 1 }, 12)
    expect(blocks.error).toBeNull()
    expect(blocks.chunks.map((c) => hex(c.ssz))).toEqual(chain.blocksInRange(26, 12, 44).map((b) => hex(b.ssz)))
    expect(chain.blockAt(31)!.fork).toBe('fulu')
    expect(chain.blockAt(32)!.fork).toBe('gloas')

    // Envelopes by range: one per Gloas block of the range (none before Gloas, none on an empty slot).
    const expected = [] as string[]
    for (let slot = 29; slot < 39; slot++) if (chain.envelopeAt(slot)) expected.push(hex(chain.envelopeAt(slot)))
    expect(expected).toHaveLength(6) // 32 … 38 but 35
    const byRange = await ask(ENVELOPES_BY_RANGE, { startSlot: 29, count: 10 }, 10)
    expect(byRange.error).toBeNull()
    expect(byRange.chunks.map((c) => hex(c.ssz))).toEqual(expected)

    // Envelopes by root: those of the roots asked that have one (an unknown root has none).
    const roots = [chain.blockAt(33)!.root, new Uint8Array(32).fill(0xee), chain.blockAt(37)!.root]
    const byRoot = await ask(ENVELOPES_BY_ROOT, roots, 3)
    expect(byRoot.error).toBeNull()
    expect(byRoot.chunks.map((c) => hex(c.ssz))).toEqual([hex(chain.envelopeAt(33)), hex(chain.envelopeAt(37))])

    // Never cached: the same request goes upstream again.
    const before = upstream.received.get(ENVELOPES_BY_ROOT.id)
    const again = await ask(ENVELOPES_BY_ROOT, roots, 3)
    expect(again.chunks.map((c) => hex(c.ssz))).toEqual(byRoot.chunks.map((c) => hex(c.ssz)))
    expect(upstream.received.get(ENVELOPES_BY_ROOT.id)).toBe(before! + 1)
    expect(await metricValue(node, 'contower_relay_requests_total', { result: 'cache_hit' })).toBe(0)
  })

  it('refuses envelopes of other blocks or out of order, charges their sender, and serves the truth once it can', async () => {
    const { network, chain } = gloasChain()
    const wrongBlock = await track(startGloasPeer(network, chain, 'other_block'))
    const { node, client } = await relayFor(network, chain, [wrongBlock])
    const byRoot = (roots: Uint8Array[]) =>
      outcomeOf(client, node.libp2p.peerId, ENVELOPES_BY_ROOT, ENVELOPES_BY_ROOT.request!.serialize(roots), 2)
    const byRange = () =>
      outcomeOf(
        client,
        node.libp2p.peerId,
        ENVELOPES_BY_RANGE,
        ENVELOPES_BY_RANGE.request!.serialize({ startSlot: 32, count: 6 }),
        6,
      )
    const truth = [32, 33, 34, 36, 37].map((slot) => hex(chain.envelopeAt(slot)))
    const roots = [chain.blockAt(33)!.root, chain.blockAt(36)!.root]

    // Each root answered with the next block's envelope: nothing of it reaches the requester.
    const lied = await byRoot(roots)
    expect(lied.chunks).toEqual([])
    expect(lied.error?.detail.respCode).toBe(RespCode.ServerError)
    expect(await metricValue(node, 'contower_relay_upstream_errors_total', { reason: 'root_not_requested' })).toBe(1)
    expect(node.scores.score(wrongBlock.host.peerId.toString())).toBeLessThan(0)

    // A range sent last slot first: what left before the disorder was seen is true, and the answer ends in an error.
    await wrongBlock.stop() // the next liar is the only upstream
    const reversed = await track(startGloasPeer(network, chain, 'reversed'))
    await connectUpstreams(node, [reversed.host], 'other')
    const disordered = await byRange()
    expect(disordered.chunks.map((c) => hex(c.ssz))).toEqual([truth.at(-1)])
    expect(disordered.error?.detail.respCode).toBe(RespCode.ServerError)
    expect(await metricValue(node, 'contower_relay_upstream_errors_total', { reason: 'slot_not_increasing' })).toBe(1)
    expect(node.scores.score(reversed.host.peerId.toString())).toBeLessThan(0)

    // An honest peer joins. The liar, charged once, may still be chosen (a low score orders the choice, it
    // does not exclude): whatever comes is true, and the whole truth comes within a few tries.
    const honest = await track(startGloasPeer(network, chain))
    await connectUpstreams(node, [honest.host], 'other')
    const seen: string[] = []
    const untilWhole = async (ask: () => Promise<RequestOutcome>, whole: string[]) => {
      for (let i = 0; i < 8; i++) {
        const out = await ask()
        seen.push(...out.chunks.map((c) => hex(c.ssz)))
        if (out.error === null && out.chunks.length === whole.length) return out.chunks.map((c) => hex(c.ssz))
      }
      return null
    }
    expect(await untilWhole(() => byRoot(roots), [truth[1]!, truth[3]!])).toEqual([truth[1], truth[3]])
    expect(await untilWhole(byRange, truth)).toEqual(truth)
    expect(seen.filter((h) => !truth.includes(h))).toEqual([])
  })

  it('refuses an envelope that is not the one its block’s bid committed to, once it has seen the block', async () => {
    const { network, chain } = gloasChain()
    const liar = await track(startGloasPeer(network, chain, 'changed_payload'))
    const { node, client } = await relayFor(network, chain, [liar])
    const roots = [chain.blockAt(34)!.root]
    const byRoot = () =>
      outcomeOf(client, node.libp2p.peerId, ENVELOPES_BY_ROOT, ENVELOPES_BY_ROOT.request!.serialize(roots), 1)

    // Before Contower has seen block 34 nothing ties its envelope to it: forwarded as it came, never cached.
    const unseen = await byRoot()
    expect(unseen.error).toBeNull()
    expect(unseen.chunks).toHaveLength(1)
    expect(hex(unseen.chunks[0]!.ssz)).not.toBe(hex(chain.envelopeAt(34)))

    // The block comes through Contower (verified, so its bid is noted): the changed envelope is refused now.
    const range = BLOCKS.request!.serialize({ startSlot: 33, count: 3, step: 1 })
    const blocks = await outcomeOf(client, node.libp2p.peerId, BLOCKS, range, 3)
    expect(blocks.chunks.map((c) => hex(c.ssz))).toEqual([33, 34].map((slot) => hex(chain.blockAt(slot)!.ssz)))
    const refused = await byRoot()
    expect(refused.chunks).toEqual([])
    expect(refused.error?.detail.respCode).toBe(RespCode.ServerError)
    expect(await metricValue(node, 'contower_relay_upstream_errors_total', { reason: 'envelope_bid_mismatch' })).toBe(1)
    expect(node.scores.score(liar.host.peerId.toString())).toBeLessThan(0)

    // An honest peer: the envelope the bid committed to.
    await liar.stop()
    const honest = await track(startGloasPeer(network, chain))
    await connectUpstreams(node, [honest.host], 'other')
    const good = await byRoot()
    expect(good.error).toBeNull()
    expect(good.chunks.map((c) => hex(c.ssz))).toEqual([hex(chain.envelopeAt(34))])
  })
})
