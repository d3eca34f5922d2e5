import type { PeerStatus } from '../peers/peerStore.js'
import type { Clock } from './clock.js'
import type { ForkSchedule } from './forkSchedule.js'

const ZERO_ROOT = new Uint8Array(32)

/** Lodestar refuses peers whose head is more than this many slots ahead of the wall clock. */
export const FUTURE_SLOT_TOLERANCE = 1

export type Relevance =
  { relevant: true } | { relevant: false; reason: 'fork_digest' | 'head_in_future' | 'finalized_root' }

export interface ChainViewModules {
  clock: Clock
  forkSchedule: ForkSchedule
  /** The Status of each peer that completed a handshake. */
  peerStatuses: () => Iterable<PeerStatus>
}

/**
 * Contower has no chain: its Status is what its peers agree on. Finalized = the most common checkpoint among
 * peers on the wall-clock fork digest; head = the best head among the peers sharing it, never past the current
 * slot; earliest_available_slot = the lowest any of them can serve. With no peers: genesis (a Status every
 * client accepts, since finalized roots are compared only at equal epochs and epoch 0 allows a zero root).
 */
export class ChainView {
  constructor(private readonly modules: ChainViewModules) {}

  currentDigest(): Uint8Array {
    return this.modules.forkSchedule.digestAtEpoch(this.modules.clock.currentEpoch)
  }

  status(): PeerStatus {
    const digest = this.currentDigest()
    const currentSlot = this.modules.clock.currentSlot
    const peers = [...this.modules.peerStatuses()].filter((s) => equalBytes(s.forkDigest, digest))

    const votes = new Map<string, { status: PeerStatus; count: number }>()
    for (const s of peers) {
      const key = `${s.finalizedEpoch}:${hex(s.finalizedRoot)}`
      const vote = votes.get(key) ?? { status: s, count: 0 }
      vote.count++
      votes.set(key, vote)
    }
    const finalized = [...votes.values()].sort(
      (a, b) => b.count - a.count || b.status.finalizedEpoch - a.status.finalizedEpoch,
    )[0]?.status
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
    const head = agreeing.filter((s) => s.headSlot <= currentSlot).sort((a, b) => b.headSlot - a.headSlot)[0]
    return {
      forkDigest: digest,
      finalizedRoot: finalized.finalizedRoot,
      finalizedEpoch: finalized.finalizedEpoch,
      headRoot: head?.headRoot ?? finalized.finalizedRoot,
      headSlot: head?.headSlot ?? finalized.finalizedEpoch * this.modules.clock.slotsPerEpoch,
      earliestAvailableSlot: Math.min(...agreeing.map((s) => s.earliestAvailableSlot)),
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

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}
