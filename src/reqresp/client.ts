import { afterPendingIo, type ClearableSignal, deadlineSignal } from '../deadline.js'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { ByteReader } from '../wire/byteReader.js'
import { encodeRequest, type ResponseChunk, readResponseChunk } from '../wire/chunks.js'
import { isWireError, WireErrorCode } from '../wire/errors.js'
import { RespCode } from '../wire/constants.js'
import { DIAL_TIMEOUT_MS, REQUEST_TIMEOUT_MS, RESP_TIMEOUT_MS, TTFB_TIMEOUT_MS } from '../spec/reqresp.js'
import { RequestError, RequestErrorCode } from './errors.js'
import type { ReqRespMetrics } from './metrics.js'
import type { ProtocolDef } from './protocols.js'
import type { ResponseTypes } from './responseTypes.js'

export interface ReqRespClientModules {
  host: Libp2p
  responseTypes: ResponseTypes
  metrics: ReqRespMetrics | null
}

export const CLIENT_DEFAULTS = {
  dialTimeoutMs: DIAL_TIMEOUT_MS,
  /** Writing the request and half-closing: the responder allows this long for it, and so do we. */
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  ttfbTimeoutMs: TTFB_TIMEOUT_MS,
  respTimeoutMs: RESP_TIMEOUT_MS,
}

export interface RequestOptions {
  /** Most chunks a valid response may have (the protocol's limit for this request). */
  maxChunks: number
  signal?: AbortSignal
  /** Keep only this many leading bytes of each payload in `ssz` (frames are checked whole regardless). */
  sszPrefixBytes?: number
  /** This request's wait for the first byte, when it must be shorter than the client's (e.g. to fail over). */
  ttfbTimeoutMs?: number
  /** This request's wait for each chunk, when it must be shorter than the client's (e.g. to go on elsewhere). */
  respTimeoutMs?: number
}

/**
 * Sends one request and yields its success chunks as they arrive (framing, bounds and context bytes checked,
 * raw wire bytes kept for forwarding). Every wait is bounded; failures are RequestErrors.
 */
export class ReqRespClient {
  private readonly opts: typeof CLIENT_DEFAULTS

  constructor(
    private readonly modules: ReqRespClientModules,
    opts: Partial<typeof CLIENT_DEFAULTS> = {},
  ) {
    this.opts = { ...CLIENT_DEFAULTS, ...opts }
  }

  async *request(
    peerId: PeerId,
    def: ProtocolDef,
    requestSsz: Uint8Array | null,
    opts: RequestOptions,
  ): AsyncGenerator<ResponseChunk, void, undefined> {
    const startedMs = Date.now()
    let result = 'success'
    const outer = opts.signal ?? new AbortController().signal
    let opened: { stream: Stream; reader: ByteReader } | undefined
    let timer: WaitTimer | undefined
    let ended = false // the response reached its end (EOF) or failed: nothing left to release
    try {
      opened = await this.open(peerId, def, requestSsz, outer)
      const { reader } = opened
      const chunkOpts = {
        contextBytes: def.contextBytes,
        boundsFor: this.modules.responseTypes.boundsFor(def),
        sszPrefixBytes: opts.sszPrefixBytes,
      }
      // One timer for the whole response, re-armed per wait: TTFB covers the wait for the first byte, then each
      // chunk has RESP_TIMEOUT to complete.
      timer = new WaitTimer(outer)
      for (let count = 0; ; count++) {
        const first = count === 0
        let chunk: ResponseChunk | null
        try {
          if (first) {
            timer.arm(opts.ttfbTimeoutMs ?? this.opts.ttfbTimeoutMs)
            if (await reader.isEnd(timer.signal)) break
          }
          timer.arm(opts.respTimeoutMs ?? this.opts.respTimeoutMs)
          chunk = await readResponseChunk(reader, chunkOpts, timer.signal)
        } catch (e) {
          throw this.toRequestError(def, e, first && reader.bytesConsumed === 0, outer)
        }
        timer.disarm() // the consumer's time with a chunk is not the responder's
        if (chunk === null) break
        checkChunk(def, chunk, count, opts.maxChunks)
        yield chunk
      }
      ended = true
    } catch (e) {
      ended = true
      result = e instanceof RequestError ? e.code : 'error'
      opened?.stream.abort(e as Error)
      throw e
    } finally {
      timer?.close()
      // The caller stopped early: after an abort (e.g. it refused a chunk) reset the stream; otherwise (e.g.
      // requestOne) let the responder close in its own time, bounded.
      if (!ended && opened && outer.aborted) opened.stream.abort(new Error('aborted by the caller'))
      else if (!ended && opened) void this.release(opened.stream, opened.reader)
      const label = `${def.name}/${def.version}`
      this.modules.metrics?.outboundRequests.inc({ protocol: label, result })
      this.modules.metrics?.outboundSeconds.observe({ protocol: label }, (Date.now() - startedMs) / 1000)
    }
  }

  /** Dials the protocol, sends the request and half-closes, each bounded: DIAL_FAILED, REQUEST_TIMEOUT or the caller's abort. */
  private async open(
    peerId: PeerId,
    def: ProtocolDef,
    requestSsz: Uint8Array | null,
    outer: AbortSignal,
  ): Promise<{ stream: Stream; reader: ByteReader }> {
    let stream: Stream | undefined
    const dialSignal = deadlineSignal([outer], this.opts.dialTimeoutMs)
    try {
      try {
        stream = await this.modules.host.dialProtocol(peerId, def.id, { signal: dialSignal })
      } finally {
        dialSignal.clear() // failed dials too: no timer or listener on the caller's signal left behind
      }
    } catch (e) {
      if (outer.aborted) throw new RequestError(RequestErrorCode.ABORTED, def.id, 'aborted by the caller', { cause: e })
      throw new RequestError(RequestErrorCode.DIAL_FAILED, def.id, (e as Error).message, { cause: e })
    }
    // The half-close waits until the request's bytes are handed to the connection: on a stalled connection, forever.
    const sendSignal = deadlineSignal([outer], this.opts.requestTimeoutMs)
    try {
      const reader = new ByteReader(stream).start() // listening before the half-close: see ByteReader.start
      if (requestSsz !== null) stream.send(encodeRequest(requestSsz))
      await stream.close({ signal: sendSignal }) // half-close: the request is complete
      return { stream, reader }
    } catch (e) {
      stream.abort(e as Error)
      if (outer.aborted) throw new RequestError(RequestErrorCode.ABORTED, def.id, 'aborted by the caller', { cause: e })
      if (sendSignal.aborted) {
        throw new RequestError(RequestErrorCode.REQUEST_TIMEOUT, def.id, 'request not sent', { cause: e })
      }
      throw new RequestError(RequestErrorCode.STREAM_FAILED, def.id, (e as Error).message, { cause: e })
    } finally {
      sendSignal.clear()
    }
  }

  /** Sends a request expecting exactly one success chunk (Status, Ping, MetaData). */
  async requestOne(
    peerId: PeerId,
    def: ProtocolDef,
    requestSsz: Uint8Array | null,
    signal?: AbortSignal,
  ): Promise<ResponseChunk> {
    for await (const chunk of this.request(peerId, def, requestSsz, { maxChunks: 1, signal })) return chunk
    throw new RequestError(RequestErrorCode.INVALID_RESPONSE, def.id, 'no response chunk')
  }

  /** Waits up to RESP_TIMEOUT for the responder's end of stream; resets the stream on extra data or silence. */
  private async release(stream: Stream, reader: ByteReader): Promise<void> {
    const clean = await reader.isEnd(AbortSignal.timeout(this.opts.respTimeoutMs)).catch(() => false)
    if (!clean) stream.abort(new Error('response did not end after its last expected chunk'))
  }

  private toRequestError(def: ProtocolDef, e: unknown, beforeFirstByte: boolean, outer: AbortSignal): RequestError {
    if (outer.aborted) return new RequestError(RequestErrorCode.ABORTED, def.id, 'aborted by the caller', { cause: e })
    if (isWireError(e, WireErrorCode.ABORTED)) {
      return beforeFirstByte
        ? new RequestError(RequestErrorCode.TTFB_TIMEOUT, def.id, 'no response in time', { cause: e })
        : new RequestError(RequestErrorCode.RESP_TIMEOUT, def.id, 'response chunk too slow', { cause: e })
    }
    if (isWireError(e, WireErrorCode.SOURCE_ERROR) || isWireError(e, WireErrorCode.ABORTED)) {
      return new RequestError(RequestErrorCode.STREAM_FAILED, def.id, (e as Error).message, { cause: e })
    }
    return new RequestError(RequestErrorCode.INVALID_RESPONSE, def.id, (e as Error).message, { cause: e })
  }
}

/** An error response or one chunk too many ends the request. */
function checkChunk(def: ProtocolDef, chunk: ResponseChunk, count: number, maxChunks: number): void {
  if (chunk.result !== RespCode.Success) {
    throw new RequestError(RequestErrorCode.ERROR_RESPONSE, def.id, `code ${chunk.result}: ${chunk.errorMessage}`, {
      respCode: chunk.result,
    })
  }
  if (count >= maxChunks)
    throw new RequestError(RequestErrorCode.TOO_MANY_CHUNKS, def.id, `more than ${maxChunks} chunks`)
}

/**
 * A signal that fires when the caller's does or when the armed wait runs out: one controller and one timer per
 * response instead of a timeout signal per chunk.
 */
class WaitTimer {
  private readonly controller = new AbortController()
  private timeout: NodeJS.Timeout | undefined
  /** Bumped by every arm() and disarm(): a deferred expiry of an earlier wait does nothing. */
  private wait = 0
  readonly signal: ClearableSignal

  constructor(outer: AbortSignal) {
    this.signal = deadlineSignal([outer, this.controller.signal])
  }

  arm(ms: number): void {
    this.disarm()
    const wait = this.wait
    this.timeout = setTimeout(
      () => afterPendingIo(() => wait === this.wait && this.controller.abort(new Error(`no progress in ${ms} ms`))),
      ms,
    )
  }

  disarm(): void {
    clearTimeout(this.timeout)
    this.timeout = undefined
    this.wait++
  }

  /** The response is over: no timer, and no listener left on the caller's signal. */
  close(): void {
    this.disarm()
    this.signal.clear()
  }
}
