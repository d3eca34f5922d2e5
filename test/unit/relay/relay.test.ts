import { EPOCHS_PER_SYNC_COMMITTEE_PERIOD, ForkName } from '@lodestar/params'
import { describe, expect, it } from 'vitest'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { PeerAction } from '../../../src/reqresp/peerAction.js'
import { encodeErrorChunk, encodeResponseChunk } from '../../../src/wire/chunks.js'
import { RespCode } from '../../../src/wire/constants.js'
import { RESPONSE_CACHE_DEFAULTS } from '../../../src/relay/responseCache.js'
import { getProtocol } from '../../../src/reqresp/protocols.js'
import { lightClientBootstrap } from '../../helpers/lightClient.js'
import { blockChunk, chain, DIGEST, HEAD_SLOT, hex, network } from '../helpers/devnetChain.js'
import { closed, newPeerId } from '../helpers/memoryHost.js'
import {
  BY_RANGE,
  BY_ROOT,
  FINALIZED_EPOCH,
  relayHarness,
  sendAndClose,
  silent,
  soundRange,
  type Upstream,
  type UpstreamScript,
} from './relayHarness.js'

// The relay's decisions, one per test, against in-memory upstreams: what is forwarded, cached, failed over,
// refused, and who is penalised. Blocks are the devnet chain's; "bad" blocks are from a chain with another seed.

const range = (startSlot: number, count: number) => ({ startSlot, count, step: 1 })
const chunksOf = (...slots: number[]) => slots.map((s) => hex(blockChunk(s)))
const hexes = (chunks: Uint8Array[]) => chunks.map(hex)
/** Requests an upstream got for the range starting at `startSlot`. */
const rangeCalls = (requests: unknown[], startSlot: number) =>
  requests.filter((r) => (r as { startSlot: number }).startSlot === startSlot).length

/** A block of the same slot on another chain: well formed, but its parent is not our chain's block. */
const otherChain = new SyntheticChain({ network }, { payloadBytes: 500, seed: 'another chain' })
const foreignChunk = (slot: number) => encodeResponseChunk(RespCode.Success, otherChain.blockAt(slot)!.ssz, DIGEST)
/** A chain whose slots 13, 26, … are empty (missed proposals): block 14's parent is block 12. */
const gappy = new SyntheticChain({ network }, { payloadBytes: 500, seed: 'missed slots', skipSlotEvery: 13 })
gappy.blockAt(30) // built now: building it inside an upstream's answer would run past the relay's TTFB
const gappyChunk = (slot: number) => encodeResponseChunk(RespCode.Success, gappy.blockAt(slot)!.ssz, DIGEST)
/** A sound upstream of the gappy chain. */
const gappyRange: UpstreamScript = async (stream, request) => {
  const { startSlot, count } = request as { startSlot: number; count: number }
  for (const block of gappy.blocksInRange(startSlot, count, HEAD_SLOT)) stream.send(gappyChunk(block.slot))
  await stream.close()
}

describe('Relay: forwarding and the cache', () => {
  it('forwards an upstream’s blocks, caches them, and serves the same request again without an upstream call', async () => {
    const h = await relayHarness()
    const first = await h.ask(BY_RANGE, range(10, 3))
    expect(first.error).toBeNull()
    expect(hexes(first.chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
    const upstreamCalls = h.upstreams[0]!.requests.length

    const second = await h.ask(BY_RANGE, range(10, 3))
    expect(hexes(second.chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.upstreams[0]!.requests).toHaveLength(upstreamCalls)
    expect(h.upstreams[1]!.requests).toEqual([])
    expect(await h.results(BY_RANGE)).toEqual({ success: 1, cache_hit: 1 })
  })

  it('answers a range past the clock empty without an upstream, and asks a range reaching past it only up to the clock', async () => {
    const h = await relayHarness() // the clock stands in slot HEAD_SLOT
    const future = await h.ask(BY_RANGE, range(HEAD_SLOT + 1, 8))
    expect(future).toEqual({ chunks: [], error: null })
    expect(h.upstreams.flatMap((u) => u.requests)).toEqual([])

    const reaching = await h.ask(BY_RANGE, range(HEAD_SLOT - 2, 64))
    expect(reaching.error).toBeNull()
    expect(hexes(reaching.chunks)).toEqual(chunksOf(HEAD_SLOT - 2, HEAD_SLOT - 1, HEAD_SLOT))
    // Up to the current slot and no successor slot: nothing after the head can be had yet.
    expect(h.upstreams[0]!.requests).toEqual([range(HEAD_SLOT - 2, 3)])
    expect(await h.results(BY_RANGE)).toEqual({ nothing_asked: 1, success: 1 })
  })

  it('answers an empty list of roots empty without asking an upstream', async () => {
    const h = await relayHarness()
    for (const u of h.upstreams) u.serve(BY_ROOT, sendAndClose())
    expect(await h.ask(BY_ROOT, [])).toEqual({ chunks: [], error: null })
    expect(h.upstreams.flatMap((u) => u.requests)).toEqual([])
    expect(await h.results(BY_ROOT)).toEqual({ nothing_asked: 1 })
  })

  it('asks light-client updates by range only up to the clock’s sync committee period', async () => {
    const UPDATES = getProtocol('light_client_updates_by_range', 1)
    const h = await relayHarness()
    for (const u of h.upstreams) u.serve(UPDATES, sendAndClose())
    const period = Math.floor(HEAD_SLOT / network.config.slotsPerEpoch / EPOCHS_PER_SYNC_COMMITTEE_PERIOD)
    await h.ask(UPDATES, { startPeriod: period, count: 5 })
    expect(h.upstreams[0]!.requests).toEqual([{ startPeriod: period, count: 1 }])
    expect(await h.ask(UPDATES, { startPeriod: period + 1, count: 5 })).toEqual({ chunks: [], error: null })
    expect(h.upstreams.flatMap((u) => u.requests)).toHaveLength(1)
  })

  it('proves a range’s last block with the next block, asked of the same upstream in the same request', async () => {
    const h = await relayHarness()
    const { chunks } = await h.ask(BY_RANGE, range(10, 3))
    // One request: the range and the slot after it (RELAY_DEFAULTS.successorSlots); only the range is forwarded.
    expect(h.upstreams[0]!.requests).toEqual([range(10, 4)])
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
  })

  it('after an empty slot past the range, proves its last block by a follow-up to the same upstream', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, gappyRange)
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual([10, 11, 12].map((s) => hex(gappyChunk(s))))
    // Slot 13 is empty: the next 8 slots are asked, and block 14 names block 12 as its parent.
    expect(h.upstreams[0]!.requests).toEqual([range(10, 4), range(14, 8)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
    expect(await h.metric('contower_relay_successor_followups_total', { result: 'proven' })).toBe(1)
    expect(await h.metric('contower_relay_unproven_ranges_total')).toBe(0)
  })

  it('a follow-up waiting for quota past the first-chunk deadline still proves the range; the upstream is not charged', async () => {
    // 10 blocks per 10 s: the range and its slot take 2, and the 8 follow-up slots are there 500 ms later (jitter
    // allowance), past the 400 ms deadline, while the range's one block is still held back.
    const h = await relayHarness({
      upstreamQuotas: { beacon_blocks_by_range: { tokens: 10, seconds: 10 } },
      relay: { firstChunkDeadlineMs: 400, maxQueueWaitMs: 100 },
    })
    h.upstreams[0]!.serve(BY_RANGE, gappyRange)
    const { chunks, error } = await h.ask(BY_RANGE, range(12, 1))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual([hex(gappyChunk(12))])
    expect(h.upstreams[0]!.requests).toEqual([range(12, 2), range(14, 8)])
    expect(h.penalties).toEqual([])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(12, 1)))).toBeDefined()
  })

  it('proves a full-size range (no slot after it fits the count limit) by a follow-up for the slot after it', async () => {
    const h = await relayHarness()
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 128))
    expect(error).toBeNull()
    expect(chunks).toHaveLength(128)
    expect(h.upstreams[0]!.requests).toEqual([range(10, 128), range(138, 1)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 128)))).toBeDefined()
    expect(await h.metric('contower_relay_successor_followups_total', { result: 'proven' })).toBe(1)
  })

  it.each([
    // Block 14 of a chain without the gap: its parent is 13, not 12.
    { answer: 'a block that disowns the range’s last block', chunk: () => blockChunk(14), reason: 'relay_broken_link' },
    // Not after the range: it proves nothing.
    { answer: 'a block from before the slots asked', chunk: () => gappyChunk(11), reason: 'relay_slot_out_of_range' },
  ])('a follow-up answered with $answer: ServerError, nothing cached, the upstream charged', async (c) => {
    const h = await relayHarness({ upstreams: 1 }) // no other upstream to go on from
    h.upstreams[0]!.serve(BY_RANGE, async (stream, request) => {
      const { startSlot } = request as { startSlot: number }
      if (startSlot === 10) return gappyRange(stream, request) // the range as the gappy chain has it
      await sendAndClose(c.chunk())(stream, request)
    })
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(hexes(chunks)).toEqual([10, 11].map((s) => hex(gappyChunk(s))))
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
    expect(h.penalties).toEqual([{ peer: h.upstreams[0]!.id, action: PeerAction.LowToleranceError, reason: c.reason }])
  })

  it('a follow-up whose block stalls half-sent is given up after upstreamChunkMs, not the client’s 10 s', async () => {
    const h = await relayHarness({ upstreams: 1, relay: { upstreamChunkMs: 300 }, clientRespTimeoutMs: 10_000 })
    h.upstreams[0]!.serve(BY_RANGE, async (stream, request) => {
      const { startSlot } = request as { startSlot: number }
      if (startSlot === 10) return gappyRange(stream, request) // slot 13, the one after the range, is empty
      stream.send(gappyChunk(14).subarray(0, 40)) // the follow-up's first bytes, then nothing
      await closed(stream)
    })
    // A requester waiting 3 s for its next chunk (RESP_TIMEOUT, 10 s, scaled as upstreamChunkMs is): the range's last
    // block waits on the follow-up, so one left waiting the client's 10 s would have given up.
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3), { signal: AbortSignal.timeout(3_000) })
    expect(hexes(chunks)).toEqual([10, 11].map((s) => hex(gappyChunk(s))))
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(h.penalties).toEqual([
      { peer: h.upstreams[0]!.id, action: PeerAction.MidToleranceError, reason: 'relay_resp_timeout' },
    ])
  })

  it('forwards an empty answer that lacks even the block after the range, but does not cache it', async () => {
    // An upstream whose Status head is past the range answers nothing, not even the slot after it (as a JS peer that
    // hangs up mid-request does: its streams end cleanly).
    const h = await relayHarness({ upstreams: 1 })
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose())
    expect(await h.ask(BY_RANGE, range(10, 3))).toEqual({ chunks: [], error: null })
    expect(h.upstreams[0]!.requests).toEqual([range(10, 4)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
    expect(await h.metric('contower_relay_unproven_ranges_total')).toBe(1)
  })

  it('asks another upstream after an answer without even the block after the range (as a peer hanging up gives)', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose())
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
    expect(h.penalties).toEqual([]) // an empty answer is no fault: the slots may be empty
    expect(await h.metric('contower_relay_upstream_errors_total', { reason: 'empty_answer' })).toBe(1)
    expect(await h.metric('contower_relay_unproven_ranges_total')).toBe(0)
  })

  it('leaves the range unproven (forwarded, not cached) when the upstream’s quota has no room for a follow-up', async () => {
    // 10 tokens: the range and its successor slot take 4; the 8 follow-up slots would wait minutes for a refill.
    const h = await relayHarness({ upstreamQuotas: { beacon_blocks_by_range: { tokens: 10, seconds: 600 } } })
    h.upstreams[0]!.serve(BY_RANGE, gappyRange)
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual([10, 11, 12].map((s) => hex(gappyChunk(s))))
    expect(h.upstreams[0]!.requests).toEqual([range(10, 4)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
    expect(await h.metric('contower_relay_successor_followups_total', { result: 'no_quota' })).toBe(1)
    expect(await h.metric('contower_relay_unproven_ranges_total')).toBe(1)
  })

  it.each([
    { from: 'another peer', proven: true },
    { from: 'the upstream itself', proven: false },
  ])('a range reaching the head: its last block relayed on gossip by $from proves it: $proven', async (c) => {
    const h = await relayHarness()
    const upstream = h.upstreams[0]!.id
    h.chainView.noteRelayedBlock(chain.blockAt(HEAD_SLOT)!.ssz, c.from === 'another peer' ? 'another peer' : upstream)
    const { chunks, error } = await h.ask(BY_RANGE, range(HEAD_SLOT - 2, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(HEAD_SLOT - 2, HEAD_SLOT - 1, HEAD_SLOT))
    // Nothing after the head can be had: no slot after the range asked, no follow-up.
    expect(h.upstreams[0]!.requests).toEqual([range(HEAD_SLOT - 2, 3)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(HEAD_SLOT - 2, 3))) !== undefined).toBe(c.proven)
    expect(await h.metric('contower_relay_gossip_proven_ranges_total')).toBe(c.proven ? 1 : 0)
    expect(await h.metric('contower_relay_unproven_ranges_total')).toBe(c.proven ? 0 : 1)
  })

  it('a block of another root at the head slot on gossip neither proves the range nor refuses it', async () => {
    const h = await relayHarness()
    h.chainView.noteRelayedBlock(otherChain.blockAt(HEAD_SLOT)!.ssz, 'another peer')
    const { chunks, error } = await h.ask(BY_RANGE, range(HEAD_SLOT - 2, 3))
    expect(error).toBeNull()
    expect(chunks).toHaveLength(3)
    expect(h.cache.get(h.keyOf(BY_RANGE, range(HEAD_SLOT - 2, 3)))).toBeUndefined()
    expect(h.penalties).toEqual([])
  })

  it('after an empty slot past the range, a last block relayed on gossip by another peer needs no follow-up', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, gappyRange)
    h.chainView.noteRelayedBlock(gappy.blockAt(12)!.ssz, 'another peer')
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual([10, 11, 12].map((s) => hex(gappyChunk(s))))
    expect(h.upstreams[0]!.requests).toEqual([range(10, 4)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
    expect(await h.metric('contower_relay_successor_followups_total')).toBe(0)
  })

  /** A sound upstream of the other chain: a made-up segment, each block naming the previous one's root. */
  const otherRange: UpstreamScript = async (stream, request) => {
    const { startSlot, count } = request as { startSlot: number; count: number }
    for (const block of otherChain.blocksInRange(startSlot, count, HEAD_SLOT)) stream.send(foreignChunk(block.slot))
    await stream.close()
  }

  it('roots one upstream alone served are not known: its made-up segment refuses no honest answer later', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, otherRange)
    // Finalized slots (epoch 2 is); consistent with itself, so it passes every check (docs/verification.md).
    const forged = await h.ask(BY_RANGE, range(2, 3))
    expect(hexes(forged.chunks)).toEqual([2, 3, 4].map((s) => hex(foreignChunk(s))))
    h.upstreams[0]!.serve(BY_RANGE, soundRange)
    const honest = await h.ask(BY_RANGE, range(3, 2))
    expect(honest.error).toBeNull()
    expect(hexes(honest.chunks)).toEqual(chunksOf(3, 4))
    expect(h.penalties).toEqual([])
  })

  it('roots two upstreams agree on are known: a later answer with another root there is refused and charged', async () => {
    const h = await relayHarness()
    const [a, b] = h.upstreams as [Upstream, Upstream]
    const refuse = sendAndClose(encodeErrorChunk(RespCode.ResourceUnavailable, 'not now')) // free: no penalty
    b.serve(BY_RANGE, refuse)
    await h.ask(BY_RANGE, range(2, 3)) // served by a
    a.serve(BY_RANGE, refuse)
    b.serve(BY_RANGE, soundRange)
    await h.ask(BY_RANGE, range(2, 2)) // served by b: slots 2 and 3 now served alike by two upstreams
    a.serve(BY_RANGE, otherRange)
    b.serve(BY_RANGE, otherRange)
    const { chunks, error } = await h.ask(BY_RANGE, range(3, 2))
    expect(chunks).toEqual([])
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(h.penalties.map((p) => p.reason)).toEqual(['relay_known_root_mismatch', 'relay_known_root_mismatch'])
    expect(new Set(h.penalties.map((p) => p.peer))).toEqual(new Set([a.id, b.id]))
  })

  it('answers BlocksByRoot from blocks a range response filed by root', async () => {
    const h = await relayHarness()
    await h.ask(BY_RANGE, range(10, 3))
    const before = h.upstreams.map((u) => u.requests.length)
    const roots = [chain.blockAt(12)!.root, chain.blockAt(10)!.root]
    const { chunks, error } = await h.ask(BY_ROOT, roots)
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(12, 10))
    expect(h.upstreams.map((u) => u.requests.length)).toEqual(before)
  })

  it('coalesces an identical request that arrives while the first is upstream', async () => {
    const h = await relayHarness()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    h.upstreams[0]!.serve(BY_RANGE, async (stream, request) => {
      await gate
      await soundRange(stream, request)
    })
    const first = h.ask(BY_RANGE, range(10, 3))
    await expect.poll(() => h.upstreams[0]!.requests.length).toBe(1)
    const second = h.ask(BY_RANGE, range(10, 3), { from: await newPeerId() })
    release()
    const [a, b] = await Promise.all([first, second])
    expect(hexes(a.chunks)).toEqual(chunksOf(10, 11, 12))
    expect(hexes(b.chunks)).toEqual(chunksOf(10, 11, 12))
    expect(rangeCalls(h.upstreams[0]!.requests, 10)).toBe(1)
    expect(h.upstreams[1]!.requests).toEqual([])
    expect(await h.results(BY_RANGE)).toEqual({ success: 1, coalesced: 1 })
  })
})

describe('Relay: checking upstream chunks', () => {
  it('does not forward a first chunk that fails its checks, penalises that upstream and fails over', async () => {
    const h = await relayHarness()
    const damaged = blockChunk(10)
    damaged[damaged.length - 1]! ^= 0xff // inside the snappy payload: framing or CRC no longer hold
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(damaged))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12)) // all from the second upstream
    expect(h.penalties).toEqual([
      expect.objectContaining({ peer: h.upstreams[0]!.id, action: PeerAction.LowToleranceError }),
    ])
  })

  it('stops at a block whose parent is not the block before it: not forwarded, nothing cached', async () => {
    const h = await relayHarness({ upstreams: 1 })
    // 10 and 11 are sound; the 12 sent is another chain's, whose parent_root is not block 11's root.
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(blockChunk(10), blockChunk(11), foreignChunk(12)))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    // Block 10 went out once 11 named it as parent; 11 was held back, and 12 broke the link: no upstream to go on.
    expect(hexes(chunks)).toEqual(chunksOf(10))
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
    expect(h.penalties).toEqual([
      { peer: h.upstreams[0]!.id, action: PeerAction.LowToleranceError, reason: 'relay_broken_link' },
    ])
    expect(await h.results(BY_RANGE)).toEqual({ failed_after_first_chunk: 1 })
  })

  it('after a broken link, goes on from another upstream at the slot after the last block forwarded: whole, cached', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(blockChunk(10), blockChunk(11), foreignChunk(12)))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12)) // 10 from the first; 11 (held back, suspect) and 12 again
    expect(h.upstreams[1]!.requests).toEqual([range(11, 2 + 1)]) // the rest and the slot after it
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
    expect(h.penalties).toEqual([
      { peer: h.upstreams[0]!.id, action: PeerAction.LowToleranceError, reason: 'relay_broken_link' },
    ])
    expect(await h.results(BY_RANGE)).toEqual({ success: 1 })
    expect(await h.metric('contower_relay_resumes_total', { outcome: 'whole' })).toBe(1)
    expect(await h.metric('contower_relay_failovers_total')).toBe(0)
  })

  it('a resumed answer must follow on from the last block forwarded: another chain’s blocks are refused, uncharged', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(blockChunk(10), blockChunk(11), foreignChunk(12)))
    // Sound links among themselves, but block 11 of another chain does not name our block 10 as its parent.
    h.upstreams[1]!.serve(BY_RANGE, sendAndClose(foreignChunk(11), foreignChunk(12), foreignChunk(13)))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(hexes(chunks)).toEqual(chunksOf(10))
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
    // The second upstream may be on another fork than the first: refused, not charged.
    expect(h.penalties.map((p) => [p.peer, p.reason])).toEqual([[h.upstreams[0]!.id, 'relay_broken_link']])
    expect(await h.metric('contower_relay_upstream_errors_total', { reason: 'fork_at_join' })).toBe(1)
    expect(await h.metric('contower_relay_resumes_total', { outcome: 'failed' })).toBe(1)
  })

  it('refuses a range whose last block the next block disowns', async () => {
    const h = await relayHarness({ upstreams: 1 })
    // The range is sound, but the block after it has a parent that is not block 12.
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(blockChunk(10), blockChunk(11), blockChunk(12), foreignChunk(13)))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(hexes(chunks)).toEqual(chunksOf(10, 11))
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
  })
})

describe('Relay: failing over and failing', () => {
  it('fails over to the next upstream when the first is silent, charging the first a timeout', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, silent)
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.upstreams[0]!.requests).toEqual([range(10, 3 + 1)]) // the range and the slot after it
    expect(h.penalties).toEqual([
      { peer: h.upstreams[0]!.id, action: PeerAction.MidToleranceError, reason: 'relay_ttfb_timeout' },
    ])
  })

  it('fails over on an upstream’s ResourceUnavailable answer without penalising it', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(encodeErrorChunk(RespCode.ResourceUnavailable, 'pruned')))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.penalties).toEqual([])
  })

  it('answers ResourceUnavailable when every upstream said it does not have it; ServerError when one failed otherwise', async () => {
    const h = await relayHarness()
    for (const u of h.upstreams)
      u.serve(BY_RANGE, sendAndClose(encodeErrorChunk(RespCode.ResourceUnavailable, 'pruned')))
    const none = await h.ask(BY_RANGE, range(10, 3))
    expect(none.error?.respCode).toBe(RespCode.ResourceUnavailable)
    expect(none.error?.message).toBe('no upstream has it')
    h.upstreams[1]!.serve(BY_RANGE, sendAndClose(encodeErrorChunk(RespCode.ServerError, 'broken')))
    const broken = await h.ask(BY_RANGE, range(20, 3))
    expect(broken.error?.respCode).toBe(RespCode.ServerError)
    expect(h.upstreams.map((u) => u.requests.length)).toEqual([2, 2])
  })

  it('an upstream that answers "rate limited" is not charged, and is not asked for that protocol again before a refill', async () => {
    const h = await relayHarness({ upstreamQuotas: { beacon_blocks_by_range: { tokens: 128, seconds: 10 } } })
    h.upstreams[0]!.serve(BY_RANGE, sendAndClose(encodeErrorChunk(139, 'Wait 2.5s'))) // Lighthouse's RateLimited
    const first = await h.ask(BY_RANGE, range(10, 3))
    expect(first.error).toBeNull()
    expect(hexes(first.chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.penalties).toEqual([])
    expect(await h.metric('contower_relay_upstream_errors_total', { reason: 'rate_limited' })).toBe(1)
    // The first upstream would be chosen again (it is first, and no slower): it waits out a refill instead.
    const second = await h.ask(BY_RANGE, range(20, 3))
    expect(hexes(second.chunks)).toEqual(chunksOf(20, 21, 22))
    expect(h.upstreams[0]!.requests).toHaveLength(1)
    expect(h.upstreams[1]!.requests).toHaveLength(2)
  })

  it('BlocksByRoot: when the upstream dies mid-response, another is asked for the roots not yet answered', async () => {
    const h = await relayHarness()
    const roots = [12, 10, 14].map((s) => chain.blockAt(s)!.root)
    h.upstreams[0]!.serve(BY_ROOT, async (stream) => {
      stream.send(Buffer.concat([blockChunk(12), blockChunk(10).subarray(0, 40)]))
      stream.abort(new Error('upstream crashed'))
    })
    h.upstreams[1]!.serve(BY_ROOT, async (stream, request) => {
      const asked = (request as Uint8Array[]).map((root) => hex(root))
      for (const s of [10, 14]) if (asked.includes(hex(chain.blockAt(s)!.root))) stream.send(blockChunk(s))
      await stream.close()
    })
    const { chunks, error } = await h.ask(BY_ROOT, roots)
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual([12, 10, 14].map((s) => hex(blockChunk(s))))
    expect((h.upstreams[1]!.requests[0] as Uint8Array[]).map(hex)).toEqual(
      [10, 14].map((s) => hex(chain.blockAt(s)!.root)),
    )
    expect(h.cache.get(h.keyOf(BY_ROOT, roots))).toBeDefined()
    expect(await h.metric('contower_relay_resumes_total', { outcome: 'whole' })).toBe(1)
  })

  it('BlocksByRoot: an upstream failing after every root asked was answered leaves a whole answer, cached', async () => {
    const h = await relayHarness()
    const roots = [12, 10].map((s) => chain.blockAt(s)!.root)
    h.upstreams[0]!.serve(BY_ROOT, async (stream) => {
      stream.send(Buffer.concat([blockChunk(12), blockChunk(10)]))
      stream.abort(new Error('reset instead of a close'))
    })
    const { chunks, error } = await h.ask(BY_ROOT, roots)
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(12, 10))
    expect(h.upstreams[1]!.requests).toEqual([])
    expect(h.cache.get(h.keyOf(BY_ROOT, roots))).toBeDefined()
  })

  it('ends with ServerError after the first chunk when the upstream dies mid-response and no other can go on', async () => {
    const h = await relayHarness({ upstreams: 1 })
    const upstreamGone: UpstreamScript = async (stream) => {
      stream.send(Buffer.concat([blockChunk(10), blockChunk(11), blockChunk(12).subarray(0, 40)]))
      stream.abort(new Error('upstream crashed'))
    }
    h.upstreams[0]!.serve(BY_RANGE, upstreamGone)
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(hexes(chunks)).toEqual(chunksOf(10)) // 11 was still held back for its proof
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(error?.message).toContain('upstream failed mid-response')
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeUndefined()
  })

  it('an upstream silent mid-response for upstreamChunkMs: another goes on, within the requester’s RESP_TIMEOUT', async () => {
    const h = await relayHarness({ relay: { upstreamChunkMs: 300 }, clientRespTimeoutMs: 10_000 })
    h.upstreams[0]!.serve(BY_RANGE, async (stream) => {
      stream.send(Buffer.concat([blockChunk(10), blockChunk(11)]))
      await closed(stream) // and nothing more: not 10 s (the client's RESP_TIMEOUT) but 300 ms pass before giving up
    })
    // A requester whose patience is ten times the upstream's, as RESP_TIMEOUT (10 s) is twice upstreamChunkMs (5 s)
    // plus a first-chunk deadline: one waiting out the client's own 10 s would have given up.
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3), { signal: AbortSignal.timeout(3_000) })
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.upstreams[1]!.requests).toEqual([range(11, 2 + 1)])
    expect(h.penalties).toEqual([
      { peer: h.upstreams[0]!.id, action: PeerAction.MidToleranceError, reason: 'relay_resp_timeout' },
    ])
  })

  it('when the upstream dies mid-response, another goes on from the block after the last one forwarded', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, async (stream) => {
      stream.send(Buffer.concat([blockChunk(10), blockChunk(11), blockChunk(12).subarray(0, 40)]))
      stream.abort(new Error('upstream crashed'))
    })
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12))
    expect(h.upstreams[1]!.requests).toEqual([range(11, 2 + 1)])
    expect(h.cache.get(h.keyOf(BY_RANGE, range(10, 3)))).toBeDefined()
  })

  it('answers ServerError when every upstream fails before its first chunk (not ResourceUnavailable: Lighthouse bans for that)', async () => {
    const h = await relayHarness()
    for (const u of h.upstreams) u.serve(BY_RANGE, sendAndClose(encodeErrorChunk(RespCode.ServerError, 'broken')))
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(chunks).toEqual([])
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(error?.message).toContain('no upstream could serve it')
    expect(h.upstreams.map((u) => u.requests.length)).toEqual([1, 1])
    expect(await h.results(BY_RANGE)).toEqual({ upstream_failed: 1 })
  })

  it('answers ResourceUnavailable at once when no peer could serve the request', async () => {
    const h = await relayHarness({ upstreams: 0 })
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 3))
    expect(chunks).toEqual([])
    expect(error?.respCode).toBe(RespCode.ResourceUnavailable)
    expect(await h.results(BY_RANGE)).toEqual({ no_upstream: 1 })
  })

  it('never asks the requester itself to serve its own request', async () => {
    const h = await relayHarness({ upstreams: 1 })
    const { error } = await h.ask(BY_RANGE, range(10, 3), { from: h.upstreams[0]!.host.peerId })
    expect(error?.respCode).toBe(RespCode.ResourceUnavailable)
    expect(h.upstreams[0]!.requests).toEqual([])
  })
})

describe('Relay: ranges larger than any upstream takes at once', () => {
  // Every upstream takes 4 blocks per request and per refill: a part of 3 slots and the slot after it that proves it.
  const smallQuota = { beacon_blocks_by_range: { tokens: 4, seconds: 10 } }

  it('asks the range in parts, each of an upstream that takes it, and forwards them in order; each part is cached', async () => {
    const h = await relayHarness({ upstreams: 4, upstreamQuotas: smallQuota })
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 10))
    expect(error).toBeNull()
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12, 13, 14, 15, 16, 17, 18, 19))
    // One part per upstream (each bucket holds one): 3 slots and the slot after each, the last part 1 and 1.
    expect(h.upstreams.map((u) => u.requests)).toEqual([[range(10, 4)], [range(13, 4)], [range(16, 4)], [range(19, 2)]])
    expect(await h.metric('contower_relay_split_requests_total', { outcome: 'whole' })).toBe(1)
    expect(h.cache.get(h.keyOf(BY_RANGE, range(13, 3)))).toBeDefined()

    // Asked again, every part is in the cache: no upstream is asked (their quotas are spent anyway).
    const again = await h.ask(BY_RANGE, range(10, 10))
    expect(hexes(again.chunks)).toEqual(chunksOf(10, 11, 12, 13, 14, 15, 16, 17, 18, 19))
    expect(h.upstreams.flatMap((u) => u.requests)).toHaveLength(4)
  })

  it('ends with ServerError when a later part cannot be had: a shorter range would claim its slots empty', async () => {
    const h = await relayHarness({ upstreams: 2, upstreamQuotas: smallQuota })
    const { chunks, error } = await h.ask(BY_RANGE, range(10, 10))
    // Two parts had their upstream; the third waits for a refill (12.5 s) longer than the queue's wait.
    expect(hexes(chunks)).toEqual(chunksOf(10, 11, 12, 13, 14, 15))
    expect(error?.respCode).toBe(RespCode.ServerError)
    expect(error?.message).toMatch(/rest of the range/)
    expect(await h.results(BY_RANGE)).toEqual({ failed_after_first_chunk: 1 })
    expect(await h.metric('contower_relay_split_requests_total', { outcome: 'failed' })).toBe(1)
    expect(h.penalties).toEqual([]) // no upstream failed: they were not asked
  })
})

describe('Relay: requesters', () => {
  it('refuses a requester over its quota with RateLimited (139) and a penalty, asking no upstream', async () => {
    const h = await relayHarness({ inboundQuotas: { beacon_blocks_by_range: { tokens: 4, seconds: 1_000 } } })
    expect((await h.ask(BY_RANGE, range(10, 4))).error).toBeNull()
    const calls = h.upstreams[0]!.requests.length
    const { chunks, error } = await h.ask(BY_RANGE, range(20, 4))
    expect(chunks).toEqual([])
    expect(error?.respCode).toBe(RespCode.RateLimited)
    expect(error?.message).toBe('rate limited')
    expect(h.upstreams[0]!.requests).toHaveLength(calls)
    expect(h.penalties).toEqual([
      {
        peer: h.requesterId.toString(),
        action: PeerAction.MidToleranceError,
        reason: 'rate_limited_beacon_blocks_by_range',
      },
    ])
    expect(await h.results(BY_RANGE)).toEqual({ success: 1, rate_limited: 1 })
  })

  it('counts the inbound limit’s delay against the first-chunk deadline: no upstream is asked without time to answer', async () => {
    // 3 blocks a second: a second range of 3 waits a whole second, the first-chunk deadline (FAST: 1 s).
    const h = await relayHarness({ inboundQuotas: { beacon_blocks_by_range: { tokens: 3, seconds: 1 } } })
    expect((await h.ask(BY_RANGE, range(10, 3))).error).toBeNull()
    const calls = h.upstreams.flatMap((u) => u.requests).length
    const { chunks, error } = await h.ask(BY_RANGE, range(20, 3))
    expect(chunks).toEqual([])
    expect(error?.respCode).toBe(RespCode.RateLimited)
    expect(error?.message).toBe('busy: no time left to ask an upstream')
    expect(h.upstreams.flatMap((u) => u.requests)).toHaveLength(calls) // an answer it could not have sent in time
    expect(await h.results(BY_RANGE)).toEqual({ success: 1, queue_timeout: 1 })
  })

  it('refuses a requester over its share of the upstream queue at once, while another requester still queues', async () => {
    // Upstreams that stay silent for the whole test: each holds two requests (the self-limit) until reset.
    const h = await relayHarness({ relay: { upstreamTtfbMs: 29_000, firstChunkDeadlineMs: 30_000 } })
    for (const u of h.upstreams) u.serve(BY_RANGE, silent)
    const controller = new AbortController()
    const open = (startSlot: number, from = h.requesterId) =>
      h.ask(BY_RANGE, range(startSlot, 2), { from, signal: controller.signal }).catch((e: unknown) => e)
    const upstreamAsks = () => h.upstreams.reduce((n, u) => n + u.requests.length, 0)
    const held = [10, 14, 18, 22].map((slot) => open(slot))
    await expect.poll(upstreamAsks).toBe(4)
    // Four open (its share of the queue): the fifth is refused without waiting and without an upstream call.
    const { error } = await h.ask(BY_RANGE, range(26, 2))
    expect(error?.respCode).toBe(RespCode.RateLimited)
    expect(error?.message).toBe('busy: too many of your requests open')
    const other = open(30, await newPeerId())
    await expect.poll(() => h.queueDepth()).toBe(1) // the other requester waits for a slot instead
    expect(upstreamAsks()).toBe(4)
    controller.abort(new Error('test over'))
    await Promise.all([...held, other])
    expect((await h.results(BY_RANGE)).requester_busy).toBe(1)
    expect(h.penalties).toEqual([])
  })

  it('answers busy (queue_timeout), not an upstream failure, when no upstream slot frees within the queue wait', async () => {
    // Silent upstreams hold the self-limit's two requests each; another requester then waits for a slot in vain.
    const h = await relayHarness({
      relay: { upstreamTtfbMs: 29_000, firstChunkDeadlineMs: 30_000, maxQueueWaitMs: 300 },
    })
    for (const u of h.upstreams) u.serve(BY_RANGE, silent)
    const controller = new AbortController()
    const held = [10, 14, 18, 22].map((slot) =>
      h.ask(BY_RANGE, range(slot, 2), { signal: controller.signal }).catch((e: unknown) => e),
    )
    await expect.poll(() => h.upstreams.reduce((n, u) => n + u.requests.length, 0)).toBe(4)
    const { chunks, error } = await h.ask(BY_RANGE, range(30, 2), { from: await newPeerId() })
    expect(chunks).toEqual([])
    expect(error?.respCode).toBe(RespCode.RateLimited)
    expect(error?.message).toBe('busy: no upstream free in time')
    controller.abort(new Error('test over'))
    await Promise.all(held)
    expect((await h.results(BY_RANGE)).queue_timeout).toBe(1)
    expect((await h.results(BY_RANGE)).upstream_failed).toBeUndefined()
    expect(h.penalties).toEqual([]) // the upstreams did nothing wrong
  })

  it('drops the upstream call when the requester goes away, without charging the upstream', async () => {
    const h = await relayHarness()
    h.upstreams[0]!.serve(BY_RANGE, silent)
    const controller = new AbortController()
    const asked = h.ask(BY_RANGE, range(10, 3), { signal: controller.signal }).catch((e: unknown) => e)
    await expect.poll(() => h.upstreams[0]!.requests.length).toBe(1)
    controller.abort(new Error('requester gone'))
    expect(await asked).toBeInstanceOf(Error) // the server resets the stream: no answer is owed
    expect(await closed(h.upstreams[0]!.host.served[0]!)).toBeInstanceOf(Error) // the upstream stream is reset
    expect(h.upstreams[1]!.requests).toEqual([]) // and nobody else is asked
    expect(h.penalties).toEqual([])
    expect(await h.results(BY_RANGE)).toEqual({ aborted: 1 })
  })

  it('answers InvalidRequest for a request no peer should serve', async () => {
    const h = await relayHarness()
    const { error } = await h.ask(BY_RANGE, range(10, 0))
    expect(error?.respCode).toBe(RespCode.InvalidRequest)
    expect(h.upstreams[0]!.requests).toEqual([])
    expect(await h.results(BY_RANGE)).toEqual({ invalid_request: 1 })
  })
})

describe('light-client bootstraps in the cache', () => {
  const BOOTSTRAP = getProtocol('light_client_bootstrap', 1)

  it('one of a finalized block lives as finalized data does; one of a later block expires with the head TTL', async () => {
    let now = 0
    const h = await relayHarness({ upstreams: 1, cacheNow: () => now })
    const finalizedSlot = FINALIZED_EPOCH * chain.slotsPerEpoch
    const old = lightClientBootstrap(ForkName.fulu, finalizedSlot - 3)
    const recent = lightClientBootstrap(ForkName.fulu, HEAD_SLOT - 50)
    const byRoot = new Map([old, recent].map((b) => [hex(b.root), b.bytes]))
    const upstream = h.upstreams[0]
    upstream.serve(BOOTSTRAP, async (stream, root) => {
      stream.send(encodeResponseChunk(RespCode.Success, byRoot.get(hex(root as Uint8Array))!, DIGEST))
      await stream.close()
    })
    for (const b of [old, recent]) {
      const answer = await h.ask(BOOTSTRAP, b.root)
      expect(answer.error).toBeNull()
      expect(answer.chunks).toHaveLength(1)
    }
    now += RESPONSE_CACHE_DEFAULTS.headTtlMs + 1
    expect(h.cache.get(h.keyOf(BOOTSTRAP, old.root))).toBeDefined()
    expect(h.cache.get(h.keyOf(BOOTSTRAP, recent.root))).toBeUndefined()
    const asked = upstream.requests.length
    expect((await h.ask(BOOTSTRAP, old.root)).chunks).toHaveLength(1)
    expect(upstream.requests).toHaveLength(asked) // from the cache
    now += RESPONSE_CACHE_DEFAULTS.finalizedTtlMs
    expect(h.cache.get(h.keyOf(BOOTSTRAP, old.root))).toBeUndefined()
  })
})
