import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../../src/fleet/reputation.js'
import { decodeEntry, encodeEntry } from '../../../src/fleet/sharedCache.js'
import { Uint8ArrayList } from 'uint8arraylist'

const DIGEST = Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd])
const PEER = '16Uiu2HAmQ8pJHZ8Wk3m3Nh5rLkV3o8jN9sdUR4LW5yJ1ZcBzR5Vd'

describe('shared cache entries', () => {
  it('round-trips chunks, whether they arrive as one buffer or as pieces', () => {
    const chunks = [Uint8Array.from([0, 1, 2, 3]), new Uint8ArrayList(Uint8Array.from([0, 9]), Uint8Array.from([8]))]
    const decoded = decodeEntry(encodeEntry(DIGEST, chunks), DIGEST)
    expect(decoded.kind).toBe('hit')
    const got = (decoded as { chunks: Uint8Array[] }).chunks.map((c) => [...c])
    expect(got).toEqual([
      [0, 1, 2, 3],
      [0, 9, 8],
    ])
  })

  it('refuses what is not exactly our format for this digest', () => {
    const good = encodeEntry(DIGEST, [Uint8Array.from([0, 1, 2])])
    expect(decodeEntry(good, Uint8Array.from([1, 2, 3, 4]))).toEqual({ kind: 'invalid', reason: 'digest' })
    expect(decodeEntry(Buffer.from('not ours at all'), DIGEST)).toEqual({ kind: 'invalid', reason: 'format' })
    expect(decodeEntry(good.subarray(0, good.byteLength - 1), DIGEST)).toEqual({ kind: 'invalid', reason: 'format' })
    expect(decodeEntry(Buffer.concat([good, Buffer.from([0])]), DIGEST)).toEqual({ kind: 'invalid', reason: 'format' })
    const hugeCount = Buffer.from(good)
    hugeCount.writeUInt32BE(1_000_000, 8)
    expect(decodeEntry(hugeCount, DIGEST)).toEqual({ kind: 'invalid', reason: 'format' })
  })
})

describe('reputation events', () => {
  const parse = (e: unknown) => parseEvent(Buffer.from(JSON.stringify(e)))

  it('accepts bans and severe penalties', () => {
    expect(parse({ v: 1, from: 'x', kind: 'ban', peer: PEER, ms: 60_000 })).toMatchObject({ kind: 'ban', ms: 60_000 })
    expect(
      parse({ v: 1, from: 'x', kind: 'penalty', peer: PEER, action: 'fatal', reason: 'relay_item_format' }),
    ).toMatchObject({ kind: 'penalty', action: 'fatal' })
  })

  it('drops anything else: mild penalties, bad peers, bad numbers, other versions, junk', () => {
    for (const bad of [
      { v: 1, from: 'x', kind: 'penalty', peer: PEER, action: 'high_tolerance', reason: 'timeout' },
      { v: 1, from: 'x', kind: 'penalty', peer: PEER, action: 'fatal', reason: 'Spaces and CAPS' },
      { v: 1, from: 'x', kind: 'ban', peer: 'not a peer id!', ms: 1000 },
      { v: 1, from: 'x', kind: 'ban', peer: PEER, ms: -1 },
      { v: 1, from: 'x', kind: 'ban', peer: PEER, ms: 'soon' },
      { v: 2, from: 'x', kind: 'ban', peer: PEER, ms: 1000 },
      { v: 1, kind: 'ban', peer: PEER, ms: 1000 },
      null,
      [],
    ]) {
      expect(parse(bad)).toBeNull()
    }
    expect(parseEvent(Buffer.from('{not json'))).toBeNull()
    expect(parseEvent(Buffer.alloc(2_000, 0x20))).toBeNull()
  })
})
