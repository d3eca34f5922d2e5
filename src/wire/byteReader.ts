/**
 * Pull-based reader over a libp2p stream source (which yields Uint8Array or Uint8ArrayList pieces). It keeps only the
 * pieces of the item it is working through, reads synchronously from them where it can, and awaits the source only
 * when they run out. Every read takes an AbortSignal that rejects it promptly, even while the source is silent.
 *
 * Returned views may share memory with the pieces the source yielded: treat them as read-only. Reads copy only where
 * they must (a run that spans pieces), so that a relay moving megabytes allocates as little as it can.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { WireError, WireErrorCode } from './errors.js'
import { accumulateVarintByte } from './varint.js'

export type ByteSource = AsyncIterable<Uint8Array | Uint8ArrayList>

const EMPTY = new Uint8Array(0)

export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array | Uint8ArrayList>
  /** The piece being read and the read position in it. */
  private buf: Uint8Array = EMPTY
  private pos = 0
  /** Further pieces already pulled from the source (the rest of a Uint8ArrayList, or peeked data). */
  private queue: Uint8Array[] = []
  private done = false
  /** A source read that an abort left outstanding; the next read awaits it instead of losing its value. */
  private pending: Promise<IteratorResult<Uint8Array | Uint8ArrayList>> | null = null
  private consumed = 0
  /** Captured pieces, and where the capture starts inside `buf`. */
  private captured: Uint8ArrayList | null = null
  private captureStart = 0
  /** Reused by readTransient for runs that span pieces. */
  private scratch: Uint8Array = EMPTY

  constructor(source: ByteSource) {
    this.iterator = source[Symbol.asyncIterator]()
  }

  /**
   * Starts pulling from the source now rather than at the first read. A libp2p v3 stream's iterator that starts
   * after the remote has already closed its end never ends (it waits for events that have fired), which QUIC's
   * fast answers make likely: a requester calls this before awaiting its own half-close.
   */
  start(): this {
    if (!this.done && this.pending === null) {
      this.pending = this.iterator.next()
      this.pending.catch(() => {}) // a failure surfaces at the next read; none may come if the caller gives up
    }
    return this
  }

  /** Bytes consumed since construction (peeked bytes are not consumed). */
  get bytesConsumed(): number {
    return this.consumed
  }

  async readByte(signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal)
    if (this.pos >= this.buf.length && !(await this.advance(signal))) throw eof('byte')
    this.consumed++
    return this.buf[this.pos++]!
  }

  /** Reads exactly `n` bytes; a view into the current piece when it holds them all, else one copy. */
  async readExact(n: number, signal?: AbortSignal): Promise<Uint8Array> {
    return (await this.takeView(n, signal)) ?? this.readInto(new Uint8Array(n), 0, n, signal)
  }

  /**
   * Reads exactly `n` bytes for immediate use: a view into the current piece, or into a scratch buffer this reader
   * reuses, so the result is valid only until the next read. For bodies that are decoded at once (snappy blocks).
   */
  async readTransient(n: number, signal?: AbortSignal): Promise<Uint8Array> {
    const view = await this.takeView(n, signal)
    if (view !== null) return view
    if (this.scratch.length < n) this.scratch = new Uint8Array(n)
    return this.readInto(this.scratch, 0, n, signal)
  }

  /** Reads exactly `n` bytes into `dst` at `offset`; returns the filled part of `dst`. */
  async readInto(dst: Uint8Array, offset: number, n: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal)
    let filled = 0
    while (filled < n) {
      if (this.pos >= this.buf.length && !(await this.advance(signal))) throw eof('bytes', filled, n)
      const take = Math.min(n - filled, this.buf.length - this.pos)
      dst.set(this.buf.subarray(this.pos, this.pos + take), offset + filled)
      this.pos += take
      this.consumed += take
      filled += take
    }
    return dst.subarray(offset, offset + n)
  }

  /** The next `n` bytes as a view when one piece holds them all (consumed), else null (nothing consumed). */
  private async takeView(n: number, signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    throwIfAborted(signal)
    // Move past an exhausted piece first, so a run that starts a piece is a view of it (at EOF readInto reports it).
    if (this.pos >= this.buf.length && n > 0 && !(await this.advance(signal))) return null
    if (this.buf.length - this.pos < n) return null
    const view = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    this.consumed += n
    return view
  }

  /** Consumes `n` bytes without collecting them (padding chunks). */
  async skip(n: number, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal)
    let left = n
    while (left > 0) {
      if (this.pos >= this.buf.length && !(await this.advance(signal))) throw eof('skip', n - left, n)
      const take = Math.min(left, this.buf.length - this.pos)
      this.pos += take
      this.consumed += take
      left -= take
    }
  }

  /** Up to `n` upcoming bytes without consuming them; fewer only at EOF. Pulls from the source as needed. */
  async peek(n: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal)
    let available = this.buf.length - this.pos
    for (const piece of this.queue) available += piece.length
    while (available < n) {
      const added = await this.pull(signal)
      if (added === 0) break
      available += added
    }
    if (this.buf.length - this.pos >= n) return this.buf.subarray(this.pos, this.pos + n)
    const out = new Uint8Array(Math.min(n, available))
    let filled = copyInto(out, 0, this.buf.subarray(this.pos))
    for (let i = 0; filled < out.length; i++) filled = copyInto(out, filled, this.queue[i]!)
    return out
  }

  /** Reads an unsigned LEB128 varint (see varint.ts for the rules). EOF inside it is UNEXPECTED_EOF. */
  async readVarint(signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal)
    let value = 0
    for (let i = 0; ; i++) {
      if (this.pos >= this.buf.length && !(await this.advance(signal))) throw eof('varint', i)
      const byte = this.buf[this.pos++]!
      this.consumed++
      value = accumulateVarintByte(value, i, byte)
      if (byte < 0x80) return value
    }
  }

  /** True at a clean end of stream: no byte is left and the source is finished. */
  async isEnd(signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal)
    return this.pos >= this.buf.length && !(await this.advance(signal))
  }

  /** Starts recording consumed bytes (replacing any capture in progress). */
  startCapture(): void {
    this.captured = new Uint8ArrayList()
    this.captureStart = this.pos
  }

  /**
   * Stops recording and returns exactly the bytes consumed since `startCapture()`, as views of the source's pieces
   * (nothing is copied: forwarding them writes the same memory).
   */
  endCapture(): Uint8ArrayList {
    const parts = this.captured
    if (parts === null) throw new WireError(WireErrorCode.INVALID_ARGUMENT, { reason: 'no capture in progress' })
    this.captured = null
    if (this.pos > this.captureStart) parts.append(this.buf.subarray(this.captureStart, this.pos))
    return parts
  }

  /** Stops recording and drops what was recorded (after a failed read). */
  cancelCapture(): void {
    this.captured = null
  }

  /** Makes the next unread byte available in `buf`; false at EOF. */
  private async advance(signal?: AbortSignal): Promise<boolean> {
    while (this.pos >= this.buf.length) {
      const next = this.queue.shift()
      if (next !== undefined) {
        this.switchTo(next)
        continue
      }
      if ((await this.pull(signal)) === 0) return false
    }
    return true
  }

  private switchTo(piece: Uint8Array): void {
    if (this.captured !== null && this.captureStart < this.buf.length) {
      this.captured.append(this.buf.subarray(this.captureStart))
    }
    this.buf = piece
    this.pos = 0
    this.captureStart = 0
  }

  /** Appends the next non-empty item of the source to `queue`; returns how many bytes it added, 0 at EOF. */
  private async pull(signal?: AbortSignal): Promise<number> {
    while (!this.done) {
      this.pending ??= this.iterator.next()
      let result: IteratorResult<Uint8Array | Uint8ArrayList>
      try {
        result = await raceAbort(this.pending, signal)
      } catch (err) {
        if (err instanceof WireError && err.code === WireErrorCode.ABORTED) throw err
        this.pending = null
        this.done = true
        throw new WireError(WireErrorCode.SOURCE_ERROR, { message: String(err) }, { cause: err })
      }
      this.pending = null
      if (result.done === true) {
        this.done = true
        return 0
      }
      let added = 0
      const value = result.value
      if (value instanceof Uint8Array) {
        if (value.length > 0) this.queue.push(value)
        added = value.length
      } else {
        for (const piece of value) {
          if (piece.length > 0) this.queue.push(piece)
          added += piece.length
        }
      }
      if (added > 0) return added
    }
    return 0
  }
}

function copyInto(out: Uint8Array, offset: number, src: Uint8Array): number {
  const take = Math.min(src.length, out.length - offset)
  out.set(take === src.length ? src : src.subarray(0, take), offset)
  return offset + take
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw aborted()
}

function aborted(): WireError {
  return new WireError(WireErrorCode.ABORTED)
}

function eof(reading: string, got = 0, wanted = -1): WireError {
  return new WireError(WireErrorCode.UNEXPECTED_EOF, wanted < 0 ? { reading, got } : { reading, got, wanted })
}

/** Settles with `promise`, or rejects with ABORTED as soon as `signal` fires; leaves `promise` running. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(aborted())
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted())
    signal.addEventListener('abort', onAbort, { once: true })
    // The rejection handler also keeps a source failure after an abort from surfacing as an unhandled rejection.
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}
