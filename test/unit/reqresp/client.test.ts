import type { Stream } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { beforeEach, describe, expect, it } from 'vitest'
import { ReqRespClient } from '../../../src/reqresp/client.js'
import { RequestError, RequestErrorCode } from '../../../src/reqresp/errors.js'
import { getProtocol, type ProtocolDef, sszBounds } from '../../../src/reqresp/protocols.js'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { encodeErrorChunk, encodeResponseChunk, readRequest, type ResponseChunk } from '../../../src/wire/chunks.js'
import { RespCode } from '../../../src/wire/constants.js'
import { encodeSnappyFrames } from '../../../src/wire/snappyFrames.js'
import { encodeVarint } from '../../../src/wire/varint.js'
import { blockChunk, blockSsz, hex, responseTypes } from '../helpers/devnetChain.js'
import { closed, type MemoryHost, MemoryNetwork } from '../helpers/memoryHost.js'

// ReqRespClient against a scripted responder over in-memory libp2p streams. Timeouts are shortened through the
// constructor so every failure path settles in well under a second; PROMPT_MS sits far below the defaults.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const PING = getProtocol('ping', 1)
const SHORT = { dialTimeoutMs: 1_000, ttfbTimeoutMs: 100, respTimeoutMs: 100 }
/** Well above the 100 ms timeouts, well below the 5 s / 10 s defaults: shows the short ones applied. */
const PROMPT_MS = 1_500

const rangeSsz = (count: number) => ssz.phase0.BeaconBlocksByRangeRequest.serialize({ startSlot: 10, count, step: 1 })

let requester: MemoryHost
let responder: MemoryHost
let client: ReqRespClient
/** What the responder read for each stream: the request's SSZ (null when it could not read one). */
let requests: Array<Uint8Array | null>

beforeEach(async () => {
  const net = new MemoryNetwork()
  requester = await net.addHost()
  responder = await net.addHost()
  client = new ReqRespClient({ host: requester.libp2p, responseTypes, metrics: null }, SHORT)
  requests = []
})

/** Reads the request as a sound responder would (it must be complete and half-closed), then runs `script`. */
function serve(def: ProtocolDef, script: (stream: Stream) => Promise<void>): void {
  void responder.handle(def.id, async (stream) => {
    try {
      const reader = new ByteReader(stream)
      requests.push(def.request ? (await readRequest(reader, sszBounds(def.request))).slice() : null)
      await script(stream)
    } catch {
      // the requester reset the stream: several tests provoke exactly that
    }
  })
}

const sendAndClose =
  (...parts: Uint8Array[]) =>
  async (stream: Stream) => {
    for (const part of parts) stream.send(part)
    await stream.close()
  }

/** Sends `bytes`, then keeps the stream open until the requester gives up. */
const thenStall = (bytes: Uint8Array) => async (stream: Stream) => {
  if (bytes.length > 0) stream.send(bytes)
  await closed(stream)
}

interface Failure {
  chunks: ResponseChunk[]
  error: RequestError
  elapsedMs: number
}

async function failing(gen: AsyncGenerator<ResponseChunk, void, undefined>): Promise<Failure> {
  const started = Date.now()
  const chunks: ResponseChunk[] = []
  try {
    for await (const chunk of gen) chunks.push(chunk)
  } catch (e) {
    expect(e).toBeInstanceOf(RequestError)
    return { chunks, error: e as RequestError, elapsedMs: Date.now() - started }
  }
  throw new Error(`request succeeded with ${chunks.length} chunks; expected a RequestError`)
}

const byRange = (count: number, opts: { maxChunks?: number; signal?: AbortSignal; ttfbTimeoutMs?: number } = {}) =>
  client.request(responder.peerId, BY_RANGE, rangeSsz(count), { maxChunks: count, ...opts })

/** The responder's end of its i-th stream. */
const servedStream = (i = 0) => responder.served[i]!

describe('ReqRespClient: responses', () => {
  it('yields every chunk with its payload, context bytes and raw wire bytes, having sent the request', async () => {
    const sent = [blockChunk(10), blockChunk(11), blockChunk(12)]
    serve(BY_RANGE, sendAndClose(...sent))
    const chunks: ResponseChunk[] = []
    for await (const chunk of byRange(3)) chunks.push(chunk)

    expect(chunks.map((c) => hex(c.ssz!))).toEqual([10, 11, 12].map((s) => hex(blockSsz(s))))
    expect(chunks.map((c) => hex(c.raw.subarray()))).toEqual(sent.map(hex))
    expect(chunks.every((c) => c.result === RespCode.Success && c.contextBytes?.length === 4)).toBe(true)
    expect(ssz.phase0.BeaconBlocksByRangeRequest.deserialize(requests[0]!)).toEqual({
      startSlot: 10,
      count: 3,
      step: 1,
    })
    expect(requester.dials.map((d) => d.protocol)).toEqual([BY_RANGE.id])
  })

  it('takes an empty response (the responder has nothing) as zero chunks', async () => {
    serve(BY_RANGE, sendAndClose())
    const chunks: ResponseChunk[] = []
    for await (const chunk of byRange(4)) chunks.push(chunk)
    expect(chunks).toEqual([])
  })

  it('requestOne returns the single chunk, and an empty answer is INVALID_RESPONSE', async () => {
    serve(PING, sendAndClose(encodeResponseChunk(RespCode.Success, ssz.phase0.Ping.serialize(42n))))
    const chunk = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n))
    expect(ssz.phase0.Ping.deserialize(chunk.ssz!)).toBe(42n)

    serve(PING, sendAndClose())
    const error = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n)).catch((e) => e)
    expect(error).toBeInstanceOf(RequestError)
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
  })

  it('ERROR_RESPONSE carries the responder’s code and message, after the chunks before it', async () => {
    serve(BY_RANGE, sendAndClose(blockChunk(10), encodeErrorChunk(RespCode.ResourceUnavailable, 'pruned')))
    const { chunks, error } = await failing(byRange(4))
    expect(chunks).toHaveLength(1)
    expect(error.code).toBe(RequestErrorCode.ERROR_RESPONSE)
    expect(error.detail.respCode).toBe(RespCode.ResourceUnavailable)
    expect(error.message).toContain('code 3: pruned')
  })

  it('TOO_MANY_CHUNKS once a chunk past maxChunks arrives, after yielding the allowed ones', async () => {
    serve(BY_RANGE, sendAndClose(blockChunk(10), blockChunk(11), blockChunk(12)))
    const { chunks, error } = await failing(byRange(3, { maxChunks: 2 }))
    expect(chunks).toHaveLength(2)
    expect(error.code).toBe(RequestErrorCode.TOO_MANY_CHUNKS)
  })

  it('INVALID_RESPONSE for context bytes of no known fork', async () => {
    const unknown = Uint8Array.of(0xde, 0xad, 0xbe, 0xef)
    serve(BY_RANGE, sendAndClose(encodeResponseChunk(RespCode.Success, blockSsz(10), unknown)))
    const { chunks, error } = await failing(byRange(1))
    expect(chunks).toEqual([])
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(error.message).toContain('UNKNOWN_CONTEXT_BYTES')
  })

  it('INVALID_RESPONSE for a declared length above the type’s bound', async () => {
    // A Ping payload is exactly 8 bytes: declare and send 1000 well-framed ones.
    const payload = new Uint8Array(1000).fill(7)
    serve(PING, sendAndClose(Buffer.concat([Uint8Array.of(0), encodeVarint(1000), encodeSnappyFrames(payload)])))
    const error = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n)).catch((e) => e)
    expect(error).toBeInstanceOf(RequestError)
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(error.message).toContain('LENGTH_OUT_OF_BOUNDS')
  })

  it('STREAM_FAILED when the responder resets the stream mid-response', async () => {
    const second = blockChunk(11)
    serve(BY_RANGE, async (stream) => {
      stream.send(Buffer.concat([blockChunk(10), second.subarray(0, 50)]))
      stream.abort(new Error('responder gave up'))
    })
    // Only the reset can end it quickly: the per-chunk timeout is far away.
    client = new ReqRespClient(
      { host: requester.libp2p, responseTypes, metrics: null },
      { ...SHORT, respTimeoutMs: 10_000 },
    )
    const { error, elapsedMs } = await failing(byRange(2))
    expect(error.code).toBe(RequestErrorCode.STREAM_FAILED)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
  })
})

describe('ReqRespClient: timeouts', () => {
  it('TTFB_TIMEOUT when the responder never writes, and the stream is reset', async () => {
    serve(BY_RANGE, thenStall(new Uint8Array(0)))
    const { chunks, error, elapsedMs } = await failing(byRange(2))
    expect(chunks).toEqual([])
    expect(error.code).toBe(RequestErrorCode.TTFB_TIMEOUT)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(await closed(servedStream())).toBeInstanceOf(Error) // reset, not left open
  })

  it('a per-request ttfbTimeoutMs overrides the client’s', async () => {
    client = new ReqRespClient({ host: requester.libp2p, responseTypes, metrics: null }) // 5 s TTFB
    serve(BY_RANGE, thenStall(new Uint8Array(0)))
    const { error, elapsedMs } = await failing(byRange(2, { ttfbTimeoutMs: 100 }))
    expect(error.code).toBe(RequestErrorCode.TTFB_TIMEOUT)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
  })

  it('RESP_TIMEOUT when the second chunk stalls half-way', async () => {
    const second = blockChunk(11)
    serve(BY_RANGE, thenStall(Buffer.concat([blockChunk(10), second.subarray(0, second.length >> 1)])))
    const { chunks, error, elapsedMs } = await failing(byRange(2))
    expect(chunks).toHaveLength(1)
    expect(error.code).toBe(RequestErrorCode.RESP_TIMEOUT)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
  })

  it('RESP_TIMEOUT, not TTFB, once the first byte has arrived', async () => {
    serve(BY_RANGE, thenStall(blockChunk(10).subarray(0, 1)))
    const { error } = await failing(byRange(2))
    expect(error.code).toBe(RequestErrorCode.RESP_TIMEOUT)
  })
})

describe('ReqRespClient: dialling and giving up', () => {
  it('DIAL_FAILED when the peer does not speak the protocol', async () => {
    const { error } = await failing(byRange(1))
    expect(error.code).toBe(RequestErrorCode.DIAL_FAILED)
    expect(error.protocol).toBe(BY_RANGE.id)
  })

  it('REQUEST_TIMEOUT when the request cannot be sent (the connection stopped moving), and the stream is reset', async () => {
    serve(BY_RANGE, sendAndClose(blockChunk(10)))
    requester.stalledSends = true
    client = new ReqRespClient(
      { host: requester.libp2p, responseTypes, metrics: null },
      { ...SHORT, requestTimeoutMs: 100 },
    )
    const { error, elapsedMs } = await failing(byRange(1)) // no signal of the caller's: only the client's bound
    expect(error.code).toBe(RequestErrorCode.REQUEST_TIMEOUT)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(requester.dials[0].stream.status).not.toBe('open')
  })

  it('ABORTED when the caller’s signal fires mid-response, and the stream is reset', async () => {
    serve(BY_RANGE, thenStall(blockChunk(10)))
    client = new ReqRespClient({ host: requester.libp2p, responseTypes, metrics: null }) // defaults: only the abort ends it
    const controller = new AbortController()
    const gen = byRange(2, { signal: controller.signal })
    expect((await gen.next()).done).toBe(false)
    controller.abort()
    const { error, elapsedMs } = await failing(gen)
    expect(error.code).toBe(RequestErrorCode.ABORTED)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(await closed(servedStream())).toBeInstanceOf(Error)
  })

  it('ABORTED, not DIAL_FAILED, when the signal has fired before the dial', async () => {
    serve(BY_RANGE, sendAndClose())
    const { error } = await failing(byRange(1, { signal: AbortSignal.abort() }))
    expect(error.code).toBe(RequestErrorCode.ABORTED)
  })

  it('a consumer that stops early lets a responder that ends cleanly close the stream', async () => {
    let finish!: () => void
    const finished = new Promise<void>((resolve) => (finish = resolve))
    serve(BY_RANGE, async (stream) => {
      stream.send(blockChunk(10)) // one chunk of the two allowed, and nothing after it
      await finished // the responder ends only after the consumer has stopped
      await stream.close()
    })
    for await (const _chunk of byRange(2)) break
    finish()
    // Released, not reset: the responder's end closes without an error.
    expect(await closed(servedStream())).toBeUndefined()
    const mine = requester.dials[0]!.stream
    expect(await closed(mine)).toBeUndefined()
    expect(mine.status).toBe('closed')
  })

  it('a consumer that stops early resets a stream whose responder never ends it', async () => {
    serve(BY_RANGE, thenStall(blockChunk(10)))
    for await (const _chunk of byRange(2)) break
    // After the response timeout (100 ms) the client gives up waiting for the end and resets.
    expect(await closed(servedStream())).toBeInstanceOf(Error)
  })

  it('a consumer that stops early resets a stream with more data behind the last chunk it took', async () => {
    serve(BY_RANGE, thenStall(Buffer.concat([blockChunk(10), blockChunk(11)])))
    client = new ReqRespClient({ host: requester.libp2p, responseTypes, metrics: null }) // 10 s response timeout
    const started = Date.now()
    for await (const _chunk of byRange(2)) break
    expect(await closed(servedStream())).toBeInstanceOf(Error)
    expect(Date.now() - started).toBeLessThan(PROMPT_MS) // at once, not after the response timeout
  })

  it('a consumer that aborts and stops early resets the stream at once', async () => {
    serve(BY_RANGE, thenStall(Buffer.concat([blockChunk(10), blockChunk(11)])))
    client = new ReqRespClient({ host: requester.libp2p, responseTypes, metrics: null }) // 10 s response timeout
    const controller = new AbortController()
    const started = Date.now()
    for await (const _chunk of byRange(2, { signal: controller.signal })) {
      controller.abort()
      break
    }
    expect(await closed(servedStream())).toBeInstanceOf(Error)
    expect(Date.now() - started).toBeLessThan(PROMPT_MS)
  })
})
