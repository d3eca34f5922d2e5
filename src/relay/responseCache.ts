import { LRUCache } from 'lru-cache'
import { Uint8ArrayList } from 'uint8arraylist'
import type { WireBytes } from '../wire/chunks.js'

// Remembers complete, validated, successful req/resp responses as their raw wire chunks, so a hit is replayed
// byte-for-byte. Responses and single blocks indexed by root share one LRU and one byte budget.

/** Accounted per entry on top of the chunk and key bytes: map slot, value object, chunk array. */
const ENTRY_OVERHEAD_BYTES = 128
/** Response keys are the caller's; block keys are ours. Distinct prefixes keep the two from colliding. */
const RESPONSE_KEY_PREFIX = 'res:'
const BLOCK_KEY_PREFIX = 'root:'
const COLUMN_KEY_PREFIX = 'col:'

export const RESPONSE_CACHE_DEFAULTS = {
  /** 256 MiB: bounded memory on a small VPS. */
  maxBytes: 268_435_456,
  /** maxBytes / 8: one huge response must not flush the cache. Follows maxBytes when only that is set. */
  maxEntryBytes: 33_554_432,
  /** 1 hour: finalized history is immutable, the limit only keeps cold data from squatting on the budget. */
  finalizedTtlMs: 60 * 60_000,
  /** 12 s, one mainnet slot: near the head an answer may grow with the next block or change with a reorg. */
  headTtlMs: 12_000,
}

export type ResponseCacheOpts = typeof RESPONSE_CACHE_DEFAULTS

export interface ResponseCacheModules {
  /** Milliseconds on a monotonic clock; defaults to performance.now(). Injected by tests to drive TTLs. */
  now?: () => number
}

export interface CachedResponse {
  /** Each element is exactly one encoded response chunk; read-only, the cache keeps serving them. */
  chunks: readonly Uint8ArrayList[]
  /** Sum of the chunks' byte lengths: what replaying this response writes to the wire. */
  bytes: number
}

interface Entry extends CachedResponse {
  /** The distinct buffers the entry's pieces view; each is charged once to the whole cache, however many share it. */
  buffers: readonly ArrayBufferLike[]
}

export interface CacheStats {
  hits: number
  misses: number
  /** Entries dropped for the byte budget or for age; replacements, refusals and clear() are not counted. */
  evictions: number
  /**
   * Accounted bytes of live entries: every distinct buffer their pieces keep alive (once, however many entries
   * share it), plus each entry's key and fixed overhead. Never above maxBytes.
   */
  bytes: number
  entries: number
}

export class ResponseCache {
  private readonly opts: ResponseCacheOpts
  private readonly lru: LRUCache<string, Entry>
  private hits = 0
  private misses = 0
  private evictions = 0
  /** Entries referring to each buffer the cache keeps alive, and the sum of those buffers' sizes. */
  private readonly held = new Map<ArrayBufferLike, number>()
  private heldBytes = 0
  /** The copy made of a small piece, so the by-root index of a range response reuses the range entry's copy. */
  private readonly copies = new WeakMap<Uint8Array, Uint8Array>()

  constructor(modules: ResponseCacheModules = {}, opts: Partial<ResponseCacheOpts> = {}) {
    const maxBytes = opts.maxBytes ?? RESPONSE_CACHE_DEFAULTS.maxBytes
    this.opts = {
      ...RESPONSE_CACHE_DEFAULTS,
      ...opts,
      maxEntryBytes: opts.maxEntryBytes ?? Math.floor(maxBytes / 8),
    }
    validate(this.opts)
    const now = modules.now ?? (() => performance.now())
    this.lru = new LRUCache<string, Entry>({
      // lru-cache sizes the keys and fixed overhead; the buffers, shared between entries, are charged through
      // `held` and store() evicts until both together fit.
      maxSize: this.opts.maxBytes,
      sizeCalculation: (_value, key) => key.length + ENTRY_OVERHEAD_BYTES,
      // lru-cache reads a start time of 0 as "no TTL"; the offset keeps a clock that starts at 0 from
      // making entries immortal. Only differences of this clock are used, so the offset changes nothing else.
      perf: { now: () => now() + 1 },
      // 0: read the clock on every check instead of caching it behind a timer (one timer per ms otherwise,
      // and an injected clock would be ignored for up to 1 ms).
      ttlResolution: 0,
      // No ttlAutopurge: that is a timer per entry. Expired entries go lazily on get, or when stats is read.
      dispose: (value, _key, reason) => {
        if (reason === 'evict' || reason === 'expire') this.evictions++
        for (const buffer of value.buffers) this.release(buffer)
      },
    })
  }

  /** A stored response, counted as a hit or a miss. */
  get(key: string): CachedResponse | undefined {
    const found = this.lru.get(RESPONSE_KEY_PREFIX + key)
    if (found) this.hits++
    else this.misses++
    return found
  }

  /**
   * Stores a complete, validated, successful response (replacing any previous one for the key).
   * An empty response is stored only when finalized: finalized history will never have anything, while near
   * the head "nothing yet" may change with the next block. A response that is not stored (empty near the head,
   * or over maxEntryBytes) also drops the older entry for the key, since this newer answer supersedes it.
   */
  set(key: string, chunks: readonly WireBytes[], opts: { finalized: boolean }): void {
    if (chunks.length === 0 && !opts.finalized) {
      this.lru.delete(RESPONSE_KEY_PREFIX + key)
      return
    }
    this.store(RESPONSE_KEY_PREFIX + key, chunks, opts.finalized)
  }

  /**
   * Index single blocks (from a by-range or by-root response) by block root, so by-root requests can be answered
   * from them. Each chunk is one complete block response chunk, stored under its own key in the shared budget.
   */
  setBlocks(blocks: ReadonlyArray<{ root: Uint8Array; chunk: WireBytes }>, opts: { finalized: boolean }): void {
    for (const { root, chunk } of blocks) this.store(blockKey(root), [chunk], opts.finalized)
  }

  /**
   * Index single data column sidecars by (block root, column), so by-root requests take every sidecar cached
   * from any earlier answer (by range or by root). A sidecar whose memory another entry already keeps costs only
   * its key here.
   */
  setColumns(
    sidecars: ReadonlyArray<{ root: Uint8Array; column: number; chunk: WireBytes }>,
    opts: { finalized: boolean },
  ): void {
    for (const { root, column, chunk } of sidecars) this.store(columnKey(root, column), [chunk], opts.finalized)
  }

  /**
   * The cached sidecar chunk of each (root, column), or undefined for one not cached; a hit when any is found,
   * else a miss.
   */
  getColumns(ids: ReadonlyArray<{ root: Uint8Array; column: number }>): Array<Uint8ArrayList | undefined> {
    const found = ids.map(({ root, column }) => this.lru.get(columnKey(root, column))?.chunks[0])
    if (found.some((c) => c !== undefined)) this.hits++
    else this.misses++
    return found
  }

  /** Drops an indexed block (one that turned out not to have the root it was filed under). */
  deleteBlock(root: Uint8Array): void {
    this.lru.delete(blockKey(root))
  }

  /**
   * The chunks for these roots in the requested order, only when EVERY root is present (else undefined, counted
   * as a miss): a partial answer is valid on the wire, but worse than what an upstream may hold.
   */
  getBlocksByRoot(roots: readonly Uint8Array[]): CachedResponse | undefined {
    // An empty request is the caller's to answer or reject; answering it from here would hide that choice.
    if (roots.length === 0) {
      this.misses++
      return undefined
    }
    const chunks: Uint8ArrayList[] = []
    let bytes = 0
    for (const root of roots) {
      const found = this.lru.get(blockKey(root))
      if (!found) {
        this.misses++
        return undefined
      }
      chunks.push(...found.chunks)
      bytes += found.bytes
    }
    this.hits++
    return { chunks, bytes }
  }

  /** Largest response the cache stores: callers stop collecting a response beyond it. */
  get maxEntryBytes(): number {
    return this.opts.maxEntryBytes
  }

  /**
   * Read by metrics at scrape time. Expired entries are dropped first (one pass over the entries), so bytes and
   * entries count only live content and the expiries show in evictions.
   */
  get stats(): CacheStats {
    this.lru.purgeStale()
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      bytes: this.heldBytes + this.lru.calculatedSize,
      entries: this.lru.size,
    }
  }

  /** Drops all content. The counters keep counting: metrics export them as monotonic totals. */
  clear(): void {
    this.lru.clear()
  }

  private store(key: string, chunks: readonly WireBytes[], finalized: boolean): void {
    const kept = this.keepPieces(chunks)
    let retained = key.length + ENTRY_OVERHEAD_BYTES
    for (const buffer of kept.buffers) retained += buffer.byteLength
    if (retained > this.opts.maxEntryBytes) {
      this.lru.delete(key)
      return
    }
    for (const buffer of kept.buffers) this.held.set(buffer, (this.held.get(buffer) ?? 0) + 1)
    for (const buffer of kept.buffers) if (this.held.get(buffer) === 1) this.heldBytes += buffer.byteLength
    const ttl = finalized ? this.opts.finalizedTtlMs : this.opts.headTtlMs
    this.lru.set(key, kept, { ttl }) // disposes (releases) an older entry under the key
    // The new entry is the most recently used, so older ones go first; it fits alone (maxEntryBytes ≤ maxBytes).
    while (this.heldBytes + this.lru.calculatedSize > this.opts.maxBytes && this.lru.size > 1) this.lru.pop()
  }

  private release(buffer: ArrayBufferLike): void {
    const refs = this.held.get(buffer)! - 1
    if (refs > 0) {
      this.held.set(buffer, refs)
    } else {
      this.held.delete(buffer)
      this.heldBytes -= buffer.byteLength
    }
  }

  /**
   * The chunks' pieces as an entry keeps them. Pieces are views of the buffers the stream delivered (consecutive
   * chunks of a relayed response share them, and the by-root index views the same pieces as its range response).
   * A buffer the cache already keeps is viewed again at no cost; a new buffer the pieces use at least half of is
   * kept whole; the pieces of one they use less are copied into buffers of their own, so a few bytes never pin a
   * large socket or pool buffer. The caller hands the chunks over and must not change their memory afterwards.
   */
  private keepPieces(chunks: readonly WireBytes[]): Entry {
    const pieces = chunks.map((chunk) => (chunk instanceof Uint8Array ? [chunk] : [...chunk]))
    const used = new Map<ArrayBufferLike, number>()
    for (const list of pieces) for (const p of list) used.set(p.buffer, (used.get(p.buffer) ?? 0) + p.byteLength)
    const buffers = new Set<ArrayBufferLike>()
    let bytes = 0
    const owned = pieces.map((list) => {
      const out = new Uint8ArrayList()
      for (const piece of list) {
        bytes += piece.byteLength
        let kept = piece
        if (!this.held.has(piece.buffer) && used.get(piece.buffer)! * 2 < piece.buffer.byteLength) {
          const copy = this.copies.get(piece)
          if (copy && this.held.has(copy.buffer)) {
            kept = copy
          } else {
            // A real copy whatever the piece's type: Buffer#slice would be a view of the same memory.
            kept = new Uint8Array(piece)
            this.copies.set(piece, kept)
          }
        }
        buffers.add(kept.buffer)
        out.append(kept)
      }
      return out
    })
    return { chunks: Object.freeze(owned), bytes, buffers: [...buffers] }
  }
}

function blockKey(root: Uint8Array): string {
  return BLOCK_KEY_PREFIX + Buffer.from(root.buffer, root.byteOffset, root.byteLength).toString('hex')
}

function columnKey(root: Uint8Array, column: number): string {
  return `${COLUMN_KEY_PREFIX}${Buffer.from(root.buffer, root.byteOffset, root.byteLength).toString('hex')}:${column}`
}

function validate(opts: ResponseCacheOpts): void {
  for (const [name, value] of Object.entries(opts)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`response cache: ${name} must be a positive integer, got ${value}`)
    }
  }
  if (opts.maxEntryBytes > opts.maxBytes) {
    throw new RangeError(
      `response cache: maxEntryBytes (${opts.maxEntryBytes}) must not exceed maxBytes (${opts.maxBytes})`,
    )
  }
}
