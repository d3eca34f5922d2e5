import type { GossipSub } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { ssz } from '@lodestar/types'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { GossipError, GossipErrorCode } from '../../../src/gossip/errors.js'
import { GossipService } from '../../../src/gossip/gossipService.js'
import { parseSubscribeSpec } from '../../../src/gossip/subscribeSpec.js'
import { formatTopic } from '../../../src/gossip/topics.js'
import { createLogger } from '../../../src/logger.js'
import { compressBlock, decompressBlock } from '../../../src/wire/snappyBlock.js'
import { msAt, SLOTS_PER_EPOCH, testNetwork } from './fixtures.js'

/** The part of a gossipsub router GossipService drives, recording what it is told. */
class FakeRouter extends EventTarget {
  readonly subscriptions = new Set<string>()
  readonly log: string[] = []
  readonly reports: Array<{ msgId: string; from: string; result: TopicValidatorResult }> = []
  readonly published: Array<{ topic: string; data: Uint8Array }> = []
  meshPeers = new Map<string, string[]>()

  subscribe(topic: string) {
    this.subscriptions.add(topic)
    this.log.push(`+${topic}`)
  }
  unsubscribe(topic: string) {
    this.subscriptions.delete(topic)
    this.log.push(`-${topic}`)
  }
  getMeshPeers(topic: string) {
    return this.meshPeers.get(topic) ?? []
  }
  reportMessageValidationResult(msgId: string, from: string, result: TopicValidatorResult) {
    this.reports.push({ msgId, from, result })
  }
  async publish(topic: string, data: Uint8Array) {
    this.published.push({ topic, data })
    return { recipients: [] }
  }
}

const logger = createLogger({ level: 'silent', format: 'json' })

function setup(opts: { fulu?: number; gloas?: number; subscribe?: string[] } = {}) {
  const network = testNetwork({
    ...(opts.fulu === undefined ? {} : { FULU: opts.fulu }),
    ...(opts.gloas === undefined ? {} : { GLOAS: opts.gloas }),
  })
  const forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
  const clock = Clock.fromChainConfig(network.config, network.genesisTime)
  const registry = new Registry()
  const service = new GossipService(
    { forkSchedule, clock, registry, logger },
    { subscribe: parseSubscribeSpec(opts.subscribe ?? []) },
  )
  const router = new FakeRouter()
  service.attach(router as unknown as GossipSub)
  const digest = (epoch: number) => forkSchedule.digestHexAtEpoch(epoch)
  return { network, forkSchedule, clock, registry, service, router, digest }
}

async function metric(registry: Registry, line: string): Promise<number> {
  const text = await registry.metrics()
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found ? Number(found.slice(line.length + 1)) : 0
}

describe('GossipService subscriptions', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('joins the next digest two epochs before its fork and leaves the old one two epochs after', () => {
    vi.setSystemTime(msAt(7 * SLOTS_PER_EPOCH))
    const { service, router, digest } = setup({ fulu: 10, subscribe: ['beacon_block', 'data_column_sidecar_3'] })
    const electra = digest(0)
    const fulu = digest(10)
    expect(electra).not.toBe(fulu)
    service.start()
    // Electra has no data column topics.
    expect([...router.subscriptions]).toEqual([formatTopic(electra, { kind: 'beacon_block', subnet: null })])

    const runToEpoch = (epoch: number) => {
      vi.advanceTimersByTime(msAt(epoch * SLOTS_PER_EPOCH, 50) - Date.now())
    }
    runToEpoch(8)
    expect(new Set(service.topics())).toEqual(
      new Set([
        formatTopic(electra, { kind: 'beacon_block', subnet: null }),
        formatTopic(fulu, { kind: 'beacon_block', subnet: null }),
        formatTopic(fulu, { kind: 'data_column_sidecar', subnet: 3 }),
      ]),
    )
    runToEpoch(11)
    expect(service.topics()).toHaveLength(3)
    runToEpoch(12)
    expect(new Set(router.subscriptions)).toEqual(
      new Set([
        formatTopic(fulu, { kind: 'beacon_block', subnet: null }),
        formatTopic(fulu, { kind: 'data_column_sidecar', subnet: 3 }),
      ]),
    )
    expect(router.log.filter((l) => l.startsWith('-'))).toEqual([
      `-${formatTopic(electra, { kind: 'beacon_block', subnet: null })}`,
    ])
    service.stop()
    // Stopped: every topic left, no timer left.
    expect(router.subscriptions.size).toBe(0)
    expect(service.topics()).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('joins Gloas’s new global topics by default, on the Gloas digest only (two epochs before its fork)', () => {
    vi.setSystemTime(msAt(5 * SLOTS_PER_EPOCH))
    const { service, digest } = setup({ gloas: 8 })
    const fulu = digest(0)
    const gloas = digest(8)
    const NEW = ['execution_payload', 'payload_attestation_message', 'execution_payload_bid', 'proposer_preferences']
    const on = (d: string) => NEW.map((kind) => formatTopic(d, { kind: kind as 'beacon_block', subnet: null }))
    service.start()
    expect(service.topics()).toHaveLength(9)
    vi.advanceTimersByTime(msAt(6 * SLOTS_PER_EPOCH, 50) - Date.now())
    const topics = new Set(service.topics())
    for (const topic of on(gloas)) expect(topics.has(topic), topic).toBe(true)
    for (const topic of on(fulu)) expect(topics.has(topic), topic).toBe(false)
    expect(topics.size).toBe(9 + 13)
    service.stop()
  })

  it('subscribes to the --subscribe set and reports the subnets it covers', () => {
    vi.setSystemTime(msAt(5))
    const { service, router } = setup({ subscribe: ['default', 'beacon_attestation_2-3', 'sync_committee_1'] })
    service.start()
    expect(router.subscriptions.size).toBe(9 + 2 + 1)
    expect(service.subnets()).toEqual({ beacon_attestation: [2, 3], sync_committee: [1], data_column_sidecar: [] })
    service.start() // idempotent
    expect(router.log).toHaveLength(12)
    service.stop()
    service.stop()
  })

  it('waits for genesis without spinning (a wait beyond setTimeout’s range is capped)', () => {
    vi.setSystemTime(msAt(0, 0) - 40 * 24 * 3600 * 1000)
    const { service, router, clock } = setup({ subscribe: ['beacon_block'] })
    service.start()
    expect(router.subscriptions.size).toBe(1)
    const checks = vi.spyOn(clock, 'msUntilNextSlot')
    vi.advanceTimersByTime(60_000)
    expect(checks).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(1)
    service.stop()
  })

  it('needs a gossipsub router to start', () => {
    const network = testNetwork()
    const forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const clock = Clock.fromChainConfig(network.config, network.genesisTime)
    const service = new GossipService({ forkSchedule, clock, registry: null, logger })
    expect(() => service.start()).toThrow(GossipError)
    expect(() => service.attach({} as GossipSub)).toThrow(TypeError)
  })
})

describe('GossipService message handling', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  const SLOT = 4
  function deliver(s: ReturnType<typeof setup>, topic: string, data: Uint8Array, msgId = 'id') {
    const msg = { type: 'unsigned' as const, topic, data }
    s.service.codec.msgIdFn(msg) // as gossipsub does before emitting
    const detail = { msgId, propagationSource: { toString: () => 'peer-a' }, msg }
    s.router.dispatchEvent(new CustomEvent('gossipsub:message', { detail }))
  }

  it('validates each message and reports the verdict to gossipsub, counted by kind and reason', async () => {
    const s = setup({ subscribe: ['beacon_block'] })
    const chain = new SyntheticChain({ network: s.network }, { payloadBytes: 1000 })
    vi.spyOn(Date, 'now').mockReturnValue(msAt(SLOT))
    s.service.start()
    const topic = formatTopic(s.digest(0), { kind: 'beacon_block', subnet: null })
    const block = chain.blockAt(SLOT)!.ssz

    deliver(s, topic, compressBlock(block), 'good')
    deliver(s, topic, block, 'bad-snappy')
    deliver(s, topic, compressBlock(chain.blockAt(SLOT + 5)!.ssz), 'future')
    expect(s.router.reports).toEqual([
      { msgId: 'good', from: 'peer-a', result: TopicValidatorResult.Accept },
      { msgId: 'bad-snappy', from: 'peer-a', result: TopicValidatorResult.Reject },
      { msgId: 'future', from: 'peer-a', result: TopicValidatorResult.Ignore },
    ])
    const r = s.registry
    expect(await metric(r, 'contower_gossip_received_total{kind="beacon_block"}')).toBe(3)
    expect(await metric(r, 'contower_gossip_accepted_total{kind="beacon_block"}')).toBe(1)
    expect(await metric(r, 'contower_gossip_rejected_total{kind="beacon_block",reason="snappy_decode"}')).toBe(1)
    expect(await metric(r, 'contower_gossip_ignored_total{kind="beacon_block",reason="future_slot"}')).toBe(1)
    expect(await metric(r, 'libp2p_pubsub_validation_failure_total')).toBe(1)

    // A validator bug never lets a message through.
    vi.spyOn(s.service.validator, 'validate').mockImplementation(() => {
      throw new Error('bug')
    })
    deliver(s, topic, compressBlock(block), 'oops')
    expect(s.router.reports.at(-1)).toEqual({ msgId: 'oops', from: 'peer-a', result: TopicValidatorResult.Ignore })
    expect(await metric(r, 'contower_gossip_ignored_total{kind="beacon_block",reason="validator_error"}')).toBe(1)

    s.service.stop()
    deliver(s, topic, compressBlock(block), 'after-stop')
    expect(s.router.reports.at(-1)!.msgId).toBe('oops')
  })

  it('shows mesh peers of the global topics at the current digest', async () => {
    const s = setup({ subscribe: ['beacon_block', 'voluntary_exit', 'beacon_attestation_1'] })
    vi.spyOn(Date, 'now').mockReturnValue(msAt(SLOT))
    s.service.start()
    const t = (kind: 'beacon_block' | 'beacon_attestation', subnet: number | null = null) =>
      formatTopic(s.digest(0), { kind, subnet })
    s.router.meshPeers.set(t('beacon_block'), ['p1', 'p2', 'p3'])
    s.router.meshPeers.set(t('beacon_attestation', 1), ['p1'])
    expect(await metric(s.registry, 'gossipsub_mesh_peers_per_main_topic{topic="beacon_block"}')).toBe(3)
    expect(await metric(s.registry, 'gossipsub_mesh_peers_per_main_topic{topic="voluntary_exit"}')).toBe(0)
    expect(await s.registry.metrics()).not.toContain('gossipsub_mesh_peers_per_main_topic{topic="beacon_attestation"}')
    s.service.stop()
  })

  it('publishes SSZ snappy-compressed on a topic of this chain only', async () => {
    const s = setup()
    const exit = ssz.phase0.SignedVoluntaryExit.serialize(ssz.phase0.SignedVoluntaryExit.defaultValue())
    const topic = formatTopic(s.digest(0), { kind: 'voluntary_exit', subnet: null })
    await expect(s.service.publish(topic, exit)).rejects.toMatchObject({ code: GossipErrorCode.LIFECYCLE })
    vi.spyOn(Date, 'now').mockReturnValue(msAt(SLOT))
    s.service.start()
    await s.service.publish(topic, exit)
    expect(s.router.published).toHaveLength(1)
    expect(decompressBlock(s.router.published[0]!.data, 1000)).toEqual(exit)
    expect(await metric(s.registry, 'contower_gossip_published_total{kind="voluntary_exit"}')).toBe(1)
    await expect(s.service.publish('/eth2/00000000/voluntary_exit/ssz_snappy', exit)).rejects.toMatchObject({
      code: GossipErrorCode.TOPIC_UNKNOWN_DIGEST,
    })
    await expect(s.service.publish('/eth2/x/voluntary_exit/ssz_snappy', exit)).rejects.toBeInstanceOf(GossipError)
    s.service.stop()
  })
})
