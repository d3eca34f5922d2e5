import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { NUMBER_OF_COLUMNS, rangeParts, type RelayRequest } from '../../../src/relay/relayRequest.js'
import { MAX_REQUEST_DATA_COLUMN_SIDECARS } from '../../../src/spec/reqresp.js'
import { ResponseError } from '../../../src/reqresp/errors.js'
import type { ProtocolName } from '../../../src/reqresp/protocols.js'
import { RespCode } from '../../../src/wire/constants.js'
import { defOf, hex, relayRequest } from './fixtures.js'

const root = (n: number) => new Uint8Array(32).fill(n)
const allColumns = () => Array.from({ length: NUMBER_OF_COLUMNS }, (_, i) => i)

function expectInvalid(name: ProtocolName, decoded: unknown, message: RegExp): void {
  let error: unknown
  try {
    relayRequest(name, decoded)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(ResponseError)
  expect((error as ResponseError).respCode).toBe(RespCode.InvalidRequest)
  expect((error as ResponseError).message).toMatch(message)
}

/** The request a relay request sends upstream, decoded again. */
function sent(req: RelayRequest): unknown {
  return req.def.request!.deserialize(req.ssz!)
}

describe('toRelayRequest: beacon_blocks_by_range', () => {
  it('keeps a canonical request as it is', () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 1000, count: 64, step: 1 })
    expect(req.def).toBe(defOf('beacon_blocks_by_range'))
    expect(hex(req.ssz!)).toBe(
      hex(ssz.phase0.BeaconBlocksByRangeRequest.serialize({ startSlot: 1000, count: 64, step: 1 })),
    )
    expect(req.range).toEqual({ startSlot: 1000, endSlot: 1064 })
    expect(req.cost).toBe(64)
    expect(req.maxChunks).toBe(64)
    expect(req.roots).toBeNull()
    expect(req.columns).toBeNull()
    expect(req.blockRoots).toBeNull()
  })

  it('clamps count to MAX_REQUEST_BLOCKS_DENEB and forces step to 1', () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 7, count: 1000, step: 5 })
    expect(sent(req)).toEqual({ startSlot: 7, count: 128, step: 1 })
    expect(req.range).toEqual({ startSlot: 7, endSlot: 135 })
    expect(req.cost).toBe(128)
    expect(req.maxChunks).toBe(128)
    // 129 is the first count that needs the clamp; 128 is left alone.
    expect(sent(relayRequest('beacon_blocks_by_range', { startSlot: 7, count: 129, step: 1 }))).toEqual({
      startSlot: 7,
      count: 128,
      step: 1,
    })
    expect(relayRequest('beacon_blocks_by_range', { startSlot: 7, count: 128, step: 1 }).key).toBe(req.key)
    expect(relayRequest('beacon_blocks_by_range', { startSlot: 7, count: 127, step: 1 }).key).not.toBe(req.key)
  })

  it('serves any step as 1: requests that differ only in step share a key', () => {
    const keys = [0, 1, 2, 1000].map(
      (step) => relayRequest('beacon_blocks_by_range', { startSlot: 50, count: 10, step }).key,
    )
    expect(new Set(keys).size).toBe(1)
  })

  it('refuses count 0 with InvalidRequest', () => {
    expectInvalid('beacon_blocks_by_range', { startSlot: 50, count: 0, step: 1 }, /count/)
  })

  it('keys by protocol id and canonical request', () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 50, count: 10, step: 1 })
    expect(req.key).toBe(`${defOf('beacon_blocks_by_range').id}|${hex(req.ssz!)}`)
    const others = [
      relayRequest('beacon_blocks_by_range', { startSlot: 51, count: 10, step: 1 }),
      relayRequest('beacon_blocks_by_range', { startSlot: 50, count: 11, step: 1 }),
      // Same start and count, other protocol.
      relayRequest('blob_sidecars_by_range', { startSlot: 50, count: 10 }),
    ]
    for (const other of others) expect(other.key).not.toBe(req.key)
  })
})

describe('toRelayRequest: blob_sidecars_by_range and light_client_updates_by_range', () => {
  it('clamps a blob range to 128 slots; up to 9 sidecars per slot, at most 1152', () => {
    const req = relayRequest('blob_sidecars_by_range', { startSlot: 9_000_000, count: 500 })
    expect(sent(req)).toEqual({ startSlot: 9_000_000, count: 128 })
    expect(req.range).toEqual({ startSlot: 9_000_000, endSlot: 9_000_128 })
    expect(req.cost).toBe(128)
    expect(req.maxChunks).toBe(1152)
    const small = relayRequest('blob_sidecars_by_range', { startSlot: 9_000_000, count: 3 })
    expect(small.maxChunks).toBe(27)
    expect(small.cost).toBe(3)
    expect(small.roots).toBeNull()
    expect(small.columns).toBeNull()
    expect(relayRequest('blob_sidecars_by_range', { startSlot: 9_000_000, count: 128 }).key).toBe(req.key)
  })

  it('refuses a blob range of count 0', () => {
    expectInvalid('blob_sidecars_by_range', { startSlot: 1, count: 0 }, /count/)
  })

  it('clamps light-client updates to 128 periods; no slot range to check', () => {
    const req = relayRequest('light_client_updates_by_range', { startPeriod: 1500, count: 1000 })
    expect(sent(req)).toEqual({ startPeriod: 1500, count: 128 })
    expect(req.range).toBeNull()
    expect(req.cost).toBe(128)
    expect(req.maxChunks).toBe(128)
    expect(relayRequest('light_client_updates_by_range', { startPeriod: 1501, count: 128 }).key).not.toBe(req.key)
    expectInvalid('light_client_updates_by_range', { startPeriod: 1500, count: 0 }, /count/)
  })
})

describe('toRelayRequest: ranges end at the horizon (the clock)', () => {
  const horizon = { slot: 1000, period: 3 }

  it('cuts a block range that reaches past the horizon slot; the requester is charged what it asked', () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 990, count: 64, step: 1 }, horizon)
    expect(sent(req)).toEqual({ startSlot: 990, count: 11, step: 1 }) // slots 990..1000
    expect(req.range).toEqual({ startSlot: 990, endSlot: 1001 })
    expect(req.maxChunks).toBe(11)
    expect(req.cost).toBe(11) // what an upstream is asked and charged
    expect(req.askedCost).toBe(64) // what the requester is charged
    // Requests that differ only past the horizon share one cache entry.
    expect(relayRequest('beacon_blocks_by_range', { startSlot: 990, count: 20, step: 1 }, horizon).key).toBe(req.key)
    // A range that ends at the horizon is left as it is.
    expect(sent(relayRequest('beacon_blocks_by_range', { startSlot: 990, count: 11, step: 1 }, horizon))).toEqual({
      startSlot: 990,
      count: 11,
      step: 1,
    })
  })

  it('leaves nothing to ask of a range wholly past the horizon', () => {
    for (const name of ['beacon_blocks_by_range', 'blob_sidecars_by_range'] as const) {
      const req = relayRequest(name, { startSlot: 1001, count: 5, step: 1 }, horizon)
      expect(req.maxChunks).toBe(0)
      expect(req.range).toEqual({ startSlot: 1001, endSlot: 1001 })
      expect(req.cost).toBe(0)
      expect(req.askedCost).toBe(5)
    }
    const columns = relayRequest('data_column_sidecars_by_range', { startSlot: 2000, count: 4, columns: [5] }, horizon)
    expect(columns.maxChunks).toBe(0)
    expect(columns.askedCost).toBe(4)
  })

  it('cuts column and blob ranges the same way', () => {
    const columns = relayRequest(
      'data_column_sidecars_by_range',
      { startSlot: 998, count: 8, columns: [5, 1] },
      horizon,
    )
    expect(sent(columns)).toEqual({ startSlot: 998, count: 3, columns: [1, 5] })
    expect(columns.range).toEqual({ startSlot: 998, endSlot: 1001 })
    expect(columns.maxChunks).toBe(6)
    expect(columns.cost).toBe(6)
    expect(columns.askedCost).toBe(16)
    expect(sent(relayRequest('blob_sidecars_by_range', { startSlot: 1000, count: 8 }, horizon))).toEqual({
      startSlot: 1000,
      count: 1,
    })
  })

  it('asks light-client updates only up to the current period', () => {
    const req = relayRequest('light_client_updates_by_range', { startPeriod: 1, count: 10 }, horizon)
    expect(sent(req)).toEqual({ startPeriod: 1, count: 3 }) // periods 1, 2, 3
    expect(req.periods).toEqual({ startPeriod: 1, endPeriod: 4 })
    expect(req.maxChunks).toBe(3)
    expect(req.cost).toBe(3)
    expect(req.askedCost).toBe(10)
    const future = relayRequest('light_client_updates_by_range', { startPeriod: 4, count: 2 }, horizon)
    expect(future.maxChunks).toBe(0)
  })

  it('changes nothing without a horizon', () => {
    const req = relayRequest('beacon_blocks_by_range', { startSlot: 990, count: 64, step: 1 })
    expect(req.range).toEqual({ startSlot: 990, endSlot: 1054 })
    expect(req.askedCost).toBe(req.cost)
    expect(relayRequest('light_client_updates_by_range', { startPeriod: 4, count: 2 }).maxChunks).toBe(2)
  })
})

describe('toRelayRequest: data_column_sidecars_by_range', () => {
  it('sorts and dedupes the columns', () => {
    const req = relayRequest('data_column_sidecars_by_range', {
      startSlot: 100,
      count: 4,
      columns: [90, 3, 3, 17, 90, 0],
    })
    expect(sent(req)).toEqual({ startSlot: 100, count: 4, columns: [0, 3, 17, 90] })
    expect([...req.columns!].sort((a, b) => a - b)).toEqual([0, 3, 17, 90])
    expect(req.range).toEqual({ startSlot: 100, endSlot: 104 })
    expect(req.cost).toBe(16)
    expect(req.maxChunks).toBe(16)
    expect(req.roots).toBeNull()
  })

  it('gives equal keys to the same columns in any order or multiplicity, other keys to other columns', () => {
    const key = (columns: number[]) =>
      relayRequest('data_column_sidecars_by_range', { startSlot: 5, count: 2, columns }).key
    expect(key([1, 3])).toBe(key([3, 1]))
    expect(key([1, 3])).toBe(key([3, 3, 1, 1]))
    expect(key([1, 3])).not.toBe(key([1, 4]))
    expect(key([1, 3])).not.toBe(key([1]))
  })

  it('clamps count to 128 slots, as Lodestar serves, which keeps count × columns within 16384', () => {
    const three = relayRequest('data_column_sidecars_by_range', { startSlot: 0, count: 100_000, columns: [5, 6, 7] })
    expect(sent(three)).toEqual({ startSlot: 0, count: 128, columns: [5, 6, 7] })
    expect(three.range).toEqual({ startSlot: 0, endSlot: 128 })
    expect(three.cost).toBe(128 * 3)
    expect(three.maxChunks).toBe(128 * 3)

    const all = relayRequest('data_column_sidecars_by_range', { startSlot: 0, count: 1000, columns: allColumns() })
    expect((sent(all) as { count: number }).count).toBe(128)
    expect(all.cost).toBe(MAX_REQUEST_DATA_COLUMN_SIDECARS)

    // Duplicates do not count: one column given four times is one column.
    const repeated = relayRequest('data_column_sidecars_by_range', {
      startSlot: 0,
      count: 100_000,
      columns: [5, 5, 5, 5],
    })
    expect(sent(repeated)).toEqual({ startSlot: 0, count: 128, columns: [5] })
    expect(repeated.cost).toBe(128)

    const within = relayRequest('data_column_sidecars_by_range', { startSlot: 0, count: 20, columns: [5, 6, 7] })
    expect((sent(within) as { count: number }).count).toBe(20)
  })

  it('refuses count 0, no columns, and columns at or above NUMBER_OF_COLUMNS', () => {
    expectInvalid('data_column_sidecars_by_range', { startSlot: 1, count: 0, columns: [1] }, /count/)
    expectInvalid('data_column_sidecars_by_range', { startSlot: 1, count: 1, columns: [] }, /column/)
    expectInvalid('data_column_sidecars_by_range', { startSlot: 1, count: 1, columns: [3, 128] }, /128/)
    expectInvalid('data_column_sidecars_by_range', { startSlot: 1, count: 1, columns: [1000] }, /1000/)
    expect(relayRequest('data_column_sidecars_by_range', { startSlot: 1, count: 1, columns: [127] }).columns).toEqual(
      new Set([127]),
    )
  })
})

describe('toRelayRequest: by-root requests', () => {
  it('beacon_blocks_by_root: every root asked for, any item of it; roots kept in order', () => {
    const roots = [root(3), root(1), root(2)]
    const req = relayRequest('beacon_blocks_by_root', roots)
    expect(hex(req.ssz!)).toBe(hex(defOf('beacon_blocks_by_root').request!.serialize(roots)))
    expect([...req.roots!.keys()]).toEqual(roots.map(hex))
    expect([...req.roots!.values()]).toEqual([null, null, null])
    expect(req.blockRoots!.map(hex)).toEqual(roots.map(hex))
    expect(req.cost).toBe(3)
    expect(req.maxChunks).toBe(3)
    expect(req.range).toBeNull()
    expect(req.columns).toBeNull()
    expect(relayRequest('beacon_blocks_by_root', [root(3), root(1), root(2)]).key).toBe(req.key)
    expect(relayRequest('beacon_blocks_by_root', [root(1), root(3), root(2)]).key).not.toBe(req.key)
  })

  it('blob_sidecars_by_root: indices grouped by block root', () => {
    const ids = [
      { blockRoot: root(1), index: 0 },
      { blockRoot: root(2), index: 4 },
      { blockRoot: root(1), index: 2 },
      { blockRoot: root(1), index: 2 },
    ]
    const req = relayRequest('blob_sidecars_by_root', ids)
    expect(req.roots).toEqual(
      new Map([
        [hex(root(1)), new Set([0, 2])],
        [hex(root(2)), new Set([4])],
      ]),
    )
    expect(req.cost).toBe(4)
    expect(req.maxChunks).toBe(4)
    expect(req.range).toBeNull()
    expect(req.blockRoots).toBeNull()
    expect(sent(req)).toEqual(ids)
  })

  it('data_column_sidecars_by_root: columns grouped by block root, each checked', () => {
    const ids = [
      { blockRoot: root(7), columns: [9, 1] },
      { blockRoot: root(8), columns: [127] },
      { blockRoot: root(7), columns: [1, 44] },
    ]
    const req = relayRequest('data_column_sidecars_by_root', ids)
    expect(req.roots).toEqual(
      new Map([
        [hex(root(7)), new Set([1, 9, 44])],
        [hex(root(8)), new Set([127])],
      ]),
    )
    expect(req.cost).toBe(5)
    expect(req.maxChunks).toBe(5)
    expect(req.range).toBeNull()
    expect(req.columns).toBeNull()
    expectInvalid('data_column_sidecars_by_root', [{ blockRoot: root(7), columns: [1, 128] }], /128/)
  })
})

describe('toRelayRequest: requests without a payload', () => {
  it.each(['light_client_finality_update', 'light_client_optimistic_update'] as const)(
    '%s has no request bytes, one chunk and one key',
    (name) => {
      const req = relayRequest(name, null)
      expect(req.ssz).toBeNull()
      expect(req.key).toBe(`${defOf(name).id}|`)
      expect(req.cost).toBe(1)
      expect(req.maxChunks).toBe(1)
      expect(req.range).toBeNull()
      expect(req.roots).toBeNull()
    },
  )

  it('light_client_bootstrap keys by the root', () => {
    const a = relayRequest('light_client_bootstrap', root(1))
    expect(hex(a.ssz!)).toBe(hex(root(1)))
    expect(a.key).not.toBe(relayRequest('light_client_bootstrap', root(2)).key)
    expect(a.key).not.toBe(relayRequest('light_client_finality_update', null).key)
    expect(a.maxChunks).toBe(1)
  })
})

describe('rangeParts: a range larger than any upstream takes, in parts', () => {
  const upTo = (cost: number) => (part: RelayRequest) => part.cost <= cost

  it('light-client updates: consecutive periods, each part as large as fits, each a request of its own', () => {
    const whole = relayRequest('light_client_updates_by_range', { startPeriod: 7, count: 5 })
    const parts = rangeParts(whole, upTo(2))!
    expect(parts.map(sent)).toEqual([
      { startPeriod: 7, count: 2 },
      { startPeriod: 9, count: 2 },
      { startPeriod: 11, count: 1 },
    ])
    expect(parts.map((p) => p.periods)).toEqual([
      { startPeriod: 7, endPeriod: 9 },
      { startPeriod: 9, endPeriod: 11 },
      { startPeriod: 11, endPeriod: 12 },
    ])
    // Each part is what the same request asked alone would be: its own cache entry and cost.
    expect(parts[1]!.key).toBe(relayRequest('light_client_updates_by_range', { startPeriod: 9, count: 2 }).key)
    expect(parts.map((p) => p.cost)).toEqual([2, 2, 1])
  })

  it('a slot range: parts of the largest count that fits the test given, which may charge more than the count', () => {
    const whole = relayRequest('beacon_blocks_by_range', { startSlot: 10, count: 10, step: 1 })
    // As the relay asks it: each part also takes the slot after it from the same quota.
    const parts = rangeParts(whole, (part) => part.cost + 1 <= 4)!
    expect(parts.map((p) => p.range)).toEqual([
      { startSlot: 10, endSlot: 13 },
      { startSlot: 13, endSlot: 16 },
      { startSlot: 16, endSlot: 19 },
      { startSlot: 19, endSlot: 20 },
    ])
    expect(parts.map(sent)).toContainEqual({ startSlot: 13, count: 3, step: 1 })
  })

  it('none where a single slot or period does not fit, or the request is no range to split this way', () => {
    expect(rangeParts(relayRequest('light_client_updates_by_range', { startPeriod: 0, count: 3 }), upTo(0))).toBeNull()
    expect(rangeParts(relayRequest('beacon_blocks_by_root', [root(1), root(2)]), upTo(1))).toBeNull()
    // Column ranges are split by custody, across the peers that hold each column (columnRouter.ts).
    const columns = relayRequest('data_column_sidecars_by_range', { startSlot: 1, count: 8, columns: [1, 2] })
    expect(rangeParts(columns, upTo(4))).toBeNull()
  })
})
