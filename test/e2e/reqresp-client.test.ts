import type { Libp2p, Stream } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../src/chain/networks.js'
import { penaltyForRequestError } from '../../src/peers/penalties.js'
import { PeerAction } from '../../src/reqresp/peerAction.js'
import { CLIENT_DEFAULTS, ReqRespClient } from '../../src/reqresp/client.js'
import { RequestError, RequestErrorCode } from '../../src/reqresp/errors.js'
import { getProtocol, type ProtocolDef } from '../../src/reqresp/protocols.js'
import { ResponseTypes } from '../../src/reqresp/responseTypes.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeErrorChunk, encodeResponseChunk, type ResponseChunk, readRequest } from '../../src/wire/chunks.js'
import { encodeSnappyFrames } from '../../src/wire/snappyFrames.js'
import { encodeVarint } from '../../src/wire/varint.js'
import { RespCode } from '../../src/wire/constants.js'
import { createTestPeer } from '../helpers/peers.js'

// A real requester (ReqRespClient on a libp2p host) against a real responder host whose handlers write raw,
// possibly malformed, bytes. Timeouts are shortened through the client's opts so the failure paths are fast.

const mainnet = loadNetworkPreset('mainnet')
const forkSchedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
const clock = Clock.fromChainConfig(mainnet.config, mainnet.genesisTime)
const responseTypes = new ResponseTypes({ forkSchedule, clock })

const BLOCKS_BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const BLOCKS_BY_ROOT = getProtocol('beacon_blocks_by_root', 2)
const PING = getProtocol('ping', 1)

const SHORT = { dialTimeoutMs: 2_000, ttfbTimeoutMs: 300, respTimeoutMs: 300 }
/** Well above the 300 ms timeouts, well below CLIENT_DEFAULTS (5 s / 10 s): shows the opts were honoured. */
const PROMPT_MS = 3_000

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Holds the event loop: a stall of this process's own, as a long turn or a collection makes one. */
function busyFor(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

const rangeRequest = (count: number) =>
  ssz.phase0.BeaconBlocksByRangeRequest.serialize({ startSlot: 1000, count, step: 1 })

function block(slot: number): Uint8Array {
  const b = ssz.fulu.SignedBeaconBlock.defaultValue()
  b.message.slot = slot
  b.message.proposerIndex = slot % 7
  return ssz.fulu.SignedBeaconBlock.serialize(b)
}

/** A success chunk of a fulu block with the wall-clock digest as context bytes. */
const blockChunk = (slot: number) => encodeResponseChunk(RespCode.Success, block(slot), responseTypes.currentDigest())

/** Resolves once the stream is closed, reset or aborted (the requester gave up or finished). */
function closed(stream: Stream): Promise<void> {
  if (stream.status !== 'open' && stream.status !== 'closing') return Promise.resolve()
  return new Promise((resolve) => stream.addEventListener('close', () => resolve(), { once: true }))
}

interface Outcome {
  chunks: ResponseChunk[]
  error: RequestError
  elapsedMs: number
}

/** Runs a request that must fail; returns the chunks yielded before the failure and the error. */
async function failing(gen: AsyncGenerator<ResponseChunk, void, undefined>): Promise<Outcome> {
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

describe.each([
  ['yamux', 'both', 'tcp'],
  ['mplex', 'mplex', 'tcp'],
  ['QUIC', 'both', 'quic'],
] as const)('ReqRespClient over %s against a misbehaving responder', (_name, muxers, transport) => {
  let responder: Libp2p
  let requester: Libp2p
  let client: ReqRespClient
  /** Streams the responder handled, and how each ended. */
  let served: Array<{ stream: Stream; request: Uint8Array | null; done: Promise<void> }>
  /**
   * @chainsafe/libp2p-quic 2.1.1 turns a reset from the other end into a clean end of the stream (its read loop
   * takes the native error for EOF): over QUIC a responder never sees the requester give up, and a requester sees
   * a responder's reset as a truncated response.
   */
  const resetsAreSeen = transport === 'tcp'
  /** Waits until the responder's i-th stream is released (when the transport lets it tell). */
  const released = async (i: number) => {
    if (resetsAreSeen) await served[i]!.done
  }

  beforeEach(async () => {
    served = []
    responder = (await createTestPeer({ listen: true, transport })) as Libp2p
    requester = (await createTestPeer({ muxers, listen: false, transport })) as Libp2p
    await responder.start()
    await requester.start()
    await requester.dial(responder.getMultiaddrs()[0]!)
    client = new ReqRespClient({ host: requester, responseTypes, metrics: null }, SHORT)
  })

  afterEach(async () => {
    await Promise.all([requester?.stop(), responder?.stop()])
  })

  /** Answers `def` with `script` after reading the request exactly as a well-behaved responder would. */
  async function serve(def: ProtocolDef, script: (stream: Stream) => Promise<void>): Promise<void> {
    await responder.handle(
      def.id,
      async (stream) => {
        const entry = { stream, request: null as Uint8Array | null, done: closed(stream) }
        served.push(entry)
        try {
          if (def.request) entry.request = (await readRequest(new ByteReader(stream), def.request)).slice()
          await script(stream)
        } catch {
          // the requester reset the stream: that is what several tests provoke
        }
      },
      { force: true },
    )
  }

  /** Sends `bytes` and then holds the stream open until the requester gives up. */
  const thenStall = (bytes: Uint8Array) => async (stream: Stream) => {
    if (bytes.length > 0) stream.send(bytes)
    await closed(stream)
  }

  const sendAndClose = (...parts: Uint8Array[]) => {
    return async (stream: Stream) => {
      for (const part of parts) stream.send(part)
      await stream.close()
    }
  }

  const openStreams = (protocol: string) =>
    requester
      .getConnections(responder.peerId)
      .flatMap((c) => c.streams)
      .filter((s) => s.protocol === protocol && s.status === 'open').length

  const byRange = (count: number, maxChunks = count, signal?: AbortSignal) =>
    client.request(responder.peerId, BLOCKS_BY_RANGE, rangeRequest(count), { maxChunks, signal })

  it('yields several blocks_by_range chunks with the wall-clock context bytes, payload and raw bytes', async () => {
    expect(forkSchedule.forkAtEpoch(clock.currentEpoch).name).toBe('fulu')
    const sent = [blockChunk(1000), blockChunk(1001), blockChunk(1002)]
    await serve(BLOCKS_BY_RANGE, async (stream) => {
      stream.send(sent[0]!)
      // the second chunk arrives in two pieces; the reader must reassemble it
      const half = Math.floor(sent[1]!.length / 2)
      stream.send(sent[1]!.subarray(0, half))
      await sleep(50)
      stream.send(sent[1]!.subarray(half))
      stream.send(sent[2]!)
      await stream.close()
    })

    const chunks: ResponseChunk[] = []
    for await (const chunk of byRange(3)) chunks.push(chunk)

    expect(chunks).toHaveLength(3)
    chunks.forEach((chunk, i) => {
      expect(chunk.result).toBe(RespCode.Success)
      expect(hex(chunk.contextBytes!)).toBe(forkSchedule.digestHexAtEpoch(clock.currentEpoch))
      expect(hex(chunk.ssz!)).toBe(hex(block(1000 + i)))
      expect(hex(chunk.raw.subarray())).toBe(hex(sent[i]!))
    })
    expect(ssz.fulu.SignedBeaconBlock.deserialize(chunks[2]!.ssz!).message.slot).toBe(1002)
    // the responder got exactly our request, followed by a half-close (readRequest demands EOF after it)
    expect(served).toHaveLength(1)
    expect(ssz.phase0.BeaconBlocksByRangeRequest.deserialize(served[0]!.request!)).toEqual({
      startSlot: 1000,
      count: 3,
      step: 1,
    })
  })

  it('accepts an empty response (the responder has nothing) as zero chunks', async () => {
    await serve(BLOCKS_BY_RANGE, sendAndClose())
    const chunks: ResponseChunk[] = []
    for await (const chunk of byRange(5)) chunks.push(chunk)
    expect(chunks).toEqual([])
  })

  it('requestOne returns the single Ping chunk; an empty answer is INVALID_RESPONSE', async () => {
    await serve(PING, sendAndClose(encodeResponseChunk(RespCode.Success, ssz.phase0.Ping.serialize(42n))))
    const chunk = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n))
    expect(ssz.phase0.Ping.deserialize(chunk.ssz!)).toBe(42n)
    expect(chunk.contextBytes).toBeUndefined()
    expect(ssz.phase0.Ping.deserialize(served[0]!.request!)).toBe(1n)
    await expect.poll(() => openStreams(PING.id)).toBe(0)

    await serve(PING, sendAndClose())
    const err = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n)).catch((e) => e)
    expect(err).toBeInstanceOf(RequestError)
    expect(err.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(penaltyForRequestError(err)).toBe(PeerAction.LowToleranceError)
  })

  it('TTFB_TIMEOUT when the responder never writes', async () => {
    await serve(BLOCKS_BY_RANGE, thenStall(new Uint8Array(0)))
    const { chunks, error, elapsedMs } = await failing(byRange(2))
    expect(chunks).toEqual([])
    expect(error.code).toBe(RequestErrorCode.TTFB_TIMEOUT)
    expect(error.protocol).toBe(BLOCKS_BY_RANGE.id)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(penaltyForRequestError(error)).toBe(PeerAction.MidToleranceError)
    // the client does not leave the stream open behind it
    await released(0)
  })

  // TCP only: QUIC's native transport reads on a thread of its own and hands the bytes over in a varying number of
  // loop turns, so one turn after a stall does not always reach them there.
  it.runIf(transport === 'tcp')(
    'a chunk sent in time is read, not timed out, when this process stalls past the TTFB before reading it',
    async () => {
      await serve(BLOCKS_BY_RANGE, async (stream) => {
        stream.send(blockChunk(1000))
        // The chunk is on its way; then this process (the requester's loop too) is busy for twice the TTFB. Timers run
        // before the loop reads sockets: unless the client lets the bytes already there in first, it times out.
        setImmediate(() => busyFor(2 * SHORT.ttfbTimeoutMs))
        await stream.close()
      })
      const chunks: ResponseChunk[] = []
      for await (const chunk of byRange(1)) chunks.push(chunk)
      expect(chunks.map((c) => hex(c.ssz!))).toEqual([hex(block(1000))])
    },
  )

  it('RESP_TIMEOUT when the first chunk arrives and the second stalls half-way', async () => {
    const second = blockChunk(1001)
    await serve(
      BLOCKS_BY_RANGE,
      thenStall(Buffer.concat([blockChunk(1000), second.subarray(0, Math.floor(second.length / 2))])),
    )
    const { chunks, error, elapsedMs } = await failing(byRange(2))
    expect(chunks.map((c) => hex(c.ssz!))).toEqual([hex(block(1000))])
    expect(error.code).toBe(RequestErrorCode.RESP_TIMEOUT)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(penaltyForRequestError(error)).toBe(PeerAction.MidToleranceError)
    await released(0)
  })

  it('RESP_TIMEOUT (not TTFB) when only the first byte of the first chunk arrives', async () => {
    await serve(BLOCKS_BY_RANGE, thenStall(blockChunk(1000).subarray(0, 1)))
    const { chunks, error } = await failing(byRange(2))
    expect(chunks).toEqual([])
    expect(error.code).toBe(RequestErrorCode.RESP_TIMEOUT)
    expect(penaltyForRequestError(error)).toBe(PeerAction.MidToleranceError)
  })

  it('ERROR_RESPONSE with the responder’s code and message; ResourceUnavailable costs nothing', async () => {
    await serve(BLOCKS_BY_RANGE, sendAndClose(blockChunk(1000), encodeErrorChunk(3, 'pruned: no blocks before 900')))
    const { chunks, error } = await failing(byRange(4))
    expect(chunks).toHaveLength(1)
    expect(error.code).toBe(RequestErrorCode.ERROR_RESPONSE)
    expect(error.detail.respCode).toBe(RespCode.ResourceUnavailable)
    expect(error.message).toBe(`${BLOCKS_BY_RANGE.id}: ERROR_RESPONSE: code 3: pruned: no blocks before 900`)
    expect(penaltyForRequestError(error)).toBeNull()

    await serve(BLOCKS_BY_RANGE, sendAndClose(encodeErrorChunk(RespCode.ServerError, 'db closed')))
    const server = await failing(byRange(4))
    expect(server.error.detail.respCode).toBe(RespCode.ServerError)
    expect(server.error.message).toContain('code 2: db closed')
    expect(penaltyForRequestError(server.error)).toBe(PeerAction.HighToleranceError)
  })

  it('INVALID_RESPONSE for context bytes of no known fork', async () => {
    const unknown = Uint8Array.of(0xde, 0xad, 0xbe, 0xef)
    expect(forkSchedule.forkForDigest(unknown)).toBeNull()
    await serve(BLOCKS_BY_RANGE, sendAndClose(encodeResponseChunk(RespCode.Success, block(1000), unknown)))
    const { chunks, error } = await failing(byRange(1))
    expect(chunks).toEqual([])
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(error.message).toContain('UNKNOWN_CONTEXT_BYTES')
    expect(error.message).toContain('deadbeef')
    expect(penaltyForRequestError(error)).toBe(PeerAction.LowToleranceError)
  })

  it('INVALID_RESPONSE for a bad CRC in the second chunk, after yielding the first', async () => {
    const bad = blockChunk(1001)
    // result, 4 context bytes, varint(length), 10-byte stream identifier, 4-byte chunk header, then the CRC
    const crcAt = 1 + 4 + encodeVarint(block(1001).length).length + 10 + 4
    bad[crcAt] ^= 0xff
    await serve(BLOCKS_BY_RANGE, sendAndClose(blockChunk(1000), bad))
    const { chunks, error } = await failing(byRange(2))
    expect(chunks).toHaveLength(1)
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(error.message).toContain('BAD_CRC')
    expect(penaltyForRequestError(error)).toBe(PeerAction.LowToleranceError)
  })

  it('INVALID_RESPONSE for a declared length above the type bound, before reading the payload', async () => {
    // Ping is a uint64: 8 bytes exactly. Declare 1000 and send 1000 well-framed bytes.
    const payload = new Uint8Array(1000).fill(7)
    await serve(PING, sendAndClose(Buffer.concat([Uint8Array.of(0), encodeVarint(1000), encodeSnappyFrames(payload)])))
    const error = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n)).catch((e) => e)
    expect(error).toBeInstanceOf(RequestError)
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(error.message).toContain('LENGTH_OUT_OF_BOUNDS')
    expect(penaltyForRequestError(error)).toBe(PeerAction.LowToleranceError)
  })

  it('INVALID_RESPONSE when the stream ends cleanly inside a chunk', async () => {
    const chunk = blockChunk(1000)
    await serve(BLOCKS_BY_RANGE, sendAndClose(chunk.subarray(0, chunk.length - 3)))
    const { error } = await failing(byRange(1))
    expect(error.code).toBe(RequestErrorCode.INVALID_RESPONSE)
    expect(error.message).toContain('UNEXPECTED_EOF')
    expect(penaltyForRequestError(error)).toBe(PeerAction.LowToleranceError)
  })

  it('TOO_MANY_CHUNKS when more chunks than maxChunks arrive', async () => {
    await serve(BLOCKS_BY_RANGE, sendAndClose(blockChunk(1000), blockChunk(1001), blockChunk(1002)))
    const { chunks, error } = await failing(byRange(2, 2))
    expect(chunks.map((c) => hex(c.ssz!))).toEqual([hex(block(1000)), hex(block(1001))])
    expect(error.code).toBe(RequestErrorCode.TOO_MANY_CHUNKS)
    expect(error.message).toContain('more than 2 chunks')
    expect(penaltyForRequestError(error)).toBe(PeerAction.LowToleranceError)
  })

  it('DIAL_FAILED for a protocol the responder does not support', async () => {
    // no handler for blocks_by_root on the responder
    const { chunks, error, elapsedMs } = await failing(
      client.request(responder.peerId, BLOCKS_BY_ROOT, new Uint8Array(32), { maxChunks: 1 }),
    )
    expect(chunks).toEqual([])
    expect(error.code).toBe(RequestErrorCode.DIAL_FAILED)
    expect(error.protocol).toBe(BLOCKS_BY_ROOT.id)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(penaltyForRequestError(error)).toBe(PeerAction.HighToleranceError)
    // the connection itself survives a failed negotiation
    expect(requester.getConnections(responder.peerId)).toHaveLength(1)
  })

  it('STREAM_FAILED (QUIC: INVALID_RESPONSE) when the responder resets the stream mid-response', async () => {
    const second = blockChunk(1001)
    await serve(BLOCKS_BY_RANGE, async (stream) => {
      stream.send(Buffer.concat([blockChunk(1000), second.subarray(0, 100)]))
      await sleep(50)
      stream.abort(new Error('responder gave up'))
    })
    // RESP timeout far away, so only the reset can end the request
    client = new ReqRespClient({ host: requester, responseTypes, metrics: null }, { ...SHORT, respTimeoutMs: 10_000 })
    const { chunks, error, elapsedMs } = await failing(byRange(2))
    expect(chunks).toHaveLength(1)
    expect(error.code).toBe(resetsAreSeen ? RequestErrorCode.STREAM_FAILED : RequestErrorCode.INVALID_RESPONSE)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    if (resetsAreSeen) expect(penaltyForRequestError(error)).toBe(PeerAction.HighToleranceError)
  })

  it('an abort signal from the caller ends a pending request promptly with a RequestError', async () => {
    await serve(BLOCKS_BY_RANGE, thenStall(blockChunk(1000)))
    // timeouts far away (the defaults), so only the caller's abort can end the request
    client = new ReqRespClient({ host: requester, responseTypes, metrics: null }, CLIENT_DEFAULTS)
    const controller = new AbortController()
    const gen = byRange(2, 2, controller.signal)
    const first = await gen.next()
    expect(hex((first.value as ResponseChunk).ssz!)).toBe(hex(block(1000)))
    setTimeout(() => controller.abort(), 100)
    const { error, elapsedMs } = await failing(gen)
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    // no timeout elapsed, so not TTFB/RESP_TIMEOUT: our own abort
    expect(error.code).toBe(RequestErrorCode.ABORTED)
    // and the stream is released
    await released(0)
  })

  it('an abort before the first byte ends the request promptly too', async () => {
    await serve(BLOCKS_BY_RANGE, thenStall(new Uint8Array(0)))
    client = new ReqRespClient({ host: requester, responseTypes, metrics: null }, CLIENT_DEFAULTS)
    const { error, elapsedMs } = await failing(byRange(2, 2, AbortSignal.timeout(100)))
    expect(elapsedMs).toBeLessThan(PROMPT_MS)
    expect(error.code).toBe(RequestErrorCode.ABORTED)
    await released(0)
  })

  it('a caller abort is not charged to the responder', async () => {
    await serve(BLOCKS_BY_RANGE, thenStall(new Uint8Array(0)))
    client = new ReqRespClient({ host: requester, responseTypes, metrics: null }, CLIENT_DEFAULTS)
    const { error } = await failing(byRange(2, 2, AbortSignal.timeout(100)))
    expect(penaltyForRequestError(error)).toBeNull()
  })

  // A responder that sends its one chunk and never closes: the client resets the stream after RESP_TIMEOUT.
  it('requestOne releases the stream when the responder sends its chunk and never closes', async () => {
    await serve(PING, thenStall(encodeResponseChunk(RespCode.Success, ssz.phase0.Ping.serialize(9n))))
    const chunk = await client.requestOne(responder.peerId, PING, ssz.phase0.Ping.serialize(1n))
    expect(ssz.phase0.Ping.deserialize(chunk.ssz!)).toBe(9n)
    // The client has half-closed and read its one chunk; nothing makes it read on or abort, so the stream stays
    // open on both sides until the connection closes.
    await expect.poll(() => openStreams(PING.id), { timeout: 1_000 }).toBe(0)
  })
})
