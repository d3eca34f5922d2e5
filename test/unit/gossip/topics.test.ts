import { describe, expect, it } from 'vitest'
import { GossipError, GossipErrorCode } from '../../../src/gossip/errors.js'
import {
  formatTopic,
  kindExistsInFork,
  parseTopic,
  SUBNET_COUNTS,
  TOPIC_KINDS,
  topicNameString,
} from '../../../src/gossip/topics.js'

function codeOf(fn: () => unknown): GossipErrorCode | null {
  try {
    fn()
    return null
  } catch (e) {
    expect(e).toBeInstanceOf(GossipError)
    return (e as GossipError).code
  }
}

describe('gossip topics', () => {
  it('formats the spec form /eth2/{digest}/{name}/ssz_snappy', () => {
    expect(formatTopic('cc2c5cdb', { kind: 'beacon_block', subnet: null })).toBe(
      '/eth2/cc2c5cdb/beacon_block/ssz_snappy',
    )
    expect(formatTopic('cc2c5cdb', { kind: 'beacon_attestation', subnet: 63 })).toBe(
      '/eth2/cc2c5cdb/beacon_attestation_63/ssz_snappy',
    )
    expect(formatTopic('cc2c5cdb', { kind: 'data_column_sidecar', subnet: 127 })).toBe(
      '/eth2/cc2c5cdb/data_column_sidecar_127/ssz_snappy',
    )
  })

  it('parses every topic it formats back to the same digest, kind and subnet', () => {
    let count = 0
    for (const kind of TOPIC_KINDS) {
      const subnets = kind in SUBNET_COUNTS ? [0, SUBNET_COUNTS[kind as keyof typeof SUBNET_COUNTS] - 1] : [null]
      for (const subnet of subnets) {
        const topic = formatTopic('0a1b2c3d', { kind, subnet })
        expect(parseTopic(topic)).toEqual({ digestHex: '0a1b2c3d', kind, subnet })
        count++
      }
    }
    // 13 global kinds (9, and Gloas's 4) + first and last subnet of three families.
    expect(count).toBe(13 + 6)
    expect(topicNameString({ kind: 'sync_committee', subnet: 3 })).toBe('sync_committee_3')
  })

  it('refuses malformed topics with a typed error naming the topic', () => {
    const cases: Array<[string, GossipErrorCode]> = [
      ['/eth2/cc2c5cdb/beacon_block', GossipErrorCode.TOPIC_MALFORMED],
      ['eth2/cc2c5cdb/beacon_block/ssz_snappy', GossipErrorCode.TOPIC_MALFORMED],
      ['/eth1/cc2c5cdb/beacon_block/ssz_snappy', GossipErrorCode.TOPIC_MALFORMED],
      ['/eth2/CC2C5CDB/beacon_block/ssz_snappy', GossipErrorCode.TOPIC_MALFORMED],
      ['/eth2/cc2c5cd/beacon_block/ssz_snappy', GossipErrorCode.TOPIC_MALFORMED],
      ['/eth2/0xcc2c5cdb/beacon_block/ssz_snappy', GossipErrorCode.TOPIC_MALFORMED],
      ['/eth2/cc2c5cdb/beacon_block/ssz', GossipErrorCode.TOPIC_BAD_ENCODING],
      ['/eth2/cc2c5cdb/blob_sidecar_0/ssz_snappy', GossipErrorCode.TOPIC_UNKNOWN_NAME],
      ['/eth2/cc2c5cdb/beacon_attestation/ssz_snappy', GossipErrorCode.TOPIC_UNKNOWN_NAME],
      ['/eth2/cc2c5cdb/beacon_attestation_64/ssz_snappy', GossipErrorCode.TOPIC_BAD_SUBNET],
      ['/eth2/cc2c5cdb/beacon_attestation_05/ssz_snappy', GossipErrorCode.TOPIC_BAD_SUBNET],
      ['/eth2/cc2c5cdb/beacon_attestation_-1/ssz_snappy', GossipErrorCode.TOPIC_BAD_SUBNET],
      ['/eth2/cc2c5cdb/sync_committee_4/ssz_snappy', GossipErrorCode.TOPIC_BAD_SUBNET],
      ['/eth2/cc2c5cdb/data_column_sidecar_128/ssz_snappy', GossipErrorCode.TOPIC_BAD_SUBNET],
      ['/eth2/cc2c5cdb/data_column_sidecar_1e2/ssz_snappy', GossipErrorCode.TOPIC_BAD_SUBNET],
    ]
    for (const [topic, code] of cases)
      expect(
        codeOf(() => parseTopic(topic)),
        topic,
      ).toBe(code)
    try {
      parseTopic('/eth2/cc2c5cdb/beacon_attestation_64/ssz_snappy')
    } catch (e) {
      expect((e as GossipError).input).toBe('/eth2/cc2c5cdb/beacon_attestation_64/ssz_snappy')
      expect((e as GossipError).message).toContain('0 to 63')
    }
  })

  it('knows which fork introduced each topic', () => {
    expect(kindExistsInFork('beacon_block', 'phase0')).toBe(true)
    expect(kindExistsInFork('sync_committee', 'phase0')).toBe(false)
    expect(kindExistsInFork('sync_committee', 'altair')).toBe(true)
    expect(kindExistsInFork('bls_to_execution_change', 'bellatrix')).toBe(false)
    expect(kindExistsInFork('bls_to_execution_change', 'capella')).toBe(true)
    expect(kindExistsInFork('data_column_sidecar', 'electra')).toBe(false)
    expect(kindExistsInFork('data_column_sidecar', 'fulu')).toBe(true)
    for (const kind of ['execution_payload', 'payload_attestation_message', 'execution_payload_bid'] as const) {
      expect(kindExistsInFork(kind, 'fulu')).toBe(false)
      expect(kindExistsInFork(kind, 'gloas')).toBe(true)
    }
    expect(kindExistsInFork('proposer_preferences', 'fulu')).toBe(false)
    expect(kindExistsInFork('proposer_preferences', 'gloas')).toBe(true)
    // A fork newer than this code keeps every topic; validation IGNOREs what it cannot judge.
    expect(kindExistsInFork('data_column_sidecar', 'someday')).toBe(true)
  })
})
