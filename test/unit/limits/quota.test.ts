import { describe, expect, it } from 'vitest'
import { LODESTAR_QUOTAS } from '../../../src/spec/quotas.js'
import { QuotaSpecError, parseQuotaSpec } from '../../../src/config/quotaSpec.js'
import { quotaMap } from '../../../src/limits/quota.js'
import { PROTOCOLS } from '../../../src/reqresp/protocols.js'

describe('parseQuotaSpec', () => {
  it('parses protocol:tokens/seconds', () => {
    expect(parseQuotaSpec('beacon_blocks_by_range:128/10')).toEqual({
      protocol: 'beacon_blocks_by_range',
      quota: { tokens: 128, seconds: 10 },
    })
    expect(parseQuotaSpec(' status:5/15 ')).toEqual({ protocol: 'status', quota: { tokens: 5, seconds: 15 } })
    expect(parseQuotaSpec('ping:2/0.5').quota).toEqual({ tokens: 2, seconds: 0.5 })
    expect(parseQuotaSpec('ping:2/.25').quota).toEqual({ tokens: 2, seconds: 0.25 })
    expect(parseQuotaSpec('ping:2/12.').quota).toEqual({ tokens: 2, seconds: 12 })
  })

  it.each([
    ['', 'not of the form'],
    ['status', 'not of the form'],
    ['status:5', 'not of the form'],
    ['status=5/15', 'not of the form'],
    [':5/15', 'protocol'],
    ['Status:5/15', 'protocol'],
    ['/eth2/status:5/15', 'protocol'],
    ['status:0/15', 'tokens'],
    ['status:-1/15', 'tokens'],
    ['status:1.5/15', 'tokens'],
    ['status:1e3/15', 'tokens'],
    ['status:/15', 'tokens'],
    ['status:99999999999999999999/15', 'tokens'],
    ['status:5/', 'seconds'],
    ['status:5/0', 'seconds'],
    ['status:5/-1', 'seconds'],
    ['status:5/abc', 'seconds'],
    ['status:5/1e3', 'seconds'],
    ['status:5/15/2', 'seconds'],
    ['status:5/15s', 'seconds'],
  ])('refuses %j, naming the text and the expected form', (text, problem) => {
    let err: unknown
    try {
      parseQuotaSpec(text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(QuotaSpecError)
    const e = err as QuotaSpecError
    expect(e.code).toBe('QUOTA_SPEC_INVALID')
    expect(e.text).toBe(text)
    expect(e.problem).toContain(problem)
    expect(e.message).toContain(JSON.stringify(text))
    expect(e.message).toContain('protocol:tokens/seconds')
  })
})

describe('LODESTAR_QUOTAS', () => {
  it('holds Lodestar’s per-peer quotas (eth2-p2p.md §6)', () => {
    expect(LODESTAR_QUOTAS).toEqual({
      status: { tokens: 5, seconds: 15 },
      goodbye: { tokens: 1, seconds: 10 },
      ping: { tokens: 2, seconds: 10 },
      metadata: { tokens: 2, seconds: 5 },
      beacon_blocks_by_range: { tokens: 128, seconds: 10 },
      beacon_blocks_by_root: { tokens: 128, seconds: 10 },
      blob_sidecars_by_range: { tokens: 1152, seconds: 10 },
      blob_sidecars_by_root: { tokens: 1152, seconds: 10 },
      data_column_sidecars_by_range: { tokens: 16384, seconds: 10 },
      data_column_sidecars_by_root: { tokens: 16384, seconds: 10 },
      execution_payload_envelopes_by_range: { tokens: 128, seconds: 10 },
      execution_payload_envelopes_by_root: { tokens: 128, seconds: 10 },
      light_client_bootstrap: { tokens: 5, seconds: 15 },
      light_client_updates_by_range: { tokens: 128, seconds: 10 },
      light_client_finality_update: { tokens: 2, seconds: 12 },
      light_client_optimistic_update: { tokens: 2, seconds: 12 },
    })
    expect(Object.isFrozen(LODESTAR_QUOTAS)).toBe(true)
  })

  it('covers every protocol in the req/resp registry', () => {
    const names = new Set([...PROTOCOLS.values()].map((p) => p.name))
    expect([...names].filter((n) => !(n in LODESTAR_QUOTAS))).toEqual([])
  })
})

describe('quotaMap', () => {
  it('copies Lodestar’s quotas and applies overrides in order', () => {
    const map = quotaMap(['beacon_blocks_by_range:64/10', 'my_proto:3/1', 'beacon_blocks_by_range:32/10'])
    expect(map.get('beacon_blocks_by_range')).toEqual({ tokens: 32, seconds: 10 })
    expect(map.get('my_proto')).toEqual({ tokens: 3, seconds: 1 })
    expect(map.get('status')).toEqual({ tokens: 5, seconds: 15 })
    map.get('status')!.tokens = 99
    expect(LODESTAR_QUOTAS.status.tokens).toBe(5)
  })

  it('takes another base and throws on a bad override', () => {
    expect([...quotaMap([], { ping: { tokens: 1, seconds: 1 } })]).toEqual([['ping', { tokens: 1, seconds: 1 }]])
    expect(() => quotaMap(['ping:x/1'])).toThrow(QuotaSpecError)
  })
})
