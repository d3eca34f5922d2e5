// Which peers the heartbeat disconnects when there are more than the target. Modelled on Lodestar's
// prioritizePeers.ts (pruneExcessPeers): keep a share of outbound peers (Lodestar keeps 10%, its issue #2215:
// inbound-only peer sets are easy to eclipse), prefer dropping peers that bring no long-lived subnet, and always
// get back to the target so there is room for new, possibly better, peers (Lodestar issue #5198).

export type PruneReason = 'low_score' | 'no_subnet_coverage' | 'excess'

export interface PruneCandidate {
  peer: string
  direction: 'inbound' | 'outbound'
  score: number
  /** Long-lived subnets from the peer's MetaData (none until it has answered). */
  attnets: readonly number[]
  syncnets: readonly number[]
  /** Data columns it custodies (custody.ts): kept like subnets, a peer covering a column no one else does stays. */
  columns?: readonly number[]
  isStatic: boolean
  connectedAtMs: number
}

export interface PruneOptions {
  targetPeers: number
  /** Outbound peers (static ones included) never pruned below this count. */
  minOutbound: number
  /** Peers scoring below this go first, lowest first. */
  lowScoreBelow: number
}

export interface PruneDecision {
  peer: string
  reason: PruneReason
}

/** Attestation subnets are keys 0-63, sync committee subnets 64-67, custody columns 128-255. */
const SYNCNET_KEY_OFFSET = 64
const COLUMN_KEY_OFFSET = 128

/**
 * Picks peers to disconnect so that `targetPeers` remain, in three passes over the non-static peers, each in
 * the same order (lowest score first; then fewest subnets; then the most recently connected):
 * 1. `low_score`: peers scoring below `lowScoreBelow`;
 * 2. `no_subnet_coverage`: peers whose attnets/syncnets are all also advertised by a peer that stays;
 * 3. `excess`: whoever is next, until the target is reached.
 * An outbound peer is skipped whenever pruning it would leave fewer than `minOutbound` outbound peers.
 */
export function selectPeersToPrune(peers: readonly PruneCandidate[], opts: PruneOptions): PruneDecision[] {
  let excess = peers.length - opts.targetPeers
  if (excess <= 0) return []
  let outbound = peers.filter((p) => p.direction === 'outbound').length
  const coverage = new Map<number, number>()
  for (const p of peers) for (const key of subnetKeys(p)) coverage.set(key, (coverage.get(key) ?? 0) + 1)

  const order = peers.filter((p) => !p.isStatic).sort(pruneOrder)
  const decisions: PruneDecision[] = []
  const pruned = new Set<string>()
  const tryPrune = (p: PruneCandidate, reason: PruneReason): void => {
    if (excess <= 0 || pruned.has(p.peer)) return
    if (p.direction === 'outbound' && outbound <= opts.minOutbound) return
    pruned.add(p.peer)
    decisions.push({ peer: p.peer, reason })
    excess--
    if (p.direction === 'outbound') outbound--
    for (const key of subnetKeys(p)) coverage.set(key, coverage.get(key)! - 1)
  }

  for (const p of order) if (p.score < opts.lowScoreBelow) tryPrune(p, 'low_score')
  for (const p of order) {
    if (subnetKeys(p).every((key) => coverage.get(key)! > 1)) tryPrune(p, 'no_subnet_coverage')
  }
  for (const p of order) tryPrune(p, 'excess')
  return decisions
}

function pruneOrder(a: PruneCandidate, b: PruneCandidate): number {
  return (
    a.score - b.score ||
    subnetCount(a) - subnetCount(b) ||
    b.connectedAtMs - a.connectedAtMs ||
    (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0)
  )
}

function subnetCount(p: PruneCandidate): number {
  return p.attnets.length + p.syncnets.length + (p.columns?.length ?? 0)
}

function subnetKeys(p: PruneCandidate): number[] {
  return [
    ...p.attnets,
    ...p.syncnets.map((s) => s + SYNCNET_KEY_OFFSET),
    ...(p.columns ?? []).map((c) => c + COLUMN_KEY_OFFSET),
  ]
}

/** The set bits of an SSZ bitvector (bit i is bit i % 8 of byte i / 8), e.g. MetaData attnets. */
export function setBits(bitvector: Uint8Array | undefined): number[] {
  const out: number[] = []
  if (!bitvector) return out
  for (let i = 0; i < bitvector.length * 8; i++) if (bitvector[i >> 3] & (1 << (i & 7))) out.push(i)
  return out
}
