// A beacon peer built apart from Contower's relay code, to check what Contower relays across fork boundaries: plain
// createLibp2p (TCP, noise, mplex only, as Lodestar) with its own gossipsub options and spec message ids, fork digests
// and types from Lodestar's @lodestar/config and @lodestar/types, and only Contower's wire codec (length prefix,
// snappy frames, response chunks) for the req/resp bytes.
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub, type Message, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { mplex } from '@libp2p/mplex'
import { tcp } from '@libp2p/tcp'
import { type BeaconConfig, chainConfigFromJson, createBeaconConfig, createChainForkConfig } from '@lodestar/config'
import { type ForkName, ForkSeq, SLOTS_PER_EPOCH } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeRequest, encodeResponseChunk, readRequest, readResponseChunk } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { decompressBlock } from '../../src/wire/snappyBlock.js'

const MESSAGE_DOMAIN_VALID_SNAPPY = Uint8Array.from([1, 0, 0, 0])
const MESSAGE_DOMAIN_INVALID_SNAPPY = Uint8Array.from([0, 0, 0, 0])
const MAX_GOSSIP_BYTES = 10 * 1024 * 1024

/** What the watcher holds of one block: where it came from and what it decoded to. */
export interface SeenBlock {
  slot: number
  fork: ForkName
  root: string
  parentRoot: string
  /** Execution payload (Bellatrix to Fulu): whether it is the default one, and its timestamp. */
  payload: { isDefault: boolean; timestamp: number } | null
}

export interface ForkWatcherOpts {
  /** The chain's config.yaml text (flat `KEY: value` lines, as the devnet writes it). */
  chainConfigYaml: string
  genesisValidatorsRoot: Uint8Array
  genesisTime: number
  slotDurationMs: number
}

/** Decodes a block of `fork` into what the watcher checks. */
function describe(fork: ForkName, bytes: Uint8Array): SeenBlock {
  const types = sszTypesFor(fork)
  const signed = types.SignedBeaconBlock.deserialize(bytes)
  const body = signed.message.body as { executionPayload?: unknown }
  let payload: SeenBlock['payload'] = null
  // Bellatrix to Fulu: the block carries its payload; from Gloas a bid, the payload travels apart.
  if (ForkSeq[fork] >= ForkSeq.bellatrix && body.executionPayload) {
    const type = (
      types as unknown as { ExecutionPayload: { defaultValue(): unknown; equals(a: unknown, b: unknown): boolean } }
    ).ExecutionPayload
    payload = {
      isDefault: type.equals(body.executionPayload, type.defaultValue()),
      timestamp: (body.executionPayload as { timestamp: number }).timestamp,
    }
  }
  return {
    slot: signed.message.slot,
    fork,
    root: Buffer.from(types.BeaconBlock.hashTreeRoot(signed.message as never)).toString('hex'),
    parentRoot: Buffer.from(signed.message.parentRoot).toString('hex'),
    payload,
  }
}

export class ForkWatcher {
  /** Blocks received on beacon_block gossip, by slot (the topic's fork decoded them). */
  readonly gossip = new Map<number, SeenBlock>()
  readonly gossipErrors: string[] = []
  readonly config: BeaconConfig

  private constructor(
    readonly host: Libp2p<{ pubsub: GossipSub; identify: unknown }>,
    private readonly opts: ForkWatcherOpts,
    config: BeaconConfig,
  ) {
    this.config = config
  }

  static async start(opts: ForkWatcherOpts): Promise<ForkWatcher> {
    const json: Record<string, unknown> = {}
    for (const line of opts.chainConfigYaml.split('\n')) {
      const m = /^([A-Z0-9_]+):\s*(.*)$/.exec(line)
      if (m) json[m[1]!] = m[2] === '[]' ? [] : m[2]!.replace(/^"(.*)"$/, '$1')
    }
    const config = createBeaconConfig(createChainForkConfig(chainConfigFromJson(json)), opts.genesisValidatorsRoot)
    const host = await createLibp2p({
      privateKey: await generateKeyPair('secp256k1'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [mplex({ disconnectThreshold: 1000 })],
      nodeInfo: { userAgent: 'fork-watcher/0.0.0' },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          msgIdFn: (msg: Message) => messageId(msg.topic, msg.data),
          fallbackToFloodsub: false,
          heartbeatInterval: 700,
          emitSelf: false,
        }),
      },
    })
    const watcher = new ForkWatcher(host as never, opts, config)
    await watcher.serveHandshake()
    host.services.pubsub.addEventListener('message', (evt) => watcher.onGossip(evt.detail))
    await host.start()
    return watcher
  }

  get peerId(): PeerId {
    return this.host.peerId
  }

  /** Joins beacon_block of every fork digest of the chain at once, as a node ready for every boundary. */
  subscribeAllBlockTopics(): string[] {
    const topics: string[] = []
    for (const boundary of this.config.forkBoundariesAscendingEpochOrder) {
      const topic = `/eth2/${this.config.forkBoundary2ForkDigestHex(boundary)}/beacon_block/ssz_snappy`
      this.host.services.pubsub.subscribe(topic)
      topics.push(topic)
    }
    return topics
  }

  /** Status v1 before Fulu, v2 from it, as the wall clock's fork asks; returns the peer's head slot. */
  async status(peer: PeerId | Multiaddr): Promise<number> {
    const v2 = ForkSeq[this.currentFork()] >= ForkSeq.fulu
    const type = v2 ? ssz.fulu.Status : ssz.phase0.Status
    const stream = await this.host.dialProtocol(peer, `/eth2/beacon_chain/req/status/${v2 ? 2 : 1}/ssz_snappy`, {
      signal: AbortSignal.timeout(10_000),
    })
    stream.send(encodeRequest(type.serialize(this.ourStatus() as never)))
    await stream.close()
    const chunk = await readResponseChunk(new ByteReader(stream), { contextBytes: false, boundsFor: () => type })
    if (chunk?.result !== RespCode.Success) throw new Error(`status failed: ${chunk?.errorMessage ?? 'no answer'}`)
    return Number(type.deserialize(chunk.ssz!).headSlot)
  }

  /**
   * BlocksByRange v2: every chunk's context bytes must name the fork of its block's epoch, the block must decode as
   * that fork's type, slots ascend within the range, and each block's parent is the one before it.
   */
  async blocksByRange(peer: PeerId, startSlot: number, count: number): Promise<SeenBlock[]> {
    const stream = await this.host.dialProtocol(peer, '/eth2/beacon_chain/req/beacon_blocks_by_range/2/ssz_snappy', {
      signal: AbortSignal.timeout(10_000),
    })
    // Listening before the half-close: a libp2p v3 stream read only after the answer ended may lose it (ByteReader.start).
    const reader = new ByteReader(stream).start()
    stream.send(encodeRequest(ssz.phase0.BeaconBlocksByRangeRequest.serialize({ startSlot, count, step: 1 })))
    await stream.close()
    const blocks: SeenBlock[] = []
    for (;;) {
      let fork: ForkName | null = null
      const chunk = await readResponseChunk(reader, {
        contextBytes: true,
        boundsFor: (context) => {
          fork = this.config.forkDigest2ForkBoundary(context!).fork
          return sszTypesFor(fork).SignedBeaconBlock
        },
      })
      if (chunk === null) break
      if (chunk.result !== RespCode.Success) throw new Error(`range failed: ${chunk.errorMessage}`)
      const block = describe(fork!, chunk.ssz!)
      const expected = this.config.getForkName(block.slot)
      if (block.fork !== expected)
        throw new Error(`slot ${block.slot}: context bytes of ${block.fork}, not ${expected}`)
      const previous = blocks.at(-1)
      if (block.slot < startSlot || block.slot >= startSlot + count || (previous && block.slot <= previous.slot)) {
        throw new Error(`slot ${block.slot} out of order in [${startSlot}, +${count})`)
      }
      if (previous && block.parentRoot !== previous.root) throw new Error(`slot ${block.slot} does not link`)
      blocks.push(block)
    }
    return blocks
  }

  currentSlot(): number {
    return Math.floor((Date.now() - this.opts.genesisTime * 1000) / this.opts.slotDurationMs)
  }

  async stop(): Promise<void> {
    await this.host.stop()
  }

  private currentFork(): ForkName {
    return this.config.getForkName(Math.max(0, this.currentSlot()))
  }

  private ourStatus() {
    const slot = Math.max(0, this.currentSlot())
    return {
      forkDigest: this.config.forkBoundary2ForkDigest(
        this.config.getForkBoundaryAtEpoch(Math.floor(slot / SLOTS_PER_EPOCH)),
      ),
      finalizedRoot: new Uint8Array(32),
      finalizedEpoch: 0,
      headRoot: new Uint8Array(32),
      headSlot: 0,
      earliestAvailableSlot: 0,
    }
  }

  private onGossip(msg: Message): void {
    const digest = msg.topic.split('/')[2]!
    try {
      const fork = this.config.forkDigest2ForkBoundary(digest).fork
      const block = describe(fork, decompressBlock(msg.data, MAX_GOSSIP_BYTES))
      this.gossip.set(block.slot, block)
    } catch (e) {
      this.gossipErrors.push(`${msg.topic}: ${(e as Error).message}`)
    }
  }

  /** Answers Status v1/v2, Ping, MetaData v2/v3 and Goodbye as a beacon node does, so Contower keeps us. */
  private async serveHandshake(): Promise<void> {
    const answer = async (stream: Stream, bytes: Uint8Array) => {
      stream.send(encodeResponseChunk(RespCode.Success, bytes))
      await stream.close()
    }
    const on = (protocol: string, handle: (stream: Stream) => Promise<void>) =>
      this.host.handle(`/eth2/beacon_chain/req/${protocol}/ssz_snappy`, (stream) => {
        handle(stream).catch(() => stream.abort(new Error('bad request')))
      })
    await on('status/1', async (s) => {
      await readRequest(new ByteReader(s), ssz.phase0.Status)
      await answer(s, ssz.phase0.Status.serialize(this.ourStatus()))
    })
    await on('status/2', async (s) => {
      await readRequest(new ByteReader(s), ssz.fulu.Status)
      await answer(s, ssz.fulu.Status.serialize(this.ourStatus()))
    })
    await on('ping/1', async (s) => {
      await readRequest(new ByteReader(s), ssz.phase0.Ping)
      await answer(s, ssz.phase0.Ping.serialize(1n))
    })
    await on('metadata/2', async (s) => answer(s, ssz.altair.Metadata.serialize(ssz.altair.Metadata.defaultValue())))
    await on('metadata/3', async (s) => answer(s, ssz.fulu.Metadata.serialize(ssz.fulu.Metadata.defaultValue())))
    await on('goodbye/1', async (s) => {
      await readRequest(new ByteReader(s), ssz.phase0.Goodbye)
      await answer(s, ssz.phase0.Goodbye.serialize(0n))
    })
  }
}

/** altair p2p-interface.md message-id: SHA256(domain + u64le(len(topic)) + topic + payload)[:20]. */
export function messageId(topic: string, data: Uint8Array): Uint8Array {
  const topicBytes = Buffer.from(topic, 'utf8')
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(topicBytes.length))
  let domain = MESSAGE_DOMAIN_VALID_SNAPPY
  let payload: Uint8Array
  try {
    payload = decompressBlock(data, MAX_GOSSIP_BYTES)
  } catch {
    domain = MESSAGE_DOMAIN_INVALID_SNAPPY
    payload = data
  }
  const hash = createHash('sha256').update(domain).update(length).update(topicBytes).update(payload).digest()
  return new Uint8Array(hash.subarray(0, 20))
}
