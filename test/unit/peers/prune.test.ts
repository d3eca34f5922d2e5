import { describe, expect, it } from 'vitest'
import { type PruneCandidate, selectPeersToPrune, setBits } from '../../../src/peers/prune.js'

let clock = 0
function peer(id: string, over: Partial<PruneCandidate> = {}): PruneCandidate {
  return {
    peer: id,
    direction: 'inbound',
    score: 0,
    attnets: [],
    syncnets: [],
    isStatic: false,
    connectedAtMs: clock++,
    ...over,
  }
}

const opts = { targetPeers: 3, minOutbound: 0, lowScoreBelow: -2 }
const ids = (d: Array<{ peer: string }>) => d.map((x) => x.peer)

describe('selectPeersToPrune', () => {
  it('prunes nothing at or below the target', () => {
    expect(selectPeersToPrune([peer('a'), peer('b'), peer('c')], opts)).toEqual([])
  })

  it('prunes the lowest score first (below the low-score line), then peers adding no subnet coverage', () => {
    const peers = [
      peer('good1', { attnets: [1] }),
      peer('good2', { attnets: [2] }),
      peer('dup', { attnets: [1] }), // covered by good1
      peer('bad', { score: -10, attnets: [9] }),
      peer('worse', { score: -30, attnets: [10] }),
      peer('slow', { score: -1, attnets: [3] }), // one timeout: not low enough to go first
    ]
    const decisions = selectPeersToPrune(peers, opts)
    expect(decisions).toEqual([
      { peer: 'worse', reason: 'low_score' },
      { peer: 'bad', reason: 'low_score' },
      { peer: 'dup', reason: 'no_subnet_coverage' },
    ])
  })

  it('treats custody columns like subnets: the only custodian of a column stays', () => {
    const peers = [
      peer('a', { columns: [1, 2] }),
      peer('b', { columns: [1, 2] }),
      peer('c', { columns: [3] }),
      peer('d', { columns: [1] }),
    ]
    const decisions = selectPeersToPrune(peers, opts)
    expect(decisions).toHaveLength(1)
    expect(ids(decisions)).not.toContain('c')
    expect(decisions[0].reason).toBe('no_subnet_coverage')
  })

  it('counts coverage against the peers that stay: of two peers on one subnet, one is kept', () => {
    const peers = [
      peer('a', { attnets: [5] }),
      peer('b', { attnets: [5] }),
      peer('c', { syncnets: [1] }),
      peer('d', { syncnets: [1] }),
      peer('e', { attnets: [7] }),
    ]
    const decisions = selectPeersToPrune(peers, opts)
    expect(decisions.map((d) => d.reason)).toEqual(['no_subnet_coverage', 'no_subnet_coverage'])
    const kept = peers.map((p) => p.peer).filter((p) => !ids(decisions).includes(p))
    expect(kept).toContain('e')
    expect(kept.filter((p) => p === 'a' || p === 'b')).toHaveLength(1)
    expect(kept.filter((p) => p === 'c' || p === 'd')).toHaveLength(1)
  })

  it('prunes peers with no subnets before those that only duplicate, and newest first among equals', () => {
    const peers = [peer('old-none'), peer('x', { attnets: [1] }), peer('y', { attnets: [1] }), peer('new-none')]
    expect(selectPeersToPrune(peers, opts)).toEqual([{ peer: 'new-none', reason: 'no_subnet_coverage' }])
  })

  it('gets back to the target even when every peer adds coverage', () => {
    const peers = [1, 2, 3, 4, 5].map((i) => peer(`p${i}`, { attnets: [i] }))
    peers[1].score = -1
    const decisions = selectPeersToPrune(peers, opts)
    expect(decisions).toHaveLength(2)
    expect(decisions[0]).toEqual({ peer: 'p2', reason: 'excess' })
    expect(decisions[1].reason).toBe('excess')
  })

  it('never prunes static peers, whatever their score or subnets', () => {
    const peers = [
      peer('s1', { isStatic: true, score: -40 }),
      peer('s2', { isStatic: true }),
      peer('s3', { isStatic: true }),
      peer('s4', { isStatic: true }),
      peer('a', { attnets: [1] }),
    ]
    expect(selectPeersToPrune(peers, opts)).toEqual([{ peer: 'a', reason: 'excess' }])
    expect(selectPeersToPrune(peers.slice(0, 4), opts)).toEqual([])
  })

  it('keeps the outbound quota: the best outbound peers stay even with no subnets', () => {
    const peers = [
      peer('out1', { direction: 'outbound', score: -5 }),
      peer('out2', { direction: 'outbound' }),
      peer('out3', { direction: 'outbound' }),
      peer('in1', { attnets: [1] }),
      peer('in2', { attnets: [2] }),
      peer('in3', { attnets: [3] }),
    ]
    const decisions = selectPeersToPrune(peers, { ...opts, minOutbound: 2 })
    // out1 goes for its score; out2 and out3 bring nothing but are the last two outbound peers: inbound ones go
    expect(decisions).toEqual([
      { peer: 'out1', reason: 'low_score' },
      { peer: 'in3', reason: 'excess' },
      { peer: 'in2', reason: 'excess' },
    ])
  })

  it('counts static outbound peers towards the outbound quota', () => {
    const peers = [
      peer('static-out', { direction: 'outbound', isStatic: true }),
      peer('out', { direction: 'outbound' }),
      peer('in1', { attnets: [1] }),
      peer('in2', { attnets: [2] }),
    ]
    // quota 1 is met by the static peer, so the non-static outbound peer (no subnets) may go
    expect(selectPeersToPrune(peers, { ...opts, minOutbound: 1 })).toEqual([
      { peer: 'out', reason: 'no_subnet_coverage' },
    ])
    // quota 2: it must stay, an inbound peer goes instead
    expect(selectPeersToPrune(peers, { ...opts, minOutbound: 2 })).toEqual([{ peer: 'in2', reason: 'excess' }])
  })
})

describe('setBits', () => {
  it('reads SSZ bitvectors (bit i in byte i/8, least significant first)', () => {
    expect(setBits(new Uint8Array([0b0000_0101, 0, 0, 0, 0, 0, 0, 0b1000_0000]))).toEqual([0, 2, 63])
    expect(setBits(new Uint8Array([0b1010]))).toEqual([1, 3])
    expect(setBits(undefined)).toEqual([])
  })
})
