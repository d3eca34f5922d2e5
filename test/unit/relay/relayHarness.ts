// A Relay built from its real modules (selector, queue, cache, limiters, scores, chain view) over in-memory
// upstream hosts. Upstreams answer with scripts; the requester side calls the relay's handler directly.
import type { PeerId, Stream } from '@libp2p/interface'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { Uint8ArrayList } from 'uint8arraylist'
import { ChainView } from '../../../src/chain/chainView.js'
import { InboundRateLimiter } from '../../../src/limits/inboundLimiter.js'
import { UpstreamLimiter } from '../../../src/limits/upstreamLimiter.js'
import { PeerStore } from '../../../src/peers/peerStore.js'
import { PeerScores } from '../../../src/peers/score.js'
import type { Quota } from '../../../src/spec/quotas.js'
import { createRelayMetrics } from '../../../src/relay/metrics.js'
import { Relay, RELAY_DEFAULTS } from '../../../src/relay/relay.js'
import { toRelayRequest } from '../../../src/relay/relayRequest.js'
import { ResponseCache } from '../../../src/relay/responseCache.js'
import { UpstreamQueue } from '../../../src/relay/upstreamQueue.js'
import { UpstreamSelector } from '../../../src/relay/upstreamSelector.js'
import { ReqRespClient } from '../../../src/reqresp/client.js'
import { ResponseError } from '../../../src/reqresp/errors.js'
import type { PeerAction } from '../../../src/reqresp/peerAction.js'
import { getProtocol, type ProtocolDef, sszBounds } from '../../../src/reqresp/protocols.js'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { readRequest } from '../../../src/wire/chunks.js'
import { blockChunk, chain, clock, DIGEST, forkSchedule, HEAD_SLOT, responseTypes } from '../helpers/devnetChain.js'
import { closed, type MemoryHost, MemoryNetwork, newPeerId } from '../helpers/memoryHost.js'
import { registryValue } from '../../helpers/metrics.js'

export const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
export const BY_ROOT = getProtocol('beacon_blocks_by_root', 2)

/** Short enough that a silent upstream costs a test ~150 ms; the deadline leaves room for two of them. */
export const FAST = { firstChunkDeadlineMs: 1_000, maxQueueWaitMs: 600, upstreamTtfbMs: 150 }
export const FINALIZED_EPOCH = 2

export type UpstreamScript = (stream: Stream, request: unknown) => Promise<void>

export interface Upstream {
  host: MemoryHost
  id: string
  /** Decoded requests this upstream received, in order. */
  requests: unknown[]
  /** Replaces how the upstream answers `def`. */
  serve(def: ProtocolDef, script: UpstreamScript): void
}

export interface Penalty {
  peer: string
  action: PeerAction
  reason: string
}

/** Sends the chain's blocks of the requested range (up to the head), then closes: a sound upstream. */
export const soundRange: UpstreamScript = async (stream, request) => {
  const { startSlot, count } = request as { startSlot: number; count: number }
  for (const block of chain.blocksInRange(startSlot, count, HEAD_SLOT)) stream.send(blockChunk(block.slot))
  await stream.close()
}

/** Sends `bytes` and closes. */
export const sendAndClose =
  (...parts: Uint8Array[]): UpstreamScript =>
  async (stream) => {
    for (const part of parts) stream.send(part)
    await stream.close()
  }

/** Never answers; holds the stream until the relay gives up. */
export const silent: UpstreamScript = async (stream) => {
  await closed(stream)
}

export async function relayHarness(
  opts: {
    upstreams?: number
    inboundQuotas?: Record<string, Quota>
    /** What the upstreams enforce, as Contower's self-limit models it; default none. */
    upstreamQuotas?: Record<string, Quota>
    relay?: Partial<typeof RELAY_DEFAULTS>
    /** The relay's client's wait for each chunk (300 ms: failing upstreams are given up quickly). */
    clientRespTimeoutMs?: number
    /** The response cache's clock (ms), to drive its TTLs; performance.now() by default. */
    cacheNow?: () => number
  } = {},
) {
  const net = new MemoryNetwork()
  const self = await net.addHost()
  const requesterId = await newPeerId()
  const peerStore = new PeerStore()
  const scores = new PeerScores()
  const penalties: Penalty[] = []
  scores.onAction((peer, action, reason) => penalties.push({ peer, action, reason }))
  const chainView = new ChainView({
    clock,
    forkSchedule,
    peerStatuses: () => [...peerStore.all()].flatMap((p) => (p.status ? [p.status] : [])),
  })
  // Unlimited upstream quotas unless asked: the tests are about the relay's choices, not the self-limit.
  const limiter = new UpstreamLimiter({}, { quotas: new Map(Object.entries(opts.upstreamQuotas ?? {})) })
  // random() = 0 with equal ranks: the first peer added is chosen first, the next on failover.
  const selector = new UpstreamSelector({ peerStore, scores, limiter, clock, isPreferred: () => false }, {}, () => 0)
  const queue = new UpstreamQueue({ selector })
  const cache = new ResponseCache({ now: opts.cacheNow }, { maxBytes: 16 * 1024 * 1024 })
  const inbound = new InboundRateLimiter(
    {},
    opts.inboundQuotas ? { quotas: new Map(Object.entries(opts.inboundQuotas)) } : {},
  )
  const registry = new Registry()
  const metrics = createRelayMetrics(registry, { cacheStats: () => cache.stats, queueDepth: () => queue.depth })
  const client = new ReqRespClient(
    { host: self.libp2p, responseTypes, metrics: null },
    {
      respTimeoutMs: opts.clientRespTimeoutMs ?? 300,
    },
  )
  const relay = new Relay(
    {
      client,
      selector,
      queue,
      cache,
      limiter: inbound,
      scores,
      forkSchedule,
      clock,
      responseTypes,
      chainView,
      metrics,
      logger: pino({ level: 'silent' }),
    },
    { ...FAST, ...opts.relay },
  )

  const upstreams: Upstream[] = []
  for (let i = 0; i < (opts.upstreams ?? 2); i++) {
    const host = await net.addHost()
    const data = peerStore.add(host.peerId, 'outbound')
    data.handshaken = true
    data.status = {
      forkDigest: DIGEST,
      finalizedRoot: chain.blockAt(FINALIZED_EPOCH * chain.slotsPerEpoch)!.root,
      finalizedEpoch: FINALIZED_EPOCH,
      headRoot: chain.blockAt(HEAD_SLOT)!.root,
      headSlot: HEAD_SLOT,
      earliestAvailableSlot: 0,
    }
    const requests: unknown[] = []
    const serve = (def: ProtocolDef, script: UpstreamScript) =>
      void host.handle(def.id, async (stream) => {
        try {
          const ssz = await readRequest(new ByteReader(stream), sszBounds(def.request!))
          const request = def.request!.deserialize(ssz)
          requests.push(request)
          await script(stream, request)
        } catch {
          // the relay reset the stream: several tests provoke exactly that
        }
      })
    serve(BY_RANGE, soundRange)
    upstreams.push({ host, id: host.peerId.toString(), requests, serve })
  }

  /** Asks the relay as `from` would; returns the chunks it streamed (flattened) and the error it ended with. */
  async function ask(
    def: ProtocolDef,
    request: unknown,
    o: { from?: PeerId; signal?: AbortSignal } = {},
  ): Promise<{ chunks: Uint8Array[]; error: ResponseError | null }> {
    const chunks: Uint8Array[] = []
    const inboundReq = {
      peerId: o.from ?? requesterId,
      protocol: def,
      request,
      requestSsz: def.request!.serialize(request as never),
      signal: o.signal ?? new AbortController().signal,
    }
    try {
      for await (const chunk of relay.handlerFor(def)(inboundReq)) {
        chunks.push(chunk instanceof Uint8ArrayList ? chunk.subarray() : chunk)
      }
      return { chunks, error: null }
    } catch (e) {
      if (!(e instanceof ResponseError)) throw e
      return { chunks, error: e }
    }
  }

  /** The relay's request counter by result for `def`, e.g. { success: 1, cache_hit: 1 }. */
  async function results(def: ProtocolDef): Promise<Record<string, number>> {
    const { values } = await metrics.requests.get()
    const out: Record<string, number> = {}
    for (const v of values)
      if (v.labels.protocol === `${def.name}/${def.version}`) out[String(v.labels.result)] = v.value
    return out
  }

  /** A relay metric's value summed over the series whose labels include `labels`; 0 before any. */
  const metric = (name: string, labels: Record<string, string> = {}) => registryValue(registry, name, labels)

  const keyOf = (def: ProtocolDef, request: unknown) => toRelayRequest(def, request).key

  return {
    relay,
    self,
    requesterId,
    upstreams,
    peerStore,
    scores,
    penalties,
    cache,
    chainView,
    ask,
    results,
    metric,
    keyOf,
    queueDepth: () => queue.depth,
  }
}
