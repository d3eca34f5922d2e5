import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { beforeAll, describe, expect, it } from 'vitest'
import { type CandidateFacts, candidateVerdict, type DialCandidate } from '../../../src/peers/candidates.js'

let ids: PeerId[]
beforeAll(async () => {
  ids = await Promise.all([1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
})

const tcp = multiaddr('/ip4/10.0.0.1/tcp/9000')
const candidate = (peerId: PeerId, addr = tcp): DialCandidate => ({ peerId, multiaddrs: [addr] })

/** Facts where everything is fine; each test spoils one. */
function facts(over: Partial<CandidateFacts> = {}): CandidateFacts {
  return {
    selfId: ids[1].toString(),
    isConnected: () => false,
    isStatic: () => false,
    refusal: () => null,
    scoreState: () => 'healthy',
    inDialBackoff: () => false,
    isQueued: () => false,
    queueFull: () => false,
    ...over,
  }
}

describe('candidateVerdict', () => {
  it('queues a fresh, healthy peer with a TCP address', () => {
    expect(candidateVerdict(candidate(ids[0]), facts())).toBe('queued')
  })

  it('says why a candidate is not dialled', () => {
    const c = candidate(ids[0])
    expect(candidateVerdict(candidate(ids[1]), facts())).toBe('self')
    expect(candidateVerdict(candidate(ids[0], multiaddr('/ip4/10.0.0.1/udp/9000')), facts())).toBe(
      'no_dialable_address',
    )
    expect(candidateVerdict(c, facts({ isStatic: () => true }))).toBe('static')
    expect(candidateVerdict(c, facts({ isConnected: () => true }))).toBe('connected')
    expect(candidateVerdict(c, facts({ refusal: () => 'ban' }))).toBe('banned')
    expect(candidateVerdict(c, facts({ refusal: () => 'cool_down' }))).toBe('cooling_down')
    expect(candidateVerdict(c, facts({ scoreState: () => 'disconnect' }))).toBe('bad_score')
    expect(candidateVerdict(c, facts({ inDialBackoff: () => true }))).toBe('dial_backoff')
    expect(candidateVerdict(c, facts({ isQueued: () => true }))).toBe('already_queued')
    expect(candidateVerdict(c, facts({ queueFull: () => true }))).toBe('queue_full')
  })

  it('asks about the candidate’s own peer id', () => {
    const seen: string[] = []
    candidateVerdict(
      candidate(ids[0]),
      facts({
        refusal: (p) => {
          seen.push(p)
          return null
        },
      }),
    )
    expect(seen).toEqual([ids[0].toString()])
  })
})
