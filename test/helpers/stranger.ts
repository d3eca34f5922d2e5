import { yamux } from '@chainsafe/libp2p-yamux'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { mplex } from '@libp2p/mplex'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { type Network } from '../../src/chain/resolveNetwork.js'
import { createPeerHandlers } from '../../src/devnet/peerHandlers.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { GossipCodec } from '../../src/gossip/gossipCodec.js'
import { gossipsubOptions } from '../../src/gossip/params.js'
import { InboundRateLimiter } from '../../src/limits/inboundLimiter.js'
import { PeerScores } from '../../src/peers/score.js'
import { ReqRespClient } from '../../src/reqresp/client.js'
import type { ProtocolDef } from '../../src/reqresp/protocols.js'
import { ResponseTypes } from '../../src/reqresp/responseTypes.js'
import { type RequestHandler, ReqRespServer } from '../../src/reqresp/server.js'
import type { ResponseChunk } from '../../src/wire/chunks.js'
import { logger } from './devnet.js'

export type MuxerName = 'yamux' | 'mplex'

/** The muxer lists beacon clients offer, in their order of preference (issue 12's matrix). */
export const MUXER_LISTS: ReadonlyArray<readonly MuxerName[]> = [
  ['mplex'],
  ['yamux'],
  ['mplex', 'yamux'],
  ['yamux', 'mplex'],
]

export const MUXER_PROTOCOL: Record<MuxerName, string> = { yamux: '/yamux/1.0.0', mplex: '/mplex/6.7.0' }

export type StrangerHost = Libp2p<{ identify: unknown; gossipsub: GossipSub }>

/**
 * A beacon peer Contower did not build: a plain `createLibp2p` host (TCP, noise with its default early muxer
 * negotiation, identify, gossipsub) offering `muxers` in that order, with the muxers' default limits except mplex's
 * stream rate (below). It answers Status/Ping/MetaData/Goodbye and serves BlocksByRange from `chain`, counting every
 * request it is sent by protocol.
 */
export class Stranger {
  /** Requests received, by protocol name (status, ping, beacon_blocks_by_range, ...). */
  readonly received = new Map<string, number>()
  /** Connections of this host that closed. */
  closes = 0
  private client: ReqRespClient | null = null
  private server: ReqRespServer | null = null
  private h: StrangerHost | null = null
  /** Protocols whose answers wait for a release (hold()). */
  private readonly holds = new Map<string, Promise<void>>()

  constructor(
    private readonly modules: { network: Network; chain: SyntheticChain },
    readonly muxers: readonly MuxerName[],
  ) {}

  get host(): StrangerHost {
    if (!this.h) throw new Error('stranger not started')
    return this.h
  }

  get peerId(): PeerId {
    return this.host.peerId
  }

  get label(): string {
    return `[${this.muxers.join(', ')}]`
  }

  async start(): Promise<void> {
    const { network, chain } = this.modules
    const forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const clock = Clock.fromChainConfig(network.config, network.genesisTime)
    const host = await createLibp2p({
      privateKey: await generateKeyPair('secp256k1'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      // mplex's default closes a connection on more than 5 new streams a second; the tests' Ping/Status schedule is
      // ~40 times Lodestar's (every 400 ms, not 15-20 s), so allow 20.
      streamMuxers: this.muxers.map((m) => (m === 'yamux' ? yamux() : mplex({ disconnectThreshold: 20 }))),
      nodeInfo: { userAgent: `stranger${this.label}/0.0.0` },
      // Patient dials: tests share a loaded machine, where libp2p's default 5 s can run out mid-handshake.
      connectionManager: { dialTimeout: 30_000 },
      services: {
        identify: identify(),
        // Spec message ids and topics, no validation: a client that forwards what it is sent.
        gossipsub: gossipsub(
          gossipsubOptions(
            { forkSchedule, codec: new GossipCodec({ forkSchedule }), metricsRegister: null },
            { asyncValidation: false, ipColocationWhitelist: ['127.0.0.1'] },
          ),
        ),
      },
    })
    host.addEventListener('connection:close', () => this.closes++)
    this.h = host
    const head = () => Math.max(0, clock.currentSlot)
    const digestAtSlot = (slot: number) => forkSchedule.digestAtEpoch(Math.floor(slot / chain.slotsPerEpoch))
    const handlers = createPeerHandlers({
      host,
      source: {
        status: () => {
          const headBlock = chain.headAt(head())
          const finalized = chain.checkpoint(Math.max(0, Math.floor(head() / chain.slotsPerEpoch) - 2))
          return {
            forkDigest: digestAtSlot(head()),
            finalizedRoot: finalized.root,
            finalizedEpoch: finalized.epoch,
            headRoot: headBlock.root,
            headSlot: headBlock.slot,
            earliestAvailableSlot: 0,
          }
        },
        blocksInRange: (start, count) => chain.blocksInRange(start, count, head()),
        blockByRoot: (root) => chain.blockByRoot(root, head()),
        column: (slot, index) => chain.dataColumnSidecar(slot, index),
        strayBlocks: () => [chain.headAt(head())],
        digestAtSlot,
      },
      metadata: { seqNumber: 1n, attnets: [], syncnets: [], custodyGroupCount: 4 },
      limiter: new InboundRateLimiter({}, { maxDelayMs: 0 }),
      misbehaviour: () => 'none',
      onQuotaExceeded: () => {},
      onServed: () => {},
      onConcurrency: () => {},
    })
    const counted = new Map<ProtocolDef, RequestHandler>()
    for (const [def, handler] of handlers) {
      counted.set(def, (req) => {
        this.received.set(def.name, (this.received.get(def.name) ?? 0) + 1)
        const held = this.holds.get(def.name)
        if (!held) return handler(req)
        return (async function* () {
          await held
          yield* handler(req)
        })()
      })
    }
    this.client = new ReqRespClient({ host, responseTypes: new ResponseTypes({ forkSchedule, clock }), metrics: null })
    this.server = new ReqRespServer({ host, scores: new PeerScores(), metrics: null, logger }, counted)
    await this.server.start()
    await host.start()
  }

  /** Answers to `protocol` (a name: status, ping, ...) wait until the returned function is called: a slow peer. */
  hold(protocol: string): () => void {
    let release = () => {}
    this.holds.set(
      protocol,
      new Promise<void>((resolve) => {
        release = resolve
      }),
    )
    return () => {
      this.holds.delete(protocol)
      release()
    }
  }

  /** Sends one request and collects its chunks (throws the client's RequestError on failure). */
  async fetch(
    peer: PeerId,
    def: ProtocolDef,
    requestSsz: Uint8Array | null,
    maxChunks: number,
  ): Promise<ResponseChunk[]> {
    if (!this.client) throw new Error('stranger not started')
    const out: ResponseChunk[] = []
    for await (const chunk of this.client.request(peer, def, requestSsz, { maxChunks })) out.push(chunk)
    return out
  }

  async stop(): Promise<void> {
    await this.server?.stop()
    await this.h?.stop()
  }
}

export async function startStranger(
  modules: { network: Network; chain: SyntheticChain },
  muxers: readonly MuxerName[],
): Promise<Stranger> {
  const s = new Stranger(modules, muxers)
  await s.start()
  return s
}
