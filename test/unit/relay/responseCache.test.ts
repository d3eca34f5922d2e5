import { describe, expect, it } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  type CachedResponse,
  RESPONSE_CACHE_DEFAULTS,
  ResponseCache,
  type ResponseCacheOpts,
} from '../../../src/relay/responseCache.js'

const HEAD = { finalized: false }
const FINAL = { finalized: true }

/** A cache on a hand-driven clock that starts at 0 (lru-cache reads a start of 0 as "no TTL"). */
function cache(opts: Partial<ResponseCacheOpts> = {}): { c: ResponseCache; advance: (ms: number) => void } {
  let now = 0
  return { c: new ResponseCache({ now: () => now }, opts), advance: (ms) => (now += ms) }
}

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill)
}

/** A response's chunks, each in one piece, for comparing bytes. */
function flat(hit: CachedResponse | undefined): Uint8Array[] | undefined {
  return hit?.chunks.map((chunk) => chunk.subarray())
}

function root(n: number): Uint8Array {
  return bytes(32, n)
}

// Four 1000-byte entries do not fit in 3500 bytes, three do (each also carries its key and a fixed overhead).
const SMALL = { maxBytes: 3500, maxEntryBytes: 3500 }

describe('ResponseCache', () => {
  it('documents its defaults', () => {
    expect(RESPONSE_CACHE_DEFAULTS).toEqual({
      maxBytes: 268_435_456,
      maxEntryBytes: 268_435_456 / 8,
      finalizedTtlMs: 3_600_000,
      headTtlMs: 12_000,
    })
  })

  it('replays exactly the stored chunks, boundaries included', () => {
    const { c } = cache()
    const chunks = [Uint8Array.of(0, 4, 1, 2, 3, 4), Uint8Array.of(0, 2, 9, 8)]
    c.set('/eth2/x:00ff', chunks, FINAL)
    const hit = c.get('/eth2/x:00ff')
    expect(flat(hit)).toEqual([Uint8Array.of(0, 4, 1, 2, 3, 4), Uint8Array.of(0, 2, 9, 8)])
    expect(hit?.bytes).toBe(10)
  })

  it('counts hits and misses', () => {
    const { c } = cache()
    expect(c.get('k')).toBeUndefined()
    c.set('k', [bytes(10, 1)], FINAL)
    expect(c.get('k')).toBeDefined()
    expect(c.get('k')).toBeDefined()
    expect(c.get('other')).toBeUndefined()
    expect(c.stats).toMatchObject({ hits: 2, misses: 2, entries: 1 })
  })

  it('replaces an entry set again under the same key', () => {
    const { c } = cache()
    c.set('k', [bytes(100, 1)], FINAL)
    c.set('k', [bytes(10, 2), bytes(10, 3)], FINAL)
    expect(flat(c.get('k'))).toEqual([bytes(10, 2), bytes(10, 3)])
    const { c: fresh } = cache()
    fresh.set('k', [bytes(10, 2), bytes(10, 3)], FINAL)
    expect(c.stats).toMatchObject({ entries: 1, bytes: fresh.stats.bytes, evictions: 0 })
  })

  it('evicts the least recently used entry to stay within the byte budget, and counts it', () => {
    const { c } = cache(SMALL)
    for (const key of ['a', 'b', 'c']) c.set(key, [bytes(1000, 1)], FINAL)
    expect(c.stats).toMatchObject({ entries: 3, evictions: 0 })
    c.get('a') // now 'b' is the least recently used
    c.set('d', [bytes(1000, 2)], FINAL)
    expect(c.get('b')).toBeUndefined()
    for (const key of ['a', 'c', 'd']) expect(c.get(key)).toBeDefined()
    expect(c.stats).toMatchObject({ entries: 3, evictions: 1 })
    expect(c.stats.bytes).toBeLessThanOrEqual(SMALL.maxBytes)
  })

  it('never holds more than maxBytes, whatever the mix of sizes', () => {
    const { c } = cache(SMALL)
    for (let i = 0; i < 200; i++) {
      c.set(`k${i}`, [bytes((i * 37) % 1500, 1), bytes((i * 11) % 400, 2)], FINAL)
      expect(c.stats.bytes).toBeLessThanOrEqual(SMALL.maxBytes)
    }
    expect(c.stats.entries).toBeGreaterThan(1)
    expect(c.stats.evictions).toBeGreaterThan(0)
  })

  it('refuses an entry over maxEntryBytes without flushing the others, and drops the older entry for its key', () => {
    const { c } = cache({ maxBytes: 8000 }) // maxEntryBytes follows: 1000
    c.set('small', [bytes(500, 1)], FINAL)
    c.set('big', [bytes(400, 1)], FINAL)
    c.set('big', [bytes(1000, 2)], FINAL)
    expect(c.get('big')).toBeUndefined()
    expect(c.get('small')).toBeDefined()
    expect(c.stats).toMatchObject({ entries: 1, evictions: 0 })
  })

  it('expires head entries after headTtlMs while finalized ones live for finalizedTtlMs', () => {
    const { c, advance } = cache({ headTtlMs: 12_000, finalizedTtlMs: 60_000 })
    c.set('head', [bytes(10, 1)], HEAD)
    c.set('final', [bytes(10, 2)], FINAL)
    advance(11_999)
    expect(c.get('head')).toBeDefined()
    advance(2)
    expect(c.get('head')).toBeUndefined()
    expect(c.get('final')).toBeDefined()
    expect(c.stats.evictions).toBe(1)
    advance(48_000)
    expect(c.get('final')).toBeUndefined()
    expect(c.stats).toMatchObject({ evictions: 2, entries: 0, bytes: 0 })
  })

  it('drops expired entries when stats are read, so bytes and entries count live content only', () => {
    const { c, advance } = cache()
    c.set('head', [bytes(100, 1)], HEAD)
    c.set('final', [bytes(100, 2)], FINAL)
    const before = c.stats.bytes
    advance(RESPONSE_CACHE_DEFAULTS.headTtlMs + 1)
    const after = c.stats
    expect(after).toMatchObject({ entries: 1, evictions: 1, hits: 0, misses: 0 })
    expect(after.bytes).toBeLessThan(before)
    expect(after.bytes).toBeGreaterThan(0)
  })

  it('caches an empty response only when finalized', () => {
    const { c } = cache()
    c.set('empty-head', [], HEAD)
    expect(c.get('empty-head')).toBeUndefined()
    c.set('empty-final', [], FINAL)
    expect(c.get('empty-final')).toMatchObject({ chunks: [], bytes: 0 })
  })

  it('drops the older entry when a head response comes back empty', () => {
    const { c } = cache()
    c.set('k', [bytes(10, 1)], HEAD)
    c.set('k', [], HEAD)
    expect(c.get('k')).toBeUndefined()
    expect(c.stats.entries).toBe(0)
  })

  it('copies a piece that uses under half of its buffer, keeps larger ones as views and charges their buffers', () => {
    const { c } = cache()
    const big = new Uint8Array(4096).fill(7)
    const mostly = new Uint8Array(1000).fill(8)
    c.set('k', [big.subarray(100, 110), new Uint8ArrayList(big.subarray(0, 20), mostly.subarray(0, 600))], FINAL)
    const [mid, pair] = c.get('k')!.chunks
    expect(mid!.subarray()).toEqual(bytes(10, 7))
    expect([...mid!][0]!.buffer.byteLength).toBe(10)
    const [start, view] = [...pair!]
    expect(start).toEqual(bytes(20, 7))
    expect(start!.buffer.byteLength).toBe(20)
    expect(view!.buffer).toBe(mostly.buffer)
    expect(c.get('k')!.bytes).toBe(630)
    // Charged for what it keeps alive: both copies and the whole 1000-byte buffer the view pins.
    expect(c.stats.bytes).toBe(10 + 20 + 1000 + 'res:k'.length + 128)
  })

  it('keeps a buffer the entry uses at least half of as views even when no single chunk does', () => {
    const { c } = cache()
    // As a relayed response: consecutive chunks share the stream's buffers.
    const shared = new Uint8Array(1000).fill(5)
    c.set('k', [shared.subarray(0, 400), new Uint8ArrayList(shared.subarray(400, 800), bytes(10, 6))], FINAL)
    const [first, second] = c.get('k')!.chunks
    expect([...first!][0]!.buffer).toBe(shared.buffer)
    expect([...second!][0]!.buffer).toBe(shared.buffer)
    expect(c.get('k')!.bytes).toBe(810)
    // The shared buffer is charged once, whole; the small piece owns its buffer.
    expect(c.stats.bytes).toBe(1000 + 10 + 'res:k'.length + 128)
  })

  it('copies small Buffer pieces for real: a Buffer slice would be a view of the same memory', () => {
    const { c } = cache()
    const socket = Buffer.alloc(65_536, 3)
    c.set('k', [socket.subarray(0, 1000)], FINAL)
    const [piece] = [...c.get('k')!.chunks[0]!]
    expect(piece!.buffer).not.toBe(socket.buffer)
    expect(piece!.buffer.byteLength).toBe(1000)
    socket.fill(4) // the stream reusing its buffer must not change what the cache replays
    expect(piece).toEqual(bytes(1000, 3))
  })

  it('keeps alive no more distinct memory than maxBytes, whatever views it is given', () => {
    const maxBytes = 1_048_576
    const { c } = cache({ maxBytes, maxEntryBytes: maxBytes / 2 })
    const responses: string[] = []
    const roots: Uint8Array[] = []
    let rootN = 0
    for (let round = 0; round < 40; round++) {
      // 1000-byte Buffer views into 64 KiB buffers, each its own entry, as in the reported defect.
      const socket = Buffer.allocUnsafeSlow(65_536).fill(round)
      for (let i = 0; i < 20; i++) {
        responses.push(`small-${round}-${i}`)
        c.set(`small-${round}-${i}`, [socket.subarray(i * 1000, (i + 1) * 1000)], FINAL)
      }
      // A range response whose chunks cut across the stream's 64 KiB buffers, then its blocks indexed by root.
      const stream = new Uint8ArrayList(...[0, 1, 2].map((n) => Buffer.alloc(65_536, round + n)))
      const chunks = [0, 1, 2, 3, 4].map((i) => stream.sublist(i * 39_000, (i + 1) * 39_000))
      responses.push(`range-${round}`)
      c.set(`range-${round}`, chunks, FINAL)
      const before = c.stats.bytes
      const blocks = chunks.map((chunk) => ({ root: root(rootN++ % 256).map((b, j) => (j === 0 ? round : b)), chunk }))
      roots.push(...blocks.map((b) => b.root))
      c.setBlocks(blocks, FINAL)
      if (round === 0) {
        // Nothing evicted yet: the index views the range entry's memory and is charged only its keys.
        expect(c.stats.bytes - before).toBe(blocks.length * ('root:'.length + 64 + 128))
      }
    }
    const live = new Set<ArrayBufferLike>()
    const hits = [...responses.map((k) => c.get(k)), ...roots.map((r) => c.getBlocksByRoot([r]))]
    for (const hit of hits) for (const chunk of hit?.chunks ?? []) for (const p of chunk) live.add(p.buffer)
    const kept = [...live].reduce((sum, b) => sum + b.byteLength, 0)
    expect(hits.filter(Boolean).length).toBeGreaterThan(10)
    // Margin 0 for buffer memory: every distinct buffer is charged whole, once. The fixed per-entry overhead
    // (key + 128 bytes for the objects around it) is what the margin stated in the docs covers.
    expect(kept).toBeLessThanOrEqual(maxBytes)
    expect(kept).toBeLessThanOrEqual(c.stats.bytes)
  })

  it('answers by-root from indexed blocks in the requested order, only when every root is present', () => {
    const { c } = cache()
    c.setBlocks(
      [1, 2, 3].map((n) => ({ root: root(n), chunk: bytes(20 + n, n) })),
      FINAL,
    )
    const hit = c.getBlocksByRoot([root(3), root(1), root(2)])
    expect(flat(hit)).toEqual([bytes(23, 3), bytes(21, 1), bytes(22, 2)])
    expect(hit?.bytes).toBe(66)
    expect(c.getBlocksByRoot([root(1), root(4)])).toBeUndefined()
    expect(c.getBlocksByRoot([])).toBeUndefined()
    expect(c.stats).toMatchObject({ hits: 1, misses: 2, entries: 3 })
  })

  it('keeps indexed blocks apart from responses whose key looks like a block key', () => {
    const { c } = cache()
    c.setBlocks([{ root: root(1), chunk: bytes(10, 1) }], FINAL)
    expect(c.get(`root:${Buffer.from(root(1)).toString('hex')}`)).toBeUndefined()
    c.set(`root:${Buffer.from(root(2)).toString('hex')}`, [bytes(10, 2)], FINAL)
    expect(c.getBlocksByRoot([root(2)])).toBeUndefined()
  })

  it('expires indexed head blocks like head responses', () => {
    const { c, advance } = cache()
    c.setBlocks([{ root: root(1), chunk: bytes(10, 1) }], HEAD)
    c.setBlocks([{ root: root(2), chunk: bytes(10, 2) }], FINAL)
    advance(RESPONSE_CACHE_DEFAULTS.headTtlMs + 1)
    expect(c.getBlocksByRoot([root(1)])).toBeUndefined()
    expect(c.getBlocksByRoot([root(2)])).toBeDefined()
  })

  it('shares one byte budget between responses and indexed blocks', () => {
    const { c } = cache(SMALL) // two responses and one block fit, two of each do not
    c.set('a', [bytes(1000, 1)], FINAL)
    c.set('b', [bytes(1000, 1)], FINAL)
    c.setBlocks(
      [1, 2].map((n) => ({ root: root(n), chunk: bytes(900, n) })),
      FINAL,
    )
    expect(c.get('a')).toBeUndefined() // the oldest response made room for the second block
    expect(c.getBlocksByRoot([root(1), root(2)])).toBeDefined()
    expect(c.get('b')).toBeDefined() // now block 1 is the least recently used
    c.set('c', [bytes(1000, 3)], FINAL)
    expect(c.getBlocksByRoot([root(1)])).toBeUndefined() // a response made room by evicting a block
    expect(c.getBlocksByRoot([root(2)])).toBeDefined()
    expect(c.stats).toMatchObject({ entries: 3, evictions: 2 })
    expect(c.stats.bytes).toBeLessThanOrEqual(SMALL.maxBytes)
  })

  it('indexes sidecars per (block root, column): each found on its own, a hit when any is found', () => {
    const { c } = cache()
    c.setColumns(
      [
        { root: root(1), column: 5, chunk: bytes(30, 15) },
        { root: root(1), column: 9, chunk: bytes(30, 19) },
        { root: root(2), column: 5, chunk: bytes(30, 25) },
      ],
      FINAL,
    )
    const found = c.getColumns([
      { root: root(2), column: 5 },
      { root: root(1), column: 7 },
      { root: root(1), column: 9 },
      { root: root(3), column: 5 },
    ])
    expect(found.map((chunk) => chunk?.subarray())).toEqual([bytes(30, 25), undefined, bytes(30, 19), undefined])
    expect(c.getColumns([{ root: root(2), column: 9 }])).toEqual([undefined])
    expect(c.stats).toMatchObject({ hits: 1, misses: 1, entries: 3 })
  })

  it('keeps indexed sidecars apart from indexed blocks and responses of the same root', () => {
    const { c } = cache()
    c.setBlocks([{ root: root(1), chunk: bytes(10, 1) }], FINAL)
    c.set(`col:${Buffer.from(root(1)).toString('hex')}:0`, [bytes(10, 2)], FINAL)
    expect(c.getColumns([{ root: root(1), column: 0 }])).toEqual([undefined])
    c.setColumns(
      [{ root: root(1), column: 0 }].map((id) => ({ ...id, chunk: bytes(10, 3) })),
      FINAL,
    )
    expect(flat(c.getBlocksByRoot([root(1)]))).toEqual([bytes(10, 1)])
    expect(c.getColumns([{ root: root(1), column: 0 }])[0]?.subarray()).toEqual(bytes(10, 3))
  })

  it('charges a sidecar stored under a column response and under its (root, column) once', () => {
    const { c } = cache()
    // As a relayed by-range answer: two sidecars in small pieces of one large stream buffer, so both are copied.
    const stream = new Uint8Array(8192)
    const sidecars = [stream.subarray(0, 300).fill(1), stream.subarray(300, 600).fill(2)]
    c.set('column-range', sidecars, FINAL)
    const alone = c.stats.bytes
    c.setColumns(
      sidecars.map((chunk, i) => ({ root: root(i), column: 4, chunk })),
      FINAL,
    )
    const colKey = `col:${Buffer.from(root(0)).toString('hex')}:4`
    // Only the two new keys and their fixed overhead: the sidecars' memory is the range entry's copies.
    expect(c.stats.bytes).toBe(alone + 2 * (colKey.length + 128))
    expect(c.getColumns([{ root: root(1), column: 4 }])[0]?.subarray()).toEqual(bytes(300, 2))
    // The range entry gone, the index still holds (and is charged for) the sidecars.
    c.set('column-range', [], { finalized: false })
    expect(c.stats.bytes).toBe(600 + 2 * (colKey.length + 128))
    expect(c.getColumns([{ root: root(0), column: 4 }])[0]?.subarray()).toEqual(bytes(300, 1))
  })

  it('expires indexed head sidecars like head responses', () => {
    const { c, advance } = cache()
    c.setColumns([{ root: root(1), column: 0, chunk: bytes(10, 1) }], HEAD)
    c.setColumns([{ root: root(2), column: 0, chunk: bytes(10, 2) }], FINAL)
    advance(RESPONSE_CACHE_DEFAULTS.headTtlMs + 1)
    expect(
      c.getColumns([
        { root: root(1), column: 0 },
        { root: root(2), column: 0 },
      ])[0],
    ).toBeUndefined()
    expect(c.getColumns([{ root: root(2), column: 0 }])[0]).toBeDefined()
  })

  it('clear() drops all content but keeps the running counters', () => {
    const { c } = cache()
    c.set('k', [bytes(10, 1)], FINAL)
    c.setBlocks([{ root: root(1), chunk: bytes(10, 1) }], FINAL)
    c.get('k')
    c.clear()
    expect(c.stats).toMatchObject({ entries: 0, bytes: 0, evictions: 0, hits: 1 })
    expect(c.get('k')).toBeUndefined()
    expect(c.getBlocksByRoot([root(1)])).toBeUndefined()
  })

  it('rejects options that cannot work', () => {
    expect(() => new ResponseCache({}, { maxBytes: 1000, maxEntryBytes: 2000 })).toThrow(/maxEntryBytes/)
    expect(() => new ResponseCache({}, { headTtlMs: 0 })).toThrow(/headTtlMs/)
    expect(() => new ResponseCache({}, { maxBytes: 1.5 })).toThrow(/maxBytes/)
  })
})
