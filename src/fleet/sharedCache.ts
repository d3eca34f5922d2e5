import type { Uint8ArrayList } from 'uint8arraylist'
import type { WireBytes } from '../wire/chunks.js'
import type { FleetMetrics } from './metrics.js'
import type { RedisLink } from './redisLink.js'

export const SHARED_CACHE_DEFAULTS = {
  /** Redis is never on the critical path for longer: past it the request goes upstream as if Redis were absent. */
  budgetMs: 20,
  /** Finalized history is immutable: other instances may replay it for hours. */
  finalizedTtlMs: 6 * 60 * 60_000,
  /** One mainnet slot, as the local cache: near the head an answer changes with the next block. */
  headTtlMs: 12_000,
  /** 8 MiB: a full 128-block range of mainnet blocks fits; a huge column response is not worth a round trip. */
  maxEntryBytes: 8 * 1_048_576,
}

export type SharedCacheOpts = typeof SHARED_CACHE_DEFAULTS

/** Stored value: magic, fork digest, chunk count, then each chunk as u32 length + its wire bytes. */
const MAGIC = Buffer.from('CTW1')
const HEADER_BYTES = 4 + 4 + 4

export type SharedLookup =
  | { kind: 'hit'; chunks: Uint8Array[] }
  | { kind: 'miss' | 'timeout' | 'unavailable' }
  | { kind: 'invalid'; reason: string }

/**
 * The fleet's second cache tier: complete, verified responses keyed by network + fork digest + the relay's
 * request key (protocol id + canonical request), each with a TTL. Reads are bounded by a small budget; writes are
 * fire-and-forget. What comes back is only bytes: the relay checks them like an upstream's before replaying.
 */
export class SharedCache {
  private readonly opts: SharedCacheOpts

  constructor(
    private readonly modules: { link: RedisLink; metrics: FleetMetrics | null },
    private readonly namespace: string,
    opts: Partial<SharedCacheOpts> = {},
  ) {
    this.opts = { ...SHARED_CACHE_DEFAULTS, ...opts }
  }

  async get(key: string, digest: Uint8Array): Promise<SharedLookup> {
    const result = await this.lookup(key, digest)
    this.modules.metrics?.cacheLookups.inc({ result: result.kind })
    if (result.kind === 'invalid') this.noteInvalid(result.reason)
    return result
  }

  /** A stored entry that failed the relay's checks (or our format): ignored, and counted. */
  noteInvalid(reason: string): void {
    this.modules.metrics?.invalidData.inc({ source: 'cache', reason })
  }

  put(key: string, digest: Uint8Array, chunks: readonly WireBytes[], finalized: boolean): void {
    if (this.modules.link.state !== 'up') return
    const value = encodeEntry(digest, chunks)
    if (value.byteLength > this.opts.maxEntryBytes) return
    const ttl = finalized ? this.opts.finalizedTtlMs : this.opts.headTtlMs
    this.modules.link.commands.set(this.redisKey(key, digest), value, 'PX', ttl).then(
      () => this.modules.metrics?.cacheWrites.inc({ result: 'stored' }),
      () => this.modules.metrics?.cacheWrites.inc({ result: 'failed' }),
    )
  }

  private async lookup(key: string, digest: Uint8Array): Promise<SharedLookup> {
    if (this.modules.link.state !== 'up') return { kind: 'unavailable' }
    let timer: NodeJS.Timeout | undefined
    const budget = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.opts.budgetMs)),
    )
    try {
      const value = await Promise.race([this.modules.link.commands.getBuffer(this.redisKey(key, digest)), budget])
      if (value === 'timeout') return { kind: 'timeout' }
      if (value === null) return { kind: 'miss' }
      return decodeEntry(value, digest)
    } catch {
      return { kind: 'unavailable' }
    } finally {
      clearTimeout(timer)
    }
  }

  private redisKey(key: string, digest: Uint8Array): string {
    return `${this.namespace}:cache:${Buffer.from(digest).toString('hex')}:${key}`
  }
}

export function encodeEntry(digest: Uint8Array, chunks: readonly WireBytes[]): Buffer {
  let size = HEADER_BYTES
  for (const c of chunks) size += 4 + c.byteLength
  const out = Buffer.allocUnsafe(size)
  MAGIC.copy(out, 0)
  out.set(digest.subarray(0, 4), 4)
  out.writeUInt32BE(chunks.length, 8)
  let at = HEADER_BYTES
  for (const chunk of chunks) {
    out.writeUInt32BE(chunk.byteLength, at)
    at += 4
    for (const piece of pieces(chunk)) {
      out.set(piece, at)
      at += piece.byteLength
    }
  }
  return out
}

/** Parses a stored entry; anything that is not exactly our format for this digest is reported, never thrown. */
export function decodeEntry(value: Buffer, digest: Uint8Array): SharedLookup {
  if (value.byteLength < HEADER_BYTES || !value.subarray(0, 4).equals(MAGIC))
    return { kind: 'invalid', reason: 'format' }
  if (!value.subarray(4, 8).equals(digest.subarray(0, 4))) return { kind: 'invalid', reason: 'digest' }
  const count = value.readUInt32BE(8)
  const chunks: Uint8Array[] = []
  let at = HEADER_BYTES
  for (let i = 0; i < count; i++) {
    if (at + 4 > value.byteLength) return { kind: 'invalid', reason: 'format' }
    const length = value.readUInt32BE(at)
    at += 4
    if (length === 0 || at + length > value.byteLength) return { kind: 'invalid', reason: 'format' }
    chunks.push(value.subarray(at, at + length))
    at += length
  }
  if (at !== value.byteLength) return { kind: 'invalid', reason: 'format' }
  return { kind: 'hit', chunks }
}

function pieces(chunk: WireBytes): Iterable<Uint8Array> {
  return chunk instanceof Uint8Array ? [chunk] : (chunk as Uint8ArrayList)
}
