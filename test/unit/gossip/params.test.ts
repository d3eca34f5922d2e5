import { StrictNoSign } from '@libp2p/gossipsub'
import {
  createPeerScoreParams,
  createPeerScoreThresholds,
  validatePeerScoreParams,
  validatePeerScoreThresholds,
} from '@libp2p/gossipsub/score'
import { describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import { GossipCodec } from '../../../src/gossip/gossipCodec.js'
import { gossipsubMetricsTap } from '../../../src/gossip/gossipsubMetrics.js'
import { gossipsubOptions, MAX_GOSSIP_RPC_BYTES } from '../../../src/gossip/params.js'
import { MAX_POSITIVE_SCORE, TOPIC_SCORE_CAP } from '../../../src/gossip/scoreParams.js'
import { formatTopic } from '../../../src/gossip/topics.js'
import { testNetwork } from './fixtures.js'

const mainnet = loadNetworkPreset('mainnet')
const forkSchedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
const codec = new GossipCodec({ forkSchedule })
const opts = gossipsubOptions({ forkSchedule, codec })
// Mainnet's BPO2 digest (eth2-p2p.md §5): the current one.
const bpo2 = (name: string, subnet: number | null = null) =>
  formatTopic('8c9f62fe', { kind: name as 'beacon_block', subnet })

describe('gossipsub options (mainnet)', () => {
  it('carries the spec parameters, StrictNoSign, our message id and the size limit', () => {
    expect(opts).toMatchObject({
      D: 8,
      Dlo: 6,
      Dhi: 12,
      Dlazy: 6,
      heartbeatInterval: 700,
      fanoutTTL: 60_000,
      mcacheLength: 6,
      mcacheGossip: 3,
      seenTTL: 768_000,
      globalSignaturePolicy: StrictNoSign,
      asyncValidation: true,
      fallbackToFloodsub: false,
      floodPublish: true,
      doPX: false,
    })
    expect(opts.msgIdFn).toBe(codec.msgIdFn)
    // max_message_size() = max_compressed_len(10 MiB) + 1024 (phase0 p2p-interface.md).
    expect(MAX_GOSSIP_RPC_BYTES).toBe(12_234_442)
    expect(opts.maxInboundDataLength).toBe(12_234_442)
  })

  it('allows exactly the topics of this chain’s digests (and labels each with its kind)', () => {
    const allowed = new Set(opts.allowedTopics)
    expect(allowed.has(bpo2('beacon_block'))).toBe(true)
    expect(allowed.has(bpo2('data_column_sidecar', 127))).toBe(true)
    expect(allowed.has(bpo2('beacon_attestation', 64))).toBe(false)
    expect(allowed.has('/eth2/00000000/beacon_block/ssz_snappy')).toBe(false)
    // phase0's digest has no sync committee topics.
    expect(allowed.has(formatTopic('b5303f2a', { kind: 'sync_committee', subnet: 0 }))).toBe(false)
    expect(allowed.has(formatTopic('b5303f2a', { kind: 'beacon_block', subnet: null }))).toBe(true)
    expect(opts.metricsTopicStrToLabel!.get(bpo2('beacon_attestation', 5))).toBe('beacon_attestation')
    expect(opts.metricsRegister).toBeNull()
  })

  it('scores as the clients do: thresholds, weights, decay, IP colocation −55 over 3 peers', () => {
    const thresholds = createPeerScoreThresholds(opts.scoreThresholds)
    expect(() => validatePeerScoreThresholds(thresholds)).not.toThrow()
    expect(thresholds).toEqual({
      gossipThreshold: -4000,
      publishThreshold: -8000,
      graylistThreshold: -16000,
      acceptPXThreshold: 100,
      opportunisticGraftThreshold: 5,
    })
    const params = createPeerScoreParams(opts.scoreParams)
    expect(() => validatePeerScoreParams(params)).not.toThrow()
    expect(MAX_POSITIVE_SCORE).toBeCloseTo(110)
    expect(TOPIC_SCORE_CAP).toBeCloseTo(55)
    expect(params).toMatchObject({ decayInterval: 12_000, decayToZero: 0.01, IPColocationFactorThreshold: 3 })
    expect(params.IPColocationFactorWeight).toBeCloseTo(-55)
    const weight = (topic: string) => params.topics[topic]!.topicWeight
    expect(weight(bpo2('beacon_block'))).toBe(0.5)
    expect(weight(bpo2('beacon_aggregate_and_proof'))).toBe(0.5)
    expect(weight(bpo2('beacon_attestation', 3))).toBe(1 / 64)
    expect(weight(bpo2('voluntary_exit'))).toBe(0.05)
    expect(weight(bpo2('bls_to_execution_change'))).toBe(0.05)
    // One invalid message costs −110 on every topic (P4 = weight × count², scaled by the topic weight).
    for (const topic of [bpo2('beacon_block'), bpo2('beacon_attestation', 1), bpo2('data_column_sidecar', 9)]) {
      const t = params.topics[topic]!
      expect(t.invalidMessageDeliveriesWeight * t.topicWeight, topic).toBeCloseTo(-110)
      // No mesh-delivery penalties: a stateless relay cannot know the expected rates.
      expect(t.meshMessageDeliveriesWeight).toBe(0)
    }
    // Unscored by the clients: only P4 here.
    const column = params.topics[bpo2('data_column_sidecar', 9)]!
    expect(column.timeInMeshWeight).toBe(0)
    expect(column.firstMessageDeliveriesWeight).toBe(0)
    // Positive scores cap at 10 for time in mesh and 40 for first deliveries.
    const block = params.topics[bpo2('beacon_block')]!
    expect(block.timeInMeshWeight * block.timeInMeshCap).toBeCloseTo(10)
    expect(block.firstMessageDeliveriesWeight * block.firstMessageDeliveriesCap).toBeCloseTo(40)
  })

  it('whitelists the IPs it is given from the colocation penalty', () => {
    const devnet = gossipsubOptions({ forkSchedule, codec }, { ipColocationWhitelist: ['127.0.0.1'] })
    expect([...createPeerScoreParams(devnet.scoreParams).IPColocationFactorWhitelist]).toEqual(['127.0.0.1'])
  })
})

describe('gossipsub scores on a Gloas chain', () => {
  it('scores Gloas’s new topics on invalid messages only (P4), like the other topics clients leave unscored', () => {
    const network = testNetwork({ GLOAS: 1 })
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const gloasCodec = new GossipCodec({ forkSchedule: schedule })
    const params = createPeerScoreParams(gossipsubOptions({ forkSchedule: schedule, codec: gloasCodec }).scoreParams)
    expect(() => validatePeerScoreParams(params)).not.toThrow()
    const gloas = schedule.digestHexAtEpoch(1)
    for (const kind of [
      'execution_payload',
      'payload_attestation_message',
      'execution_payload_bid',
      'proposer_preferences',
    ] as const) {
      const t = params.topics[formatTopic(gloas, { kind, subnet: null })]!
      expect(t, kind).toBeDefined()
      expect(t.invalidMessageDeliveriesWeight * t.topicWeight, kind).toBeCloseTo(-110)
      expect(t.timeInMeshWeight, kind).toBe(0)
      expect(t.firstMessageDeliveriesWeight, kind).toBe(0)
    }
  })
})

describe('gossipsubMetricsTap', () => {
  it('passes on increments of the tapped metrics with their topic label, and swallows the rest', () => {
    const seen: Array<[string, string, number]> = []
    const register = gossipsubMetricsTap({
      a_total: (label, value) => seen.push(['a', label, value]),
      b_total: (label, value) => seen.push(['b', label, value]),
    })
    const a = register.gauge<{ topic: string }>({ name: 'a_total', help: '', labelNames: ['topic'] })
    const b = register.gauge({ name: 'b_total', help: '' })
    const other = register.gauge<{ topic: string }>({ name: 'other_total', help: '', labelNames: ['topic'] })
    a.inc({ topic: 'beacon_block' })
    a.inc({ topic: 'beacon_attestation' }, 3)
    b.inc()
    b.inc(2)
    other.inc({ topic: 'x' })
    other.set({ topic: 'x' }, 5)
    register.histogram({ name: 'h', help: '' }).observe(1)
    register.histogram({ name: 'h', help: '' }).startTimer()()
    register.avgMinMax({ name: 'm', help: '' }).set([1, 2])
    expect(seen).toEqual([
      ['a', 'beacon_block', 1],
      ['a', 'beacon_attestation', 3],
      ['b', '', 1],
      ['b', '', 2],
    ])
  })
})
