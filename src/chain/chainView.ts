import type { ForkName } from '@lodestar/params'
import type { ChainSeed } from './beaconApi.js'
import { beaconBlockRoot, SIGNED_BLOCK_FIXED_BYTES } from './blockRoot.js'
import type { Clock } from './clock.js'
import { PayloadBids } from './payloadBids.js'
import type { ForkSchedule } from './forkSchedule.js'

/** A peer's Status as we use it (Status v1 peers have no earliest available slot: 0). */
export interface PeerStatus {
  forkDigest: Uint8Array
  finalizedRoot: Uint8Array
  finalizedEpoch: number
  headRoot: Uint8Array
  headSlot: number
  earliestAvailableSlot: number
}

const ZERO_ROOT = new Uint8Array(32)

/** Gossip block roots kept, in slots below the newest one relayed: two epochs of heads. */
export const GOSSIP_ROOT_SLOTS = 64
/** Blocks kept per slot: one, or a few if its proposer equivocates (or a peer sends junk that validates). */
const GOSSIP_ROOTS_PER_SLOT = 4

/** Lodestar refuses peers whose head is more than this many slots ahead of the wall clock. */
export const FUTURE_SLOT_TOLERANCE = 1

export type Relevance =
  { relevant: true } | { relevant: false; reason: 'fork_digest' | 'head_in_future' | 'finalized_root' }

export interface ChainViewModules {
  clock: Clock
  forkSchedule: ForkSchedule
  /** The Status of each peer that completed a handshake. */
  peerStatuses: () => Iterable<PeerStatus>
  /** A trusted beacon node's view (--beacon-api), which outranks the peers' majority. */
  seed?: () => ChainSeed | null
}

/**
 * Contower has no chain: its Status is what its peers agree on. Finalized = the trusted beacon node's checkpoint
 * when --beacon-api is given, else the most common checkpoint among peers on the wall-clock fork digest; head = the best head among the peers sharing it, never past the current
 * slot; earliest_available_slot = the lowest any of them can serve. With no peers: genesis (a Status every
 * client accepts, since finalized roots are compared only at equal epochs and epoch 0 allows a zero root).
 */
export class ChainView {
  /** The newest block relayed on gossip: heads move every slot, Statuses are re-exchanged every 5 minutes. */
  private gossipHead: { headSlot: number; headRoot: Uint8Array } | null = null
  /**
   * Roots of the blocks relayed on gossip in the last GOSSIP_ROOT_SLOTS slots below the newest, by slot, each with
   * the peer it reached us from (gossipsub delivers a message once). Bounded: a few per slot, a proposer may equivocate.
   */
  private readonly gossipRoots = new Map<number, Array<{ root: Uint8Array; from: string }>>()
  /** The bids of the Gloas blocks seen (relayed on gossip, or forwarded verified by the relay), by block root. */
  readonly payloadBids = new PayloadBids()

  constructor(private readonly modules: ChainViewModules) {}

  /**
   * A SignedBeaconBlock relayed on gossip (validated, so well formed): its slot and root become a head candidate.
   * The slot sits at the same offset in every fork's block and names the fork the root is computed under; one
   * hash per block, about one per slot. False when the bytes are not a block.
   */
  noteRelayedBlock(signedBlock: Uint8Array, from: string): boolean {
    const view = new DataView(signedBlock.buffer, signedBlock.byteOffset, signedBlock.byteLength)
    if (signedBlock.length < SIGNED_BLOCK_FIXED_BYTES + 8) return false
    const offset = view.getUint32(0, true)
    if (offset !== SIGNED_BLOCK_FIXED_BYTES || signedBlock.length < offset + 8) return false
    const slot = Number(view.getBigUint64(offset, true))
    const { forkSchedule } = this.modules
    const fork = forkSchedule.forkAtEpoch(Math.floor(slot / forkSchedule.config.slotsPerEpoch))
    try {
      const message = signedBlock.subarray(offset)
      const root = beaconBlockRoot(fork.name as ForkName, message)
      this.noteGossipBlock(slot, root)
      this.noteGossipRoot(slot, root, from)
      this.payloadBids.noteBlock(fork.name as ForkName, message, root)
      return true
    } catch {
      return false
    }
  }

  /**
   * Whether a block with this root at this slot reached Contower on gossip from a peer other than `notFrom`. Positive
   * evidence only: gossip signatures are not checked here, so a root missing or different proves nothing against a
   * block (and is never a reason to refuse one), but the same root from another peer, which validated the proposer's
   * signature before forwarding if it is honest, confirms a block an upstream served.
   */
  relayedOnGossip(slot: number, root: Uint8Array, notFrom: string): boolean {
    return this.gossipRoots.get(slot)?.some((b) => b.from !== notFrom && equalBytes(b.root, root)) ?? false
  }

  private noteGossipRoot(slot: number, root: Uint8Array, from: string): void {
    const newest = Math.max(slot, ...this.gossipRoots.keys())
    if (slot <= newest - GOSSIP_ROOT_SLOTS) return
    const blocks = this.gossipRoots.get(slot) ?? []
    if (blocks.length >= GOSSIP_ROOTS_PER_SLOT) return
    blocks.push({ root, from })
    this.gossipRoots.set(slot, blocks)
    for (const s of this.gossipRoots.keys()) if (s <= newest - GOSSIP_ROOT_SLOTS) this.gossipRoots.delete(s)
  }

  /**
   * Whether our head, at `headSlot` (status().headSlot, which the caller has), is a block Contower relayed on gossip:
   * every peer in its beacon_block mesh got it from it.
   */
  headIsRelayed(headSlot: number): boolean {
    return this.gossipHead !== null && headSlot === this.gossipHead.headSlot
  }

  /** A beacon_block Contower validated and forwarded: a head candidate newer than any peer's last Status. */
  noteGossipBlock(slot: number, root: Uint8Array): void {
    if (!this.gossipHead || slot > this.gossipHead.headSlot) this.gossipHead = { headSlot: slot, headRoot: root }
  }

  /**
   * Within one slot of a fork-digest boundary, before or after it: a Status sent now may be read under the other
   * digest (the receiver's clock, its queue) and taken for another network's (Lodestar answers Goodbye 2).
   */
  nearDigestBoundary(): boolean {
    const { clock, forkSchedule } = this.modules
    const nowMs = clock.nowMs()
    const epoch = clock.currentEpoch
    for (const b of [forkSchedule.boundaryAtEpoch(epoch), forkSchedule.nextBoundary(epoch)]) {
      if (!b || b.epoch === 0) continue
      if (Math.abs(clock.slotStartMs(clock.firstSlotOfEpoch(b.epoch)) - nowMs) < clock.slotDurationMs) return true
    }
    return false
  }

  currentDigest(): Uint8Array {
    return this.modules.forkSchedule.digestAtEpoch(this.modules.clock.currentEpoch)
  }

  status(): PeerStatus {
    const digest = this.currentDigest()
    const currentSlot = this.modules.clock.currentSlot
    const peers = [...this.modules.peerStatuses()].filter((s) => equalBytes(s.forkDigest, digest))
    const seed = this.modules.seed?.() ?? null

    const finalized = seed ?? mostCommonFinalized(peers)
    if (!finalized) {
      return {
        forkDigest: digest,
        finalizedRoot: ZERO_ROOT,
        finalizedEpoch: 0,
        headRoot: ZERO_ROOT,
        headSlot: 0,
        earliestAvailableSlot: 0,
      }
    }
    const agreeing = peers.filter(
      (s) => s.finalizedEpoch === finalized.finalizedEpoch && equalBytes(s.finalizedRoot, finalized.finalizedRoot),
    )
    const heads: Array<{ headSlot: number; headRoot: Uint8Array }> = seed ? [seed, ...agreeing] : [...agreeing]
    // A gossiped block counts once a peer agrees with the finalized checkpoint and the block is past it.
    const finalizedSlot = finalized.finalizedEpoch * this.modules.clock.slotsPerEpoch
    if (this.gossipHead && heads.length > 0 && this.gossipHead.headSlot > finalizedSlot) heads.push(this.gossipHead)
    const head = heads.filter((s) => s.headSlot <= currentSlot).sort((a, b) => b.headSlot - a.headSlot)[0]
    return {
      forkDigest: digest,
      finalizedRoot: finalized.finalizedRoot,
      finalizedEpoch: finalized.finalizedEpoch,
      headRoot: head?.headRoot ?? finalized.finalizedRoot,
      headSlot: head?.headSlot ?? finalized.finalizedEpoch * this.modules.clock.slotsPerEpoch,
      earliestAvailableSlot: agreeing.length > 0 ? Math.min(...agreeing.map((s) => s.earliestAvailableSlot)) : 0,
    }
  }

  /** Lodestar's relevance rules, applied to a peer's Status against ours. */
  relevance(peer: PeerStatus): Relevance {
    if (!equalBytes(peer.forkDigest, this.currentDigest())) return { relevant: false, reason: 'fork_digest' }
    if (peer.headSlot > this.modules.clock.currentSlot + FUTURE_SLOT_TOLERANCE) {
      return { relevant: false, reason: 'head_in_future' }
    }
    const ours = this.status()
    if (
      peer.finalizedEpoch === ours.finalizedEpoch &&
      ours.finalizedEpoch > 0 &&
      !equalBytes(peer.finalizedRoot, ours.finalizedRoot)
    ) {
      return { relevant: false, reason: 'finalized_root' }
    }
    return { relevant: true }
  }
}

type Checkpoint = Pick<PeerStatus, 'finalizedEpoch' | 'finalizedRoot'>

/** The finalized checkpoint most peers report; ties go to the higher epoch. */
function mostCommonFinalized(peers: PeerStatus[]): Checkpoint | undefined {
  const votes = new Map<string, { checkpoint: Checkpoint; count: number }>()
  for (const s of peers) {
    const key = `${s.finalizedEpoch}:${Buffer.from(s.finalizedRoot).toString('hex')}`
    const vote = votes.get(key) ?? { checkpoint: s, count: 0 }
    vote.count++
    votes.set(key, vote)
  }
  return [...votes.values()].sort(
    (a, b) => b.count - a.count || b.checkpoint.finalizedEpoch - a.checkpoint.finalizedEpoch,
  )[0]?.checkpoint
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
