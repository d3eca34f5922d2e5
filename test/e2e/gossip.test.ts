// Gossip relay end to end: real libp2p hosts on 127.0.0.1. A (publisher), B (subscriber) and D (a second publisher)
// are each connected only to C, which runs Contower's GossipService. Whatever reaches B went through C's validation.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, type GossipSubComponents, gossipsub } from '@libp2p/gossipsub'
import { ssz } from '@lodestar/types'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { GossipCodec } from '../../src/gossip/gossipCodec.js'
import { GOSSIPSUB_RECEIVED_METRIC, gossipsubMetricsTap } from '../../src/gossip/gossipsubMetrics.js'
import { GossipService, type GossipSubRouter } from '../../src/gossip/gossipService.js'
import { messageIdToString } from '../../src/gossip/messageId.js'
import { gossipsubOptions } from '../../src/gossip/params.js'
import { parseSubscribeSpec } from '../../src/gossip/subscribeSpec.js'
import { formatTopic } from '../../src/gossip/topics.js'
import { createLogger } from '../../src/logger.js'
import { type ContowerHost, createHost } from '../../src/network/host.js'
import { compressBlock } from '../../src/wire/snappyBlock.js'

const WAIT = { timeout: 10_000, interval: 25 }
const SLOT_SECONDS = 2

const network = devnetNetwork({
  genesisTime: Math.floor(Date.now() / 1000) - 20 * SLOT_SECONDS,
  slotSeconds: SLOT_SECONDS,
})
const forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
const clock = Clock.fromChainConfig(network.config, network.genesisTime)
const digest = forkSchedule.digestHexAtEpoch(clock.currentEpoch)
const blockTopic = formatTopic(digest, { kind: 'beacon_block', subnet: null })
const columnTopic = (subnet: number) => formatTopic(digest, { kind: 'data_column_sidecar', subnet })
const chain = new SyntheticChain({ network }, { payloadBytes: 4000, blobsPerBlock: 2 })
const logger = createLogger({ level: 'silent', format: 'json' })

/** Every message gossipsub received on B, per topic kind, before its seen cache: what C actually forwarded. */
const receivedAtB = new Map<string, number>()
/** Messages B's gossipsub delivered, by message id. */
const deliveredAtB = new Map<string, { topic: string; data: Uint8Array }>()

const registry = new Registry()
const service = new GossipService(
  { forkSchedule, clock, registry, logger },
  {
    subscribe: parseSubscribeSpec(['beacon_block', 'data_column_sidecar_5-6']),
    gossipsub: { ipColocationWhitelist: ['127.0.0.1'] },
  },
)
const hosts: ContowerHost[] = []
let A: GossipSub
let B: GossipSub
let C: GossipSubRouter
let D: GossipSub
let cHost: ContowerHost

/** C shares one registry between libp2p's metrics and the gossip ones, as the node does. */
async function host(
  gs?: (components: GossipSubComponents) => GossipSub,
  hostRegistry: Registry | null = null,
): Promise<ContowerHost> {
  const h = await createHost(
    { privateKey: await generateKeyPair('secp256k1'), registry: hostRegistry, isBanned: () => false, gossipsub: gs },
    { listenAddress: '127.0.0.1', port: 0, maxPeers: 10, agentVersion: 'gossip-e2e' },
  )
  hosts.push(h)
  await h.start()
  return h
}

/** A gossipsub that forwards without validating, as a plain client would; B's also counts what it receives. */
function plainGossipsub(countReceived = false) {
  const metricsRegister = countReceived
    ? gossipsubMetricsTap({
        [GOSSIPSUB_RECEIVED_METRIC]: (kind, n) => receivedAtB.set(kind, (receivedAtB.get(kind) ?? 0) + n),
      })
    : null
  return gossipsub(
    gossipsubOptions(
      { forkSchedule, codec: new GossipCodec({ forkSchedule }), metricsRegister },
      { asyncValidation: false },
    ),
  )
}

/** Polls `cond` until true; throws naming `what` after WAIT.timeout (expect.poll is not available in beforeAll). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT.timeout
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, WAIT.interval))
  }
}

async function metric(line: string): Promise<number> {
  const found = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${line} `))
  return found ? Number(found.slice(line.length + 1)) : 0
}

function idOf(topic: string, data: Uint8Array): string {
  return messageIdToString(new GossipCodec({ forkSchedule }).msgIdFn({ type: 'unsigned', topic, data }))
}

beforeAll(async () => {
  cHost = await host(service.gossipsubFactory(), registry)
  C = cHost.services.gossipsub as GossipSubRouter
  service.start()
  const a = await host(plainGossipsub())
  const b = await host(plainGossipsub(true))
  const d = await host(plainGossipsub())
  ;[A, B, D] = [a.services.gossipsub!, b.services.gossipsub!, d.services.gossipsub!]
  for (const topic of [blockTopic, columnTopic(5), columnTopic(6)]) B.subscribe(topic)
  B.addEventListener('gossipsub:message', (e) => {
    deliveredAtB.set(e.detail.msgId, { topic: e.detail.msg.topic, data: e.detail.msg.data })
  })
  for (const h of [a, b, d]) await h.dial(cHost.getMultiaddrs()[0]!)
  const cId = cHost.peerId.toString()
  const bId = b.peerId.toString()
  // C has B in its meshes; A and D know C takes these topics.
  for (const topic of [blockTopic, columnTopic(5), columnTopic(6)]) {
    await until(() => C.getMeshPeers(topic).includes(bId), `B in C's mesh of ${topic}`)
    for (const pub of [A, D]) await until(() => pub.getSubscribers(topic).map(String).includes(cId), `C on ${topic}`)
  }
  // A and B are not connected to each other or to D: everything goes through C.
  expect(a.getPeers().map(String)).toEqual([cId])
  expect(b.getPeers().map(String)).toEqual([cId])
})

afterAll(async () => {
  service.stop()
  await Promise.all(hosts.map((h) => h.stop()))
})

describe('gossip relay through Contower (A → C → B)', () => {
  const slot = clock.currentSlot
  const block = compressBlock(chain.blockAt(slot)!.ssz)

  it('forwards a valid Fulu block of the current slot from A to B', async () => {
    await A.publish(blockTopic, block)
    const id = idOf(blockTopic, block)
    await expect.poll(() => deliveredAtB.has(id), WAIT).toBe(true)
    expect(Buffer.from(deliveredAtB.get(id)!.data).equals(Buffer.from(block))).toBe(true)
    expect(await metric('contower_gossip_accepted_total{kind="beacon_block"}')).toBe(1)
    await expect.poll(() => metric('contower_gossip_forwarded_total{kind="beacon_block"}'), WAIT).toBe(1)
  })

  it('drops bad snappy, a wrong SSZ shape, a far-future slot and a sidecar on the wrong subnet, counting each reason', async () => {
    const single = ssz.electra.SingleAttestation.serialize(ssz.electra.SingleAttestation.defaultValue())
    const future = ssz.fulu.SignedBeaconBlock.deserialize(chain.blockAt(slot)!.ssz)
    future.message.slot = slot + 1000
    future.message.body.executionPayload.timestamp = network.genesisTime + (slot + 1000) * SLOT_SECONDS
    const sidecar5 = compressBlock(chain.dataColumnSidecar(slot, 5)!)
    const bad = [
      { topic: blockTopic, data: chain.blockAt(slot)!.ssz }, // not snappy-compressed
      { topic: blockTopic, data: compressBlock(single) }, // a SingleAttestation is no SignedBeaconBlock
      { topic: blockTopic, data: compressBlock(ssz.fulu.SignedBeaconBlock.serialize(future)) },
      { topic: columnTopic(6), data: sidecar5 }, // column 5 belongs on subnet 5
    ]
    for (const m of bad) await A.publish(m.topic, m.data)
    await expect
      .poll(() => metric('contower_gossip_rejected_total{kind="beacon_block",reason="snappy_decode"}'), WAIT)
      .toBe(1)
    await expect
      .poll(() => metric('contower_gossip_rejected_total{kind="beacon_block",reason="ssz_decode"}'), WAIT)
      .toBe(1)
    await expect
      .poll(() => metric('contower_gossip_ignored_total{kind="beacon_block",reason="future_slot"}'), WAIT)
      .toBe(1)
    await expect
      .poll(() => metric('contower_gossip_rejected_total{kind="data_column_sidecar",reason="wrong_subnet"}'), WAIT)
      .toBe(1)
    expect(await metric('libp2p_pubsub_validation_failure_total')).toBe(3)

    // The same sidecar on its own subnet passes; once it has reached B, so would have anything C let through before.
    await A.publish(columnTopic(5), sidecar5)
    const goodId = idOf(columnTopic(5), sidecar5)
    await expect.poll(() => deliveredAtB.has(goodId), WAIT).toBe(true)
    for (const m of bad) expect(deliveredAtB.has(idOf(m.topic, m.data))).toBe(false)
    expect(receivedAtB.get('beacon_block')).toBe(1)
    expect(receivedAtB.get('data_column_sidecar')).toBe(1)
    expect(await metric('contower_gossip_accepted_total{kind="data_column_sidecar"}')).toBe(1)
  })

  it('does not forward a duplicate: the same block from D is dropped by its message id', async () => {
    await D.publish(blockTopic, block)
    // A message that follows the duplicate on the same path: once B has it, a forwarded duplicate would have arrived.
    const next = compressBlock(chain.dataColumnSidecar(slot, 6)!)
    await D.publish(columnTopic(6), next)
    await expect.poll(() => deliveredAtB.has(idOf(columnTopic(6), next)), WAIT).toBe(true)
    expect(receivedAtB.get('beacon_block')).toBe(1)
    expect(await metric('contower_gossip_duplicates_total{kind="beacon_block"}')).toBe(1)
    expect(await metric('contower_gossip_received_total{kind="beacon_block"}')).toBe(4)
    expect(await metric('contower_gossip_accepted_total{kind="beacon_block"}')).toBe(1)
  })
})
