import type { PeerId, Stream } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ResponseError } from '../../../src/reqresp/errors.js'
import { createReqRespMetrics, type ReqRespMetrics } from '../../../src/reqresp/metrics.js'
import { PeerAction, type PeerPenalties } from '../../../src/reqresp/peerAction.js'
import { getProtocol, type ProtocolDef } from '../../../src/reqresp/protocols.js'
import {
  type InboundRequest,
  type RequestHandler,
  ReqRespServer,
  SERVER_DEFAULTS,
} from '../../../src/reqresp/server.js'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { encodeRequest, encodeSszSnappy, readResponseChunks, type ResponseChunk } from '../../../src/wire/chunks.js'
import { RespCode } from '../../../src/wire/constants.js'
import { encodeVarint } from '../../../src/wire/varint.js'
import { blockChunk, blockSsz, hex, responseTypes } from '../helpers/devnetChain.js'
import { closed, type MemoryHost, MemoryNetwork, newPeerId } from '../helpers/memoryHost.js'

// ReqRespServer on an in-memory host: each test plays a requester on the other end of a stream pair, writing raw
// request bytes and reading the response chunks back with the real codec.

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const BY_ROOT = getProtocol('beacon_blocks_by_root', 2)
const METADATA = getProtocol('metadata', 3)

const rangeSsz = (startSlot: number, count: number) =>
  ssz.phase0.BeaconBlocksByRangeRequest.serialize({ startSlot, count, step: 1 })

interface Penalty {
  peer: string
  action: PeerAction
  reason: string
}

let host: MemoryHost
let requesterId: PeerId
let penalties: Penalty[]
let metrics: ReqRespMetrics
let server: ReqRespServer | undefined
/** Requests the handlers were called with. */
let calls: InboundRequest[]

beforeEach(async () => {
  host = await new MemoryNetwork().addHost()
  requesterId = await newPeerId()
  penalties = []
  metrics = createReqRespMetrics(new Registry())
  calls = []
})
afterEach(async () => {
  await server?.stop()
  server = undefined
})

const scores: PeerPenalties = { apply: (peer, action, reason) => penalties.push({ peer, action, reason }) }

async function startServer(
  handlers: Array<[ProtocolDef, RequestHandler]>,
  opts: Partial<typeof SERVER_DEFAULTS> = {},
): Promise<ReqRespServer> {
  const recorded = handlers.map(([def, handler]): [ProtocolDef, RequestHandler] => [
    def,
    (req) => {
      calls.push(req)
      return handler(req)
    },
  ])
  server = new ReqRespServer(
    { host: host.libp2p, scores, metrics, logger: pino({ level: 'silent' }) },
    new Map(recorded),
    opts,
  )
  await server.start()
  return server
}

/** Blocks of the requested range, as a sound handler would stream them. */
const blocksHandler: RequestHandler = async function* (req) {
  const { startSlot, count } = req.request as { startSlot: number; count: number }
  for (let slot = startSlot; slot < startSlot + count; slot++) yield blockChunk(slot)
}

/** Sends raw `bytes` on a new stream for `def` (half-closing unless told not to) and reads the whole response. */
async function ask(
  def: ProtocolDef,
  bytes: Uint8Array,
  opts: { close?: boolean; from?: PeerId } = {},
): Promise<{ stream: Stream; chunks: Promise<ResponseChunk[]> }> {
  const stream = await host.open(def.id, opts.from ?? requesterId)
  const reader = new ByteReader(stream).start() // listening before the half-close, as the client does
  if (bytes.length > 0) stream.send(bytes)
  if (opts.close !== false) await stream.close()
  const chunks = (async () => {
    const out: ResponseChunk[] = []
    const read = readResponseChunks(reader, {
      contextBytes: def.contextBytes,
      boundsFor: responseTypes.boundsFor(def),
    })
    for await (const chunk of read) out.push(chunk)
    return out
  })()
  chunks.catch(() => {}) // a test that resets or times out the stream need not read it; one that awaits still sees it
  return { stream, chunks }
}

/** The inbound-request counter's results for `def`, e.g. { success: 1 }. */
async function outcomes(def: ProtocolDef): Promise<Record<string, number>> {
  const { values } = await metrics.inboundRequests.get()
  const out: Record<string, number> = {}
  for (const v of values) if (v.labels.protocol === `${def.name}/${def.version}`) out[String(v.labels.result)] = v.value
  return out
}

/** Resolves once the counter has counted a request for `def`: the server is done with the stream. */
async function served(def: ProtocolDef, n = 1): Promise<Record<string, number>> {
  await expect.poll(async () => Object.values(await outcomes(def)).reduce((a, b) => a + b, 0)).toBe(n)
  return outcomes(def)
}

describe('ReqRespServer: registration', () => {
  it('registers each handler’s protocol with the inbound stream limit, and unregisters on stop', async () => {
    const s = await startServer(
      [
        [BY_RANGE, blocksHandler],
        [METADATA, blocksHandler],
      ],
      { maxInboundStreamsPerProtocol: 3 },
    )
    expect([...host.handlers.keys()]).toEqual([BY_RANGE.id, METADATA.id])
    expect(host.handlers.get(BY_RANGE.id)!.options).toEqual({ maxInboundStreams: 3 })
    await s.stop()
    expect(host.handlers.size).toBe(0)
  })
})

describe('ReqRespServer: serving', () => {
  it('hands the decoded request to the handler and streams its chunks, then closes', async () => {
    await startServer([[BY_RANGE, blocksHandler]])
    const { chunks } = await ask(BY_RANGE, encodeRequest(rangeSsz(20, 3)))
    const got = await chunks
    expect(got.map((c) => c.result)).toEqual([RespCode.Success, RespCode.Success, RespCode.Success])
    expect(got.map((c) => hex(c.ssz!))).toEqual([20, 21, 22].map((s) => hex(blockSsz(s))))
    expect(calls).toHaveLength(1)
    expect(calls[0]!.request).toEqual({ startSlot: 20, count: 3, step: 1 })
    expect(hex(calls[0]!.requestSsz!)).toBe(hex(rangeSsz(20, 3)))
    expect(calls[0]!.peerId.toString()).toBe(requesterId.toString())
    expect(calls[0]!.protocol).toBe(BY_RANGE)
    expect(await served(BY_RANGE)).toEqual({ success: 1 })
    expect(penalties).toEqual([])
  })

  it('serves an empty-request protocol once the requester half-closes without sending anything', async () => {
    await startServer([[METADATA, async function* () {}]])
    const { chunks } = await ask(METADATA, new Uint8Array(0))
    expect(await chunks).toEqual([])
    expect(calls.at(-1)!.request).toBeNull()
    expect(calls.at(-1)!.requestSsz).toBeNull()
  })

  it('answers a handler’s ResponseError with its code and message, without a penalty', async () => {
    await startServer([
      [
        BY_RANGE,
        async function* () {
          yield blockChunk(20)
          throw new ResponseError(RespCode.ResourceUnavailable, 'no upstream')
        },
      ],
    ])
    const { chunks } = await ask(BY_RANGE, encodeRequest(rangeSsz(20, 2)))
    const got = await chunks
    expect(got.map((c) => c.result)).toEqual([RespCode.Success, RespCode.ResourceUnavailable])
    expect(got[1]!.errorMessage).toBe('no upstream')
    expect(await served(BY_RANGE)).toEqual({ resource_unavailable: 1 })
    expect(penalties).toEqual([])
  })

  it('answers any other handler failure with ServerError and a fixed message', async () => {
    await startServer([
      [
        BY_RANGE,
        // eslint-disable-next-line require-yield
        async function* () {
          throw new Error('database on fire')
        },
      ],
    ])
    const got = await (await ask(BY_RANGE, encodeRequest(rangeSsz(20, 1)))).chunks
    expect(got.map((c) => [c.result, c.errorMessage])).toEqual([[RespCode.ServerError, 'internal error']])
    expect(await served(BY_RANGE)).toEqual({ server_error: 1 })
  })

  it('lets timers and other peers’ I/O run while it writes a long answer whose chunks are ready at once', async () => {
    // Each chunk costs 2 ms of CPU (as checking a received block does) and is ready without waiting: without the
    // server handing the loop back between chunks, the whole answer runs as one turn and no timer fires in it.
    const CHUNKS = 40
    let ticks = 0
    let ticksWhileAnswering = 0
    const ticker = setInterval(() => ticks++, 1)
    try {
      await startServer([
        [
          BY_RANGE,
          async function* () {
            const before = ticks
            for (let slot = 0; slot < CHUNKS; slot++) {
              const until = performance.now() + 2
              while (performance.now() < until);
              yield blockChunk(slot)
            }
            ticksWhileAnswering = ticks - before
          },
        ],
      ])
      const got = await (await ask(BY_RANGE, encodeRequest(rangeSsz(0, CHUNKS)))).chunks
      expect(got.map((c) => c.result)).toEqual(Array(CHUNKS).fill(RespCode.Success))
    } finally {
      clearInterval(ticker)
    }
    // ~80 ms of work in slices of LOOP_SLICE_MS: a timer turn between most of them (a loaded machine gives fewer).
    expect(ticksWhileAnswering).toBeGreaterThanOrEqual(4)
  })
})

describe('ReqRespServer: invalid requests', () => {
  async function expectInvalid(def: ProtocolDef, bytes: Uint8Array, reason: string): Promise<void> {
    const got = await (await ask(def, bytes)).chunks
    expect(got).toHaveLength(1)
    expect(got[0]!.result).toBe(RespCode.InvalidRequest)
    expect(got[0]!.errorMessage).toBe(`invalid request: ${reason}`)
    expect(calls).toEqual([]) // the handler never sees it
    expect(penalties).toEqual([
      { peer: requesterId.toString(), action: PeerAction.LowToleranceError, reason: `invalid_request_${reason}` },
    ])
    expect(await served(def)).toEqual({ invalid_request: 1 })
  }

  it('refuses bytes that are not ssz_snappy framing', async () => {
    await startServer([[BY_RANGE, blocksHandler]])
    // A valid length prefix (24), then a snappy stream identifier with its last letter wrong.
    const identifier = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x58)
    await expectInvalid(BY_RANGE, Buffer.concat([encodeVarint(24), identifier]), 'BAD_STREAM_IDENTIFIER')
  })

  it('refuses a declared length outside the request type’s bounds, before reading the payload', async () => {
    await startServer([[BY_RANGE, blocksHandler]])
    await expectInvalid(BY_RANGE, encodeVarint(25), 'LENGTH_OUT_OF_BOUNDS')
  })

  it('refuses a payload of the right size range that does not decode', async () => {
    await startServer([[BY_ROOT, blocksHandler]])
    // BlocksByRoot is a list of 32-byte roots: 33 bytes is within the list's bounds but no whole number of roots.
    await expectInvalid(BY_ROOT, encodeSszSnappy(new Uint8Array(33)), 'ssz_decode')
  })

  it('refuses bytes after the request', async () => {
    await startServer([[BY_RANGE, blocksHandler]])
    const bytes = Buffer.concat([encodeRequest(rangeSsz(1, 1)), Uint8Array.of(0)])
    await expectInvalid(BY_RANGE, bytes, 'TRAILING_BYTES')
  })

  it('refuses any byte on an empty-request protocol', async () => {
    await startServer([[METADATA, blocksHandler]])
    await expectInvalid(METADATA, Uint8Array.of(0), 'TRAILING_BYTES')
  })
})

/** Sends one chunk, then holds the stream open until the request's signal aborts. */
const hanging: RequestHandler = async function* (req) {
  yield blockChunk(1)
  await new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason)))
}

describe('ReqRespServer: time and going away', () => {
  it('resets a request that does not arrive in time and charges the requester a little', async () => {
    await startServer([[BY_RANGE, blocksHandler]], { requestTimeoutMs: 50 })
    const { stream } = await ask(BY_RANGE, encodeRequest(rangeSsz(1, 1)), { close: false }) // never half-closed
    expect(await closed(stream)).toBeInstanceOf(Error)
    expect(await served(BY_RANGE)).toEqual({ timeout: 1 })
    expect(penalties).toEqual([
      { peer: requesterId.toString(), action: PeerAction.HighToleranceError, reason: 'request_timeout' },
    ])
    expect(calls).toEqual([])
  })

  /** Yields one block, then waits for its signal and fails with its reason, as a relayed upstream call does. */
  it('aborts the handler’s signal when the requester resets the stream', async () => {
    await startServer([[BY_RANGE, hanging]])
    const { stream } = await ask(BY_RANGE, encodeRequest(rangeSsz(1, 2)))
    await expect.poll(() => calls.length).toBe(1)
    stream.abort(new Error('requester gone'))
    await expect.poll(() => calls[0]!.signal.aborted).toBe(true)
    expect(await served(BY_RANGE)).toEqual({ aborted: 1 })
    expect(penalties).toEqual([])
  })

  it('aborts every in-flight handler on stop', async () => {
    await startServer([[BY_RANGE, hanging]])
    const { stream, chunks } = await ask(BY_RANGE, encodeRequest(rangeSsz(1, 2)))
    const read = chunks.then(
      () => null,
      (e: unknown) => e,
    )
    await expect.poll(() => calls.length).toBe(1)
    await server!.stop()
    expect(calls[0]!.signal.aborted).toBe(true)
    expect(await closed(stream)).toBeInstanceOf(Error)
    expect(await read).toBeInstanceOf(Error) // reset: the requester cannot take it for a complete response
    expect(await served(BY_RANGE)).toEqual({ aborted: 1 })
  })
})

describe('ReqRespServer: concurrent requests per peer and protocol', () => {
  /** Handlers that hold their response until the test opens the gate. */
  let openGate: () => void
  let gate: Promise<void>
  beforeEach(() => {
    gate = new Promise((resolve) => (openGate = resolve))
  })
  const gated: RequestHandler = async function* () {
    await gate
    yield blockChunk(7)
  }
  const results = async (pending: Promise<ResponseChunk[]>) => (await pending).map((c) => [c.result, c.errorMessage])

  it('refuses a requester’s third open request of a protocol at once, serving its others and other peers', async () => {
    expect(SERVER_DEFAULTS.maxConcurrentPerPeer).toBe(2) // consensus-specs MAX_CONCURRENT_REQUESTS
    await startServer([
      [BY_RANGE, gated],
      [
        METADATA,
        // eslint-disable-next-line require-yield
        async function* () {
          await gate
        },
      ],
    ])
    const first = await ask(BY_RANGE, encodeRequest(rangeSsz(1, 1)))
    const second = await ask(BY_RANGE, encodeRequest(rangeSsz(2, 1)))
    await expect.poll(() => calls.length).toBe(2)
    const third = await ask(BY_RANGE, encodeRequest(rangeSsz(3, 1)))
    // Answered before the gate opens: the excess waits for nothing and never reaches the handler.
    expect(await results(third.chunks)).toEqual([[RespCode.RateLimited, 'rate limited: too many concurrent requests']])
    expect(await served(BY_RANGE)).toEqual({ too_many_concurrent: 1 })
    // Another protocol of the same peer, and the same protocol of another peer, have counts of their own.
    const other = await ask(BY_RANGE, encodeRequest(rangeSsz(4, 1)), { from: await newPeerId() })
    const metadata = await ask(METADATA, new Uint8Array(0))
    await expect.poll(() => calls.length).toBe(4)
    expect(calls.map((c) => `${c.protocol.name} ${c.peerId.equals(requesterId) ? 'same' : 'other'}`).sort()).toEqual([
      'beacon_blocks_by_range other',
      'beacon_blocks_by_range same',
      'beacon_blocks_by_range same',
      'metadata same',
    ])

    openGate()
    for (const r of [first, second, other]) expect(await results(r.chunks)).toEqual([[RespCode.Success, undefined]])
    expect(await metadata.chunks).toEqual([])
    // The ended responses gave their places back.
    const again = await ask(BY_RANGE, encodeRequest(rangeSsz(5, 1)))
    expect(await results(again.chunks)).toEqual([[RespCode.Success, undefined]])
    expect(await served(BY_RANGE, 5)).toEqual({ too_many_concurrent: 1, success: 4 })
    expect(penalties).toEqual([])
  })

  it('gives the place back when a response fails or its requester leaves', async () => {
    await startServer([
      [
        BY_RANGE,
        async function* (req) {
          const { startSlot } = req.request as { startSlot: number }
          if (startSlot === 1) throw new ResponseError(RespCode.ResourceUnavailable, 'no upstream')
          yield* hanging(req)
        },
      ],
    ])
    expect(await results((await ask(BY_RANGE, encodeRequest(rangeSsz(1, 1)))).chunks)).toEqual([
      [RespCode.ResourceUnavailable, 'no upstream'],
    ])
    const held = await ask(BY_RANGE, encodeRequest(rangeSsz(2, 1)))
    const left = await ask(BY_RANGE, encodeRequest(rangeSsz(3, 1)))
    await expect.poll(() => calls.length).toBe(3)
    left.stream.abort(new Error('requester gone'))
    await expect.poll(() => calls[2]!.signal.aborted).toBe(true)
    // One place is held (slot 2), the failed and the abandoned ones are free again: one more is taken on.
    await ask(BY_RANGE, encodeRequest(rangeSsz(4, 1)))
    await expect.poll(() => calls.length).toBe(4)
    const refused = await ask(BY_RANGE, encodeRequest(rangeSsz(5, 1)))
    expect(await results(refused.chunks)).toEqual([
      [RespCode.RateLimited, 'rate limited: too many concurrent requests'],
    ])
    held.stream.abort(new Error('done'))
  })
})
