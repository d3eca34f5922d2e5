import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { DialQueue } from '../../../src/peers/dialQueue.js'

let ids: PeerId[]
beforeAll(async () => {
  ids = await Promise.all([1, 2, 3, 4].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
})
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

const c = (peerId: PeerId) => ({ peerId, multiaddrs: [multiaddr('/ip4/10.0.0.1/tcp/9000')] })
const queue = (over = {}) =>
  new DialQueue(
    { now: () => Date.now() },
    { maxQueued: 3, maxAgeMs: 60_000, failureBackoffMs: 10_000, maxFailureBackoffMs: 60_000, ...over },
  )

describe('DialQueue', () => {
  it('is first in, first out, one entry per peer, bounded', () => {
    const q = queue()
    expect([ids[0], ids[1], ids[0], ids[2], ids[3]].map((id) => q.push(c(id)))).toEqual([
      true,
      true,
      false,
      true,
      false,
    ])
    expect(q.full).toBe(true)
    expect(q.shift()?.peerId).toBe(ids[0])
    expect(q.has(ids[0].toString())).toBe(false)
    expect(q.shift()?.peerId).toBe(ids[1])
    expect(q.shift()?.peerId).toBe(ids[2])
    expect(q.shift()).toBeNull()
  })

  it('drops candidates that waited longer than maxAgeMs', () => {
    const q = queue()
    q.push(c(ids[0]))
    vi.advanceTimersByTime(30_000)
    q.push(c(ids[1]))
    vi.advanceTimersByTime(30_001)
    expect(q.shift()?.peerId).toBe(ids[1])
    q.push(c(ids[2]))
    vi.advanceTimersByTime(60_001)
    q.prune()
    expect(q.length).toBe(0)
  })

  it('backs a peer off after a failed dial, until failureBackoffMs has passed', () => {
    const q = queue()
    q.markFailed(ids[0].toString())
    expect(q.inBackoff(ids[0].toString())).toBe(true)
    expect(q.inBackoff(ids[1].toString())).toBe(false)
    vi.advanceTimersByTime(9_999)
    expect(q.inBackoff(ids[0].toString())).toBe(true)
    vi.advanceTimersByTime(1)
    expect(q.inBackoff(ids[0].toString())).toBe(false)
  })

  it('doubles the backoff with each failure in a row, up to maxFailureBackoffMs', () => {
    const q = queue()
    const peer = ids[0].toString()
    const backoffs: number[] = []
    for (let i = 0; i < 5; i++) {
      q.markFailed(peer)
      let waited = 0
      while (q.inBackoff(peer)) {
        vi.advanceTimersByTime(1_000)
        waited += 1_000
      }
      backoffs.push(waited)
    }
    expect(backoffs).toEqual([10_000, 20_000, 40_000, 60_000, 60_000])
  })

  it('starts from the first backoff again once the peer held a connection, or failed no more for a while', () => {
    const q = queue()
    const peer = ids[0].toString()
    q.markFailed(peer)
    vi.advanceTimersByTime(10_000)
    q.markFailed(peer) // 20 s
    vi.advanceTimersByTime(20_000)
    q.forgive(peer)
    q.markFailed(peer)
    vi.advanceTimersByTime(9_999)
    expect(q.inBackoff(peer)).toBe(true)
    vi.advanceTimersByTime(1)
    expect(q.inBackoff(peer)).toBe(false)

    q.markFailed(peer) // 20 s, then quiet for maxFailureBackoffMs past its end
    vi.advanceTimersByTime(20_000 + 60_000)
    q.prune()
    q.markFailed(peer)
    vi.advanceTimersByTime(10_000)
    expect(q.inBackoff(peer)).toBe(false)
  })
})
