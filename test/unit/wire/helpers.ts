import { Uint8ArrayList } from 'uint8arraylist'
import { expect } from 'vitest'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { WireError, type WireErrorCode } from '../../../src/wire/errors.js'

/** Hex (optionally 0x-prefixed, whitespace allowed) to bytes. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/^0x/, '').replace(/\s+/g, '')
  return new Uint8Array(Buffer.from(clean, 'hex'))
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** A decoded chunk with its raw bytes in one piece, for comparing with toEqual. */
export function flatRaw<T extends { raw: Uint8ArrayList }>(
  chunk: T | null,
): (Omit<T, 'raw'> & { raw: Uint8Array }) | null {
  return chunk === null ? null : { ...chunk, raw: chunk.raw.subarray() }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

export interface TestSource extends AsyncIterable<Uint8Array | Uint8ArrayList> {
  /** How many items the consumer has asked for so far. */
  readonly pulls: number
}

/** A source yielding `pieces` in order, then ending (or hanging forever with `hang`). */
export function sourceOf(pieces: (Uint8Array | Uint8ArrayList)[], opts: { hang?: boolean } = {}): TestSource {
  let pulls = 0
  return {
    get pulls() {
      return pulls
    },
    async *[Symbol.asyncIterator]() {
      for (const piece of pieces) {
        pulls++
        yield piece
      }
      pulls++
      if (opts.hang === true) await new Promise<never>(() => {})
    },
  }
}

/** Splits `bytes` into pieces of `size` bytes (the last may be shorter). */
export function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

export function readerOf(bytes: Uint8Array, pieceSize = bytes.length || 1): ByteReader {
  return new ByteReader(sourceOf(split(bytes, pieceSize)))
}

/** Asserts that `promise` rejects with a WireError of `code` and returns it. */
export async function expectWireError(promise: Promise<unknown>, code: WireErrorCode): Promise<WireError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected WireError ${code}, but it resolved`)
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(WireError)
  expect((err as WireError).code).toBe(code)
  return err as WireError
}

/** Deterministic incompressible bytes (xorshift32). */
export function randomBytes(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** Compressible bytes: repeated text with a counter, like SSZ with many similar fields. */
export function compressibleBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i % 64 < 40 ? 0 : (i >>> 6) & 0xff) ^ (i % 7 === 0 ? 0x5a : 0)
  return out
}

export { Uint8ArrayList }
