import { describe, expect, it } from 'vitest'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { WireError, WireErrorCode } from '../../../src/wire/errors.js'
import { expectWireError, fromHex, readerOf, sourceOf, toHex, Uint8ArrayList } from './helpers.js'

/** A source that never yields: the shape of a silent peer. */
function silentSource(): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }),
  }
}

describe('ByteReader', () => {
  it('reads bytes, exact runs and varints across piece boundaries', async () => {
    const reader = new ByteReader(sourceOf([fromHex('01'), fromHex('0203'), fromHex('04ac'), fromHex('02ff')]))
    expect(await reader.readByte()).toBe(1)
    expect(toHex(await reader.readExact(3))).toBe('020304')
    expect(await reader.readVarint()).toBe(300)
    expect(await reader.isEnd()).toBe(false)
    expect(await reader.readByte()).toBe(0xff)
    expect(await reader.isEnd()).toBe(true)
    expect(reader.bytesConsumed).toBe(7)
  })

  it('returns a view, not a copy, when the current piece holds the bytes', async () => {
    const piece = fromHex('0001020304050607')
    const reader = new ByteReader(sourceOf([piece]))
    await reader.readByte()
    const view = await reader.readExact(4)
    expect(view.buffer).toBe(piece.buffer)
    expect(toHex(view)).toBe('01020304')
  })

  it('reads into a caller buffer across pieces, and transient runs into one reused scratch buffer', async () => {
    const reader = new ByteReader(sourceOf([fromHex('0102'), fromHex('0304'), fromHex('0506'), fromHex('0708090a')]))
    const dst = new Uint8Array(6)
    const filled = await reader.readInto(dst, 1, 3)
    expect(filled.buffer).toBe(dst.buffer)
    expect(toHex(dst)).toBe('000102030000')
    const spanning = await reader.readTransient(3) // 04 | 05 06: copied into scratch
    expect(toHex(spanning)).toBe('040506')
    const again = await reader.readTransient(2) // 07 08: a view of the last piece
    expect(toHex(again)).toBe('0708')
    expect(again.buffer).not.toBe(spanning.buffer)
    const reader2 = new ByteReader(sourceOf([fromHex('01'), fromHex('02'), fromHex('03'), fromHex('04')]))
    const first = await reader2.readTransient(2)
    const second = await reader2.readTransient(2)
    expect(second.buffer).toBe(first.buffer) // the scratch is reused: the first result is no longer valid
    expect(toHex(second)).toBe('0304')
  })

  it('accepts Uint8ArrayList items and skips empty pieces', async () => {
    const list = new Uint8ArrayList(fromHex('0a0b'), new Uint8Array(0), fromHex('0c'))
    const reader = new ByteReader(sourceOf([new Uint8Array(0), list, new Uint8ArrayList(), fromHex('0d')]))
    expect(toHex(await reader.readExact(4))).toBe('0a0b0c0d')
    expect(await reader.isEnd()).toBe(true)
  })

  it('reports EOF inside a read as UNEXPECTED_EOF and a clean end via isEnd', async () => {
    expect(await readerOf(new Uint8Array(0)).isEnd()).toBe(true)
    await expectWireError(readerOf(new Uint8Array(0)).readByte(), WireErrorCode.UNEXPECTED_EOF)
    const err = await expectWireError(readerOf(fromHex('0102'), 1).readExact(3), WireErrorCode.UNEXPECTED_EOF)
    expect(err.detail).toMatchObject({ got: 2, wanted: 3 })
    await expectWireError(readerOf(fromHex('01')).skip(2), WireErrorCode.UNEXPECTED_EOF)
  })

  it('pulls from the source only when it needs more bytes', async () => {
    const source = sourceOf([fromHex('05'), fromHex('aabbccdd'), fromHex('ee')])
    const reader = new ByteReader(source)
    expect(await reader.readVarint()).toBe(5)
    expect(source.pulls).toBe(1)
    await reader.readExact(2)
    expect(source.pulls).toBe(2)
  })

  it('peeks without consuming, across pieces and at EOF', async () => {
    const reader = new ByteReader(sourceOf([fromHex('0102'), fromHex('03'), fromHex('0405')]))
    expect(toHex(await reader.peek(4))).toBe('01020304')
    expect(reader.bytesConsumed).toBe(0)
    expect(toHex(await reader.readExact(3))).toBe('010203')
    expect(toHex(await reader.peek(10))).toBe('0405')
    expect(toHex(await reader.readExact(2))).toBe('0405')
    expect(await reader.peek(1)).toHaveLength(0)
  })

  it('captures exactly the consumed bytes between startCapture and endCapture', async () => {
    const pieces = [fromHex('aa01'), fromHex('0203'), fromHex('04'), fromHex('0506bb')]
    const reader = new ByteReader(sourceOf(pieces))
    await reader.readByte()
    reader.startCapture()
    await reader.readExact(3)
    await reader.skip(2)
    await reader.readVarint()
    const raw = reader.endCapture()
    expect(toHex(raw.subarray())).toBe('010203040506')
    // Views of the source's pieces, not a copy.
    expect([...raw].map((p) => p.buffer)).toEqual(pieces.map((p) => p.buffer))
    expect(await reader.readByte()).toBe(0xbb)
  })

  it('returns a capture inside one piece as a view, and restarts a capture on startCapture', async () => {
    const piece = fromHex('0102030405')
    const reader = new ByteReader(sourceOf([piece]))
    reader.startCapture()
    await reader.readByte()
    reader.startCapture()
    await reader.readExact(2)
    const raw = reader.endCapture()
    expect(toHex(raw.subarray())).toBe('0203')
    expect([...raw]).toHaveLength(1)
    expect([...raw][0]!.buffer).toBe(piece.buffer)
    expect(() => reader.endCapture()).toThrow(WireError)
  })

  it('rejects a read waiting on a never-yielding source as soon as the signal fires', async () => {
    const reader = new ByteReader(silentSource())
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 20)
    await expectWireError(reader.readByte(controller.signal), WireErrorCode.ABORTED)
    expect(Date.now() - started).toBeLessThan(1000)
    const later = new AbortController()
    setTimeout(() => later.abort(), 5)
    await expectWireError(reader.isEnd(later.signal), WireErrorCode.ABORTED)
  })

  it('rejects at once when the signal has already fired, even with data buffered', async () => {
    const reader = readerOf(fromHex('0102'))
    await expectWireError(reader.readExact(1, AbortSignal.abort()), WireErrorCode.ABORTED)
    expect(await reader.readByte()).toBe(1)
  })

  it('keeps a source item that arrives after an aborted read for the next read', async () => {
    let deliver!: (v: IteratorResult<Uint8Array>) => void
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Uint8Array>>((resolve) => (deliver = resolve)),
      }),
    }
    const reader = new ByteReader(source)
    const controller = new AbortController()
    const read = reader.readByte(controller.signal)
    controller.abort()
    await expectWireError(read, WireErrorCode.ABORTED)
    deliver({ done: false, value: fromHex('2a') })
    expect(await reader.readByte()).toBe(0x2a)
  })

  it('a source read abandoned by an abort that later fails is not an unhandled rejection', async () => {
    let fail!: (err: Error) => void
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Uint8Array>>((_resolve, reject) => (fail = reject)),
      }),
    }
    const reader = new ByteReader(source)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      await expectWireError(reader.readByte(AbortSignal.timeout(5)), WireErrorCode.ABORTED)
      fail(new Error('reset after abort'))
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
      await expectWireError(reader.readByte(), WireErrorCode.SOURCE_ERROR)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('wraps a failing source as SOURCE_ERROR with the cause', async () => {
    const boom = new Error('stream reset')
    const source: AsyncIterable<Uint8Array> = {
      async *[Symbol.asyncIterator]() {
        yield fromHex('01')
        throw boom
      },
    }
    const reader = new ByteReader(source)
    expect(await reader.readByte()).toBe(1)
    const err = await expectWireError(reader.readByte(), WireErrorCode.SOURCE_ERROR)
    expect(err.cause).toBe(boom)
  })
})
