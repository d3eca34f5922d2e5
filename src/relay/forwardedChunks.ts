import type { ResponseChunk, WireBytes } from '../wire/chunks.js'
import type { CheckedItem } from './chunkValidator.js'

/**
 * What an answer has forwarded, from one upstream or from several in turn (each going on after the last), and what of
 * it is kept for the cache while it fits one entry.
 */
export class ForwardedChunks {
  count = 0
  cacheable = true
  /** The item of the last chunk forwarded. */
  last: CheckedItem | null = null
  /** The roots of the blocks forwarded, as computed by the checks (compared only when an answer goes on). */
  readonly blockRoots: Uint8Array[] = []
  readonly chunks: ResponseChunk[] = []
  readonly items: CheckedItem[] = []
  private bytes = 0

  constructor(
    private readonly maxCacheBytes: number,
    private readonly onForward: (bytes: number) => void,
  ) {}

  /** Counts and keeps a chunk about to be forwarded; returns its bytes. */
  add(chunk: ResponseChunk, checked: CheckedItem): WireBytes {
    this.count++
    this.last = checked
    if (checked.blockRoot) this.blockRoots.push(checked.blockRoot)
    this.onForward(chunk.raw.byteLength)
    this.bytes += chunk.raw.byteLength
    // Too big to cache: stop holding it (a column response can reach hundreds of MB). Unverified: never cached.
    if (this.bytes > this.maxCacheBytes || checked.unverified) this.dropFromCache()
    if (this.cacheable) {
      this.chunks.push(chunk)
      this.items.push(checked)
    }
    return chunk.raw
  }

  dropFromCache(): void {
    this.cacheable = false
    this.chunks.length = this.items.length = 0
  }
}
