import { describe, expect, it } from 'vitest'
import { ssz } from '@lodestar/types'
import { ChainView, equalBytes, FUTURE_SLOT_TOLERANCE, GOSSIP_ROOT_SLOTS } from '../../../src/chain/chainView.js'
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import type { ChainSeed } from '../../../src/chain/beaconApi.js'
import type { PeerStatus } from '../../../src/chain/chainView.js'

const mainnet = loadNetworkPreset('mainnet')
const schedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const root = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

/** Wall clock: epoch 420000 (after BPO2, digest 8c9f62fe), 5 slots and 3 s in. */
const EPOCH = 420_000
const SLOT = EPOCH * 32 + 5
const DIGEST = fromHex('8c9f62fe')
/** The Fulu digest before the BPO forks: a peer still on it is on another digest. */
const OLD_DIGEST = fromHex('cc2c5cdb')

function view(peers: PeerStatus[], slot = SLOT): ChainView {
  const nowMs = mainnet.genesisTime * 1000 + slot * 12_000 + 3_000
  const clock = Clock.fromChainConfig(mainnet.config, mainnet.genesisTime, { now: () => nowMs })
  return new ChainView({ clock, forkSchedule: schedule, peerStatuses: () => peers })
}

function peer(overrides: Partial<PeerStatus> = {}): PeerStatus {
  return {
    forkDigest: DIGEST,
    finalizedRoot: root(0xaa),
    finalizedEpoch: EPOCH - 2,
    headRoot: root(0x01),
    headSlot: SLOT - 1,
    earliestAvailableSlot: 1000,
    ...overrides,
  }
}

/** Status with byte fields as hex, for readable comparisons. */
function readable(s: PeerStatus) {
  return { ...s, forkDigest: hex(s.forkDigest), finalizedRoot: hex(s.finalizedRoot), headRoot: hex(s.headRoot) }
}

describe('ChainView.status', () => {
  it('checks the fixture: the clock is at SLOT and the mainnet digest there is 8c9f62fe', () => {
    const v = view([])
    expect(hex(v.currentDigest())).toBe('8c9f62fe')
    expect(schedule.digestHexAtEpoch(411_392)).toBe(hex(OLD_DIGEST))
  })

  it('with no peers is genesis with the wall-clock digest', () => {
    expect(readable(view([]).status())).toEqual({
      forkDigest: '8c9f62fe',
      finalizedRoot: '00'.repeat(32),
      finalizedEpoch: 0,
      headRoot: '00'.repeat(32),
      headSlot: 0,
      earliestAvailableSlot: 0,
    })
  })

  it('follows the wall clock across a digest boundary (BPO2 at epoch 419072)', () => {
    expect(hex(view([], 419_072 * 32 - 1).status().forkDigest)).toBe('cb0d1acc')
    expect(hex(view([], 419_072 * 32).status().forkDigest)).toBe('8c9f62fe')
  })

  it('takes the finalized checkpoint most peers report', () => {
    const peers = [
      peer({ finalizedRoot: root(0xbb), finalizedEpoch: EPOCH - 1 }),
      peer({ finalizedRoot: root(0xbb), finalizedEpoch: EPOCH - 1 }),
      peer(),
      peer(),
      peer(),
    ]
    const s = view(peers).status()
    expect(s.finalizedEpoch).toBe(EPOCH - 2)
    expect(hex(s.finalizedRoot)).toBe(hex(root(0xaa)))
  })

  it('breaks a tie in votes by the higher finalized epoch, whatever the order', () => {
    const older = [peer(), peer()]
    const newer = [
      peer({ finalizedRoot: root(0xbb), finalizedEpoch: EPOCH - 1 }),
      peer({ finalizedRoot: root(0xbb), finalizedEpoch: EPOCH - 1 }),
    ]
    for (const peers of [
      [...older, ...newer],
      [...newer, ...older],
    ]) {
      const s = view(peers).status()
      expect(s.finalizedEpoch).toBe(EPOCH - 1)
      expect(hex(s.finalizedRoot)).toBe(hex(root(0xbb)))
    }
  })

  it('counts a checkpoint as (epoch, root): the same root at two epochs is two checkpoints', () => {
    const peers = [
      peer({ finalizedEpoch: EPOCH - 3 }),
      peer({ finalizedEpoch: EPOCH - 2 }),
      peer({ finalizedRoot: root(0xcc), finalizedEpoch: EPOCH - 4 }),
      peer({ finalizedRoot: root(0xcc), finalizedEpoch: EPOCH - 4 }),
    ]
    const s = view(peers).status()
    expect(s.finalizedEpoch).toBe(EPOCH - 4)
    expect(hex(s.finalizedRoot)).toBe(hex(root(0xcc)))
  })

  it('takes the best head among the agreeing peers, never past the current slot', () => {
    const peers = [
      peer({ headRoot: root(0x10), headSlot: SLOT - 3 }),
      peer({ headRoot: root(0x11), headSlot: SLOT - 2 }),
      peer({ headRoot: root(0x12), headSlot: SLOT + 1 }), // agreeing, but ahead of the wall clock
      // higher head, but a minority checkpoint
      peer({ finalizedRoot: root(0xbb), headRoot: root(0x13), headSlot: SLOT }),
    ]
    const s = view(peers).status()
    expect(s.headSlot).toBe(SLOT - 2)
    expect(hex(s.headRoot)).toBe(hex(root(0x11)))
  })

  it('accepts a head exactly at the current slot', () => {
    const s = view([peer({ headRoot: root(0x20), headSlot: SLOT })]).status()
    expect(s.headSlot).toBe(SLOT)
    expect(hex(s.headRoot)).toBe(hex(root(0x20)))
  })

  it('falls back to the finalized checkpoint as head when every agreeing head is in the future', () => {
    const s = view([peer({ headSlot: SLOT + 1 }), peer({ headSlot: SLOT + 2 })]).status()
    expect(s.headSlot).toBe((EPOCH - 2) * 32)
    expect(hex(s.headRoot)).toBe(hex(root(0xaa)))
  })

  it('ignores peers on another fork digest, even a majority', () => {
    const others = [1, 2, 3].map(() =>
      peer({
        forkDigest: OLD_DIGEST,
        finalizedRoot: root(0xee),
        finalizedEpoch: EPOCH - 1,
        headSlot: SLOT,
        earliestAvailableSlot: 0,
      }),
    )
    const s = view([...others, peer()]).status()
    expect(readable(s)).toEqual(readable(peer()))
    // only other-digest peers: as with no peers
    expect(view(others).status().finalizedEpoch).toBe(0)
    expect(hex(view(others).status().forkDigest)).toBe('8c9f62fe')
  })

  it('reports the lowest earliest_available_slot among the agreeing peers only', () => {
    const peers = [
      peer({ earliestAvailableSlot: 5000 }),
      peer({ earliestAvailableSlot: 3000, headSlot: SLOT + 5 }), // agreeing, head in the future: still counts
      peer({ earliestAvailableSlot: 7000 }),
      peer({ finalizedRoot: root(0xbb), earliestAvailableSlot: 10 }), // minority checkpoint
      peer({ forkDigest: OLD_DIGEST, earliestAvailableSlot: 0 }),
    ]
    expect(view(peers).status().earliestAvailableSlot).toBe(3000)
  })

  it('always uses the wall-clock digest, not a peer’s', () => {
    expect(hex(view([peer()]).status().forkDigest)).toBe('8c9f62fe')
  })
})

describe('ChainView.relevance', () => {
  const ours = [peer(), peer()]

  it('refuses another fork digest', () => {
    expect(view(ours).relevance(peer({ forkDigest: OLD_DIGEST }))).toEqual({ relevant: false, reason: 'fork_digest' })
    expect(view([]).relevance(peer({ forkDigest: OLD_DIGEST }))).toEqual({ relevant: false, reason: 'fork_digest' })
  })

  it(`refuses a head more than ${FUTURE_SLOT_TOLERANCE} slot ahead of the wall clock`, () => {
    expect(FUTURE_SLOT_TOLERANCE).toBe(1)
    const v = view(ours)
    expect(v.relevance(peer({ headSlot: SLOT + 2 }))).toEqual({ relevant: false, reason: 'head_in_future' })
    expect(v.relevance(peer({ headSlot: SLOT + 1 }))).toEqual({ relevant: true })
    expect(v.relevance(peer({ headSlot: SLOT }))).toEqual({ relevant: true })
  })

  it('refuses a different finalized root at our finalized epoch', () => {
    const v = view(ours)
    expect(v.relevance(peer({ finalizedRoot: root(0xbb) }))).toEqual({ relevant: false, reason: 'finalized_root' })
  })

  it('accepts the same root at our epoch, and any root at another epoch', () => {
    const v = view(ours)
    expect(v.relevance(peer())).toEqual({ relevant: true })
    expect(v.relevance(peer({ finalizedRoot: root(0xbb), finalizedEpoch: EPOCH - 1 }))).toEqual({ relevant: true })
    expect(v.relevance(peer({ finalizedRoot: root(0xbb), finalizedEpoch: EPOCH - 3 }))).toEqual({ relevant: true })
  })

  it('at epoch 0 (no peers: genesis) accepts any finalized root', () => {
    const v = view([])
    expect(v.relevance(peer({ finalizedRoot: root(0x77), finalizedEpoch: 0 }))).toEqual({ relevant: true })
    expect(v.relevance(peer({ finalizedRoot: new Uint8Array(32), finalizedEpoch: 0 }))).toEqual({ relevant: true })
    expect(v.relevance(peer())).toEqual({ relevant: true })
  })

  it('checks the digest first, then the head, then the finalized root', () => {
    const v = view(ours)
    const everythingWrong = peer({ forkDigest: OLD_DIGEST, headSlot: SLOT + 10, finalizedRoot: root(0xbb) })
    expect(v.relevance(everythingWrong)).toEqual({ relevant: false, reason: 'fork_digest' })
    expect(v.relevance({ ...everythingWrong, forkDigest: DIGEST })).toEqual({
      relevant: false,
      reason: 'head_in_future',
    })
  })
})

describe('equalBytes', () => {
  it('compares length and content', () => {
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true)
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false)
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })
})

describe('ChainView with a trusted seed (--beacon-api)', () => {
  function seeded(peers: PeerStatus[], seed: ChainSeed): ChainView {
    const nowMs = mainnet.genesisTime * 1000 + SLOT * 12_000 + 3_000
    const clock = Clock.fromChainConfig(mainnet.config, mainnet.genesisTime, { now: () => nowMs })
    return new ChainView({ clock, forkSchedule: schedule, peerStatuses: () => peers, seed: () => seed })
  }
  const seed: ChainSeed = {
    finalizedEpoch: EPOCH - 2,
    finalizedRoot: root(0xcc),
    headSlot: SLOT - 3,
    headRoot: root(0x03),
  }

  it('outranks the peers’ majority checkpoint', () => {
    const s = seeded([peer(), peer()], seed).status()
    expect(readable(s)).toMatchObject({ finalizedRoot: 'cc'.repeat(32), headSlot: SLOT - 3, headRoot: '03'.repeat(32) })
    expect(s.earliestAvailableSlot).toBe(0) // no peer agrees with the seed
  })

  it('takes a better head from peers that agree with it, never one past the wall clock', () => {
    const agreeing = peer({
      finalizedRoot: root(0xcc),
      headSlot: SLOT - 1,
      headRoot: root(0x04),
      earliestAvailableSlot: 77,
    })
    const ahead = peer({ finalizedRoot: root(0xcc), headSlot: SLOT + 1, headRoot: root(0x05) })
    const s = seeded([agreeing, ahead, peer()], seed).status()
    expect(readable(s)).toMatchObject({ headSlot: SLOT - 1, headRoot: '04'.repeat(32), earliestAvailableSlot: 77 })
  })

  it('takes a newer block relayed on gossip as head, never past the current slot, only with an agreeing peer', () => {
    const v = view([peer({ headSlot: SLOT - 10 })])
    v.noteGossipBlock(SLOT - 2, root(0x42))
    v.noteGossipBlock(SLOT - 5, root(0x43)) // older: ignored
    expect(v.status().headSlot).toBe(SLOT - 2)
    expect(hex(v.status().headRoot)).toBe(hex(root(0x42)))
    v.noteGossipBlock(SLOT + 3, root(0x44)) // ahead of the wall clock: not our head
    expect(v.status().headSlot).toBe(SLOT - 10)

    const alone = view([])
    alone.noteGossipBlock(SLOT - 1, root(0x42))
    expect(alone.status().headSlot).toBe(0) // no peer, no checkpoint to anchor it: still genesis
  })

  it('tells whether its head is a block it relayed on gossip, or one only a peer’s Status named', () => {
    const peers = [peer({ headSlot: SLOT - 10 })]
    const v = view(peers)
    expect(v.headIsRelayed(v.status().headSlot)).toBe(false) // nothing relayed yet
    v.noteGossipBlock(SLOT - 2, root(0x42))
    expect(v.headIsRelayed(v.status().headSlot)).toBe(true)
    peers.push(peer({ headSlot: SLOT - 1, headRoot: root(0x43) })) // a newer head, heard of only in a Status
    expect(v.headIsRelayed(v.status().headSlot)).toBe(false)
  })
})

describe('ChainView.relayedOnGossip', () => {
  /** A Fulu SignedBeaconBlock at `slot` (graffiti tells blocks of one slot apart) and its root. */
  const block = (slot: number, graffiti = 0) => {
    const signed = ssz.fulu.SignedBeaconBlock.defaultValue()
    signed.message.slot = slot
    signed.message.body.graffiti = root(graffiti)
    return {
      ssz: ssz.fulu.SignedBeaconBlock.serialize(signed),
      root: ssz.fulu.BeaconBlock.hashTreeRoot(signed.message),
    }
  }

  it('confirms a root relayed at its slot by a peer other than the one asking, and nothing else', () => {
    const v = view([peer()])
    const head = block(SLOT - 1)
    expect(v.noteRelayedBlock(head.ssz, 'p1')).toBe(true)
    expect(v.relayedOnGossip(SLOT - 1, head.root, 'p2')).toBe(true)
    expect(v.relayedOnGossip(SLOT - 1, head.root, 'p1')).toBe(false) // only the upstream itself vouches for it
    expect(v.relayedOnGossip(SLOT - 1, block(SLOT - 1, 7).root, 'p2')).toBe(false) // another block of the slot
    expect(v.relayedOnGossip(SLOT - 2, head.root, 'p2')).toBe(false)
  })

  it(`keeps ${GOSSIP_ROOT_SLOTS} slots below the newest block and a few blocks per slot`, () => {
    const v = view([peer()])
    const old = block(SLOT - 1 - GOSSIP_ROOT_SLOTS + 1)
    v.noteRelayedBlock(old.ssz, 'p1')
    const newest = block(SLOT - 1)
    v.noteRelayedBlock(newest.ssz, 'p1')
    expect(v.relayedOnGossip(SLOT - GOSSIP_ROOT_SLOTS, old.root, 'p2')).toBe(true) // 63 slots below: kept
    v.noteRelayedBlock(block(SLOT).ssz, 'p1')
    expect(v.relayedOnGossip(SLOT - GOSSIP_ROOT_SLOTS, old.root, 'p2')).toBe(false) // 64 below the newest: dropped
    const tooOld = block(SLOT - GOSSIP_ROOT_SLOTS)
    v.noteRelayedBlock(tooOld.ssz, 'p1')
    expect(v.relayedOnGossip(SLOT - GOSSIP_ROOT_SLOTS, tooOld.root, 'p2')).toBe(false)

    const equivocations = [1, 2, 3, 4, 5].map((g) => block(SLOT - 3, g))
    for (const b of equivocations) v.noteRelayedBlock(b.ssz, 'p1')
    expect(equivocations.map((b) => v.relayedOnGossip(SLOT - 3, b.root, 'p2'))).toEqual([true, true, true, true, false])
  })
})

describe('ChainView.nearDigestBoundary', () => {
  // Mainnet's Fulu fork (epoch 411392), a digest boundary; `view` puts the clock 3 s into the slot it is given.
  const fulu = mainnet.config.fuluForkEpoch * 32
  it('is true within one slot of a boundary, on either side, and false further away', () => {
    expect(view([], fulu - 1).nearDigestBoundary()).toBe(true) // 9 s before
    expect(view([], fulu).nearDigestBoundary()).toBe(true) // 3 s after
    expect(view([], fulu - 2).nearDigestBoundary()).toBe(false) // 21 s before
    expect(view([], fulu + 1).nearDigestBoundary()).toBe(false) // 15 s after
    expect(view([]).nearDigestBoundary()).toBe(false)
  })
})
