import { deadlineSignal } from '../deadline.js'
import { loopTurnSpent, nextLoopTurn } from '../loopTurn.js'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from '../logger.js'
import { type TransportName, transportOf } from '../network/transport.js'
import { PeerAction, type PeerPenalties } from './peerAction.js'
import { ByteReader } from '../wire/byteReader.js'
import { encodeErrorChunk, readRequest, type WireBytes } from '../wire/chunks.js'
import { isWireError, WireError, WireErrorCode } from '../wire/errors.js'
import { RespCode } from '../wire/constants.js'
import { MAX_CONCURRENT_REQUESTS, REQUEST_TIMEOUT_MS } from '../spec/reqresp.js'
import { ResponseError } from './errors.js'
import type { ReqRespMetrics } from './metrics.js'
import { type ProtocolDef, sszBounds } from './protocols.js'

export interface InboundRequest {
  peerId: PeerId
  protocol: ProtocolDef
  /** The decoded request (null for protocols with an empty request). */
  request: unknown
  /** The request's SSZ bytes, validated against the type (null for empty requests). */
  requestSsz: Uint8Array | null
  /** Aborted when the server stops or the stream fails. */
  signal: AbortSignal
}

/** Yields encoded response chunks (wire bytes); throws ResponseError for a spec error answer. */
export type RequestHandler = (req: InboundRequest) => AsyncIterable<WireBytes>

export interface ReqRespServerModules {
  host: Libp2p
  scores: PeerPenalties
  metrics: ReqRespMetrics | null
  logger: Logger
}

export const SERVER_DEFAULTS = {
  /** Per protocol per connection; the spec allows a peer 2 concurrent requests per protocol, allow slack. */
  maxInboundStreamsPerProtocol: 8,
  /**
   * Requests of one peer per protocol served at once (the spec's MAX_CONCURRENT_REQUESTS, which requesters must
   * not exceed); the excess is answered RateLimited (139) as soon as its request is read, before any work, so a
   * flood costs little more than its refusals.
   */
  maxConcurrentPerPeer: MAX_CONCURRENT_REQUESTS as number,
  requestTimeoutMs: REQUEST_TIMEOUT_MS as number,
}

type Outcome =
  | 'success'
  | 'invalid_request'
  | 'server_error'
  | 'resource_unavailable'
  | 'rate_limited'
  | 'too_many_concurrent'
  | 'timeout'
  | 'aborted'

/**
 * Serves inbound req/resp streams: reads and validates the request (bounded in size and time), runs the
 * protocol's handler and writes its chunks with backpressure. Malformed requests get InvalidRequest and a
 * penalty for the sender; one peer's bad stream never affects another's.
 */
export class ReqRespServer {
  private readonly inFlight = new Set<AbortController>()
  /** Requests being served per `peer protocol`. */
  private readonly serving = new Counts()
  private readonly registered: string[] = []

  private readonly opts: typeof SERVER_DEFAULTS

  constructor(
    private readonly modules: ReqRespServerModules,
    private readonly handlers: ReadonlyMap<ProtocolDef, RequestHandler>,
    opts: Partial<typeof SERVER_DEFAULTS> = {},
  ) {
    this.opts = { ...SERVER_DEFAULTS, ...opts }
  }

  async start(): Promise<void> {
    for (const [def, handler] of this.handlers) {
      await this.modules.host.handle(def.id, (stream, connection) => this.onStream(def, handler, stream, connection), {
        maxInboundStreams: this.opts.maxInboundStreamsPerProtocol,
      })
      this.registered.push(def.id)
    }
  }

  async stop(): Promise<void> {
    await this.modules.host.unhandle(this.registered.splice(0))
    for (const controller of this.inFlight) controller.abort(new Error('server stopping'))
  }

  private async onStream(def: ProtocolDef, handler: RequestHandler, stream: Stream, connection: Connection) {
    const peerId = connection.remotePeer
    const controller = new AbortController()
    // A requester that resets its stream has gone: stop the work (e.g. a relayed upstream call) at once.
    stream.addEventListener(
      'close',
      (evt) => {
        if (evt.error) controller.abort(evt.error)
      },
      { once: true },
    )
    this.inFlight.add(controller)
    const transport = transportOf(connection.remoteAddr)
    const outcome = await this.serve(def, handler, stream, peerId, transport, controller.signal).finally(() =>
      this.inFlight.delete(controller),
    )
    this.modules.metrics?.inboundRequests.inc({ protocol: `${def.name}/${def.version}`, result: outcome, transport })
  }

  private async serve(
    def: ProtocolDef,
    handler: RequestHandler,
    stream: Stream,
    peerId: PeerId,
    transport: TransportName,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const read = await this.readInbound(def, stream, peerId, signal)
    if (typeof read === 'string') return read
    const requester = peerId.toString()
    const servingKey = `${requester} ${def.id}`
    if (!this.serving.take(servingKey, this.opts.maxConcurrentPerPeer)) {
      // Refused without a penalty: the refusal costs the requester its request, and volume is the rate limit's.
      await sendError(stream, RespCode.RateLimited, 'rate limited: too many concurrent requests', signal)
      return 'too_many_concurrent'
    }
    let released = false
    const release = () => {
      if (!released) this.serving.give(servingKey)
      released = true
    }
    try {
      for await (const chunk of handler({ peerId, protocol: def, ...read, signal })) {
        await send(stream, chunk, signal)
        this.modules.metrics?.inboundResponseBytes.inc({ transport }, chunk.byteLength)
        // A long answer (and the upstream reading and checking that feed it) lets other peers' I/O in between, and
        // shares the loop fairly with other requesters' answers.
        if (loopTurnSpent()) await nextLoopTurn(requester)
      }
      // Released before the end of stream is sent: a requester that opens its next request on seeing it is in time.
      release()
      await stream.close({ signal })
      return 'success'
    } catch (e) {
      release()
      // The requester went away (reset, or hung up after writing, as Lodestar does after a Goodbye).
      if (signal.aborted || stream.writeStatus !== 'writable') return abortStream(stream, 'aborted')
      if (e instanceof ResponseError) {
        await sendError(stream, e.respCode, e.message, signal)
        return e.code
      }
      this.modules.logger.warn({ err: e, peer: peerId.toString(), protocol: def.id }, 'request handler failed')
      await sendError(stream, RespCode.ServerError, 'internal error', signal)
      return 'server_error'
    }
  }

  /** Reads and decodes the request, bounded in size and time; a bad one is answered (or the stream aborted) here. */
  private async readInbound(
    def: ProtocolDef,
    stream: Stream,
    peerId: PeerId,
    signal: AbortSignal,
  ): Promise<{ request: unknown; requestSsz: Uint8Array | null } | Outcome> {
    const readSignal = deadlineSignal([signal], this.opts.requestTimeoutMs)
    try {
      const reader = new ByteReader(stream)
      if (def.request) {
        const requestSsz = await readRequest(reader, sszBounds(def.request), readSignal)
        return { request: def.request.deserialize(requestSsz), requestSsz }
      }
      // An empty request: the requester must half-close without sending anything.
      if (!(await reader.isEnd(readSignal))) throw new WireError(WireErrorCode.TRAILING_BYTES, { after: 0 })
      return { request: null, requestSsz: null }
    } catch (e) {
      if (signal.aborted) return abortStream(stream, 'aborted')
      if (isWireError(e, WireErrorCode.ABORTED)) {
        this.penalise(peerId, PeerAction.HighToleranceError, 'request_timeout')
        return abortStream(stream, 'timeout')
      }
      if (isWireError(e, WireErrorCode.SOURCE_ERROR)) return abortStream(stream, 'aborted')
      const reason = isWireError(e) ? e.code : 'ssz_decode'
      this.penalise(peerId, PeerAction.LowToleranceError, `invalid_request_${reason}`)
      this.modules.logger.debug({ peer: peerId.toString(), protocol: def.id, reason }, 'invalid request')
      await sendError(stream, RespCode.InvalidRequest, `invalid request: ${reason}`, signal)
      return 'invalid_request'
    } finally {
      readSignal.clear()
    }
  }

  private penalise(peerId: PeerId, action: PeerAction, reason: string): void {
    this.modules.scores.apply(peerId.toString(), action, reason)
  }
}

/** Writes with backpressure: waits for the muxer to drain instead of buffering without bound. */
export async function send(stream: Stream, bytes: WireBytes, signal: AbortSignal): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain({ signal })
}

async function sendError(stream: Stream, code: RespCode, message: string, signal: AbortSignal): Promise<void> {
  try {
    await send(stream, encodeErrorChunk(code, message), signal)
    await stream.close({ signal })
  } catch {
    stream.abort(new Error('could not send error response'))
  }
}

function abortStream(stream: Stream, outcome: Outcome): Outcome {
  stream.abort(new Error(`request ${outcome}`))
  return outcome
}

/** Counts per key, an entry kept only while above 0 (so the map is bounded by what is open). */
class Counts {
  private readonly counts = new Map<string, number>()

  /** Counts one more under `key` unless it already has `max`. */
  take(key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0
    if (n >= max) return false
    this.counts.set(key, n + 1)
    return true
  }

  give(key: string): void {
    const n = (this.counts.get(key) ?? 1) - 1
    if (n > 0) this.counts.set(key, n)
    else this.counts.delete(key)
  }
}
