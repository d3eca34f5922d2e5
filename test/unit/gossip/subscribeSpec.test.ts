import { describe, expect, it } from 'vitest'
import { GossipError, GossipErrorCode } from '../../../src/gossip/errors.js'
import {
  DEFAULT_SUBSCRIBE,
  parseSubscribeSpec,
  subscribedKinds,
  subscribedSubnets,
} from '../../../src/gossip/subscribeSpec.js'
import { topicNameString } from '../../../src/gossip/topics.js'

const names = (items: string[]) => parseSubscribeSpec(items).map(topicNameString)

function errorOf(items: string[]): GossipError {
  try {
    parseSubscribeSpec(items)
  } catch (e) {
    expect(e).toBeInstanceOf(GossipError)
    return e as GossipError
  }
  throw new Error(`accepted ${JSON.stringify(items)}`)
}

describe('parseSubscribeSpec (--subscribe)', () => {
  it('defaults to the global topics (the nine of the issue, and Gloas’s four), and nothing else', () => {
    const expected = [
      'beacon_block',
      'beacon_aggregate_and_proof',
      'voluntary_exit',
      'proposer_slashing',
      'attester_slashing',
      'sync_committee_contribution_and_proof',
      'bls_to_execution_change',
      'light_client_finality_update',
      'light_client_optimistic_update',
      'execution_payload',
      'payload_attestation_message',
      'execution_payload_bid',
      'proposer_preferences',
    ]
    expect(names([])).toEqual(expected)
    expect(names([' ', ''])).toEqual(expected)
    expect(names(['default'])).toEqual(expected)
    expect([...DEFAULT_SUBSCRIBE].sort()).toEqual([...expected].sort())
  })

  it('takes global topics, single subnets, ranges and _all, in canonical order without repeats', () => {
    expect(names(['beacon_attestation_5', 'beacon_block', 'beacon_attestation_1', 'beacon_attestation_5'])).toEqual([
      'beacon_block',
      'beacon_attestation_1',
      'beacon_attestation_5',
    ])
    expect(names(['sync_committee_1-2', ' voluntary_exit '])).toEqual([
      'voluntary_exit',
      'sync_committee_1',
      'sync_committee_2',
    ])
    const all = parseSubscribeSpec(['data_column_sidecar_all', 'beacon_attestation_all'])
    expect(all).toHaveLength(128 + 64)
    expect(subscribedKinds(all)).toEqual(['beacon_attestation', 'data_column_sidecar'])
    const withDefault = names(['default', 'sync_committee_all'])
    expect(withDefault).toHaveLength(13 + 4)
    expect(withDefault.slice(-4)).toEqual([
      'sync_committee_0',
      'sync_committee_1',
      'sync_committee_2',
      'sync_committee_3',
    ])
  })

  it('"none" subscribes to nothing, and only alone', () => {
    expect(parseSubscribeSpec(['none'])).toEqual([])
    const err = errorOf(['none', 'beacon_block'])
    expect(err.code).toBe(GossipErrorCode.SUBSCRIBE_NONE_WITH_OTHERS)
    expect(err.input).toBe('beacon_block')
  })

  it('names the bad item in a typed error', () => {
    const cases: Array<[string, GossipErrorCode]> = [
      ['beacon_blocks', GossipErrorCode.SUBSCRIBE_UNKNOWN_ITEM],
      ['blob_sidecar_0', GossipErrorCode.SUBSCRIBE_UNKNOWN_ITEM],
      ['BEACON_BLOCK', GossipErrorCode.SUBSCRIBE_UNKNOWN_ITEM],
      ['beacon_attestation', GossipErrorCode.SUBSCRIBE_UNKNOWN_ITEM],
      ['beacon_attestation_64', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
      ['beacon_attestation_01', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
      ['beacon_attestation_x', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
      ['sync_committee_3-1', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
      ['sync_committee_0-4', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
      ['data_column_sidecar_128', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
      ['data_column_sidecar_ALL', GossipErrorCode.SUBSCRIBE_BAD_SUBNET],
    ]
    for (const [item, code] of cases) {
      const err = errorOf(['beacon_block', item])
      expect(err.code, item).toBe(code)
      expect(err.input, item).toBe(item)
      expect(err.message).toContain(JSON.stringify(item))
    }
  })

  it('reports the subnets covered, for MetaData attnets/syncnets', () => {
    const spec = parseSubscribeSpec([
      'beacon_block',
      'beacon_attestation_3',
      'beacon_attestation_0',
      'sync_committee_2',
    ])
    expect(subscribedSubnets(spec)).toEqual({
      beacon_attestation: [0, 3],
      sync_committee: [2],
      data_column_sidecar: [],
    })
  })
})
