import { describe, expect, it } from 'vitest'
import { UpstreamLimiter, type UpstreamLease } from '../../../src/limits/upstreamLimiter.js'
import { getProtocol } from '../../../src/reqresp/protocols.js'
import { quotaModelsFor, UPSTREAM_QUOTA_MODELS } from '../../../src/spec/quotas.js'
import {
  MAX_REQUEST_BLOCKS_DENEB,
  MAX_REQUEST_DATA_COLUMN_SIDECARS,
  MAX_REQUEST_LIGHT_CLIENT_UPDATES,
} from '../../../src/spec/reqresp.js'
import { LodestarModel, fakeClock, prng } from './helpers.js'

// Each upstream is held to what its own client enforces. The clients' rules are written here from their sources
// (2025–2026; docs/robustness.md), apart from the limiter's token buckets: Teku counts over a sliding minute, Prysm
// drains leaky buckets, Lodestar runs GCRA. A flood through the limiter must never trip them.

const BBR = 'beacon_blocks_by_range'
const BROOT = 'beacon_blocks_by_root'
const DURATION_MS = 120_000

interface Sent {
  t: number
  protocol: string
  cost: number
}

/**
 * Callers asking one upstream of `client` as fast as the limiter lets them: every 5 ms, three callers try a request
 * of a random protocol among `protocols` and a random cost up to `maxCost`; leases stay open 0-400 ms.
 */
function flood(client: string, protocols: string[], maxCost: number, seed: number): Sent[] {
  const start = 1_700_000_000_000
  const clock = fakeClock(start)
  const l = new UpstreamLimiter({ now: clock.now, clientOf: () => client })
  const rand = prng(seed)
  let open: { lease: UpstreamLease; until: number }[] = []
  const sent: Sent[] = []
  for (let t = 0; t < DURATION_MS; t += 5) {
    clock.set(start + t)
    for (const o of open) if (o.until <= t) o.lease.release()
    open = open.filter((o) => o.until > t)
    for (let caller = 0; caller < 3; caller++) {
      const protocol = protocols[Math.floor(rand() * protocols.length)]
      const cost = 1 + Math.floor(rand() * maxCost)
      const lease = l.tryAcquire('up', protocol, cost)
      if (!lease) continue
      sent.push({ t, protocol, cost })
      open.push({ lease, until: t + Math.floor(rand() * 400) })
    }
  }
  return sent
}

/** Teku's RateTrackerImpl: a request is served while the last 60 s hold fewer than `limit` objects, then counted. */
function tekuRefusal(sent: Sent[], limit: number, objects: (s: Sent) => number): number {
  return sent.findIndex((s, i) => {
    let inWindow = 0
    for (let j = i - 1; j >= 0 && sent[j].t > s.t - 60_000; j--) inWindow += objects(sent[j])
    return inWindow + objects(s) > limit // stricter than Teku, which serves while one object is left
  })
}

/** Prysm's leaky bucket: drains `rate` per `periodMs`, holds `capacity`; a request must fit what is left. */
function prysmRefusal(sent: Sent[], capacity: number, rate: number, periodMs: number, cost: (s: Sent) => number) {
  let level = 0
  let at = 0
  return sent.findIndex((s) => {
    level = Math.max(0, level - ((s.t - at) * rate) / periodMs)
    at = s.t
    if (level + cost(s) > capacity) return true
    level += cost(s)
    return false
  })
}

const blocks = (s: Sent) => (s.protocol === BBR || s.protocol === BROOT ? s.cost : 0)
const total = (sent: Sent[], f: (s: Sent) => number) => sent.reduce((sum, s) => sum + f(s), 0)

describe('upstream quotas by client', () => {
  it('a Prysm peer: blocks by range and by root share 64 per 30 s (burst 128), requests 5 a second (burst 10)', () => {
    for (const seed of [1, 2]) {
      const sent = flood('prysm', [BBR, BROOT], MAX_REQUEST_BLOCKS_DENEB, seed)
      expect(prysmRefusal(sent, 128, 64, 30_000, blocks)).toBe(-1)
      expect(prysmRefusal(sent, 10, 5, 1_000, () => 1)).toBe(-1)
      // Not vacuous: the flood took most of what Prysm allows in the two minutes (128 + 64 × 4 = 384).
      expect(total(sent, blocks)).toBeGreaterThan(0.7 * 384)
      // Under Lodestar's quotas alone, the same flood would have been refused (and, by Prysm, banned after five).
      const lodestarPace = flood('lodestar', [BBR, BROOT], MAX_REQUEST_BLOCKS_DENEB, seed)
      expect(prysmRefusal(lodestarPace, 128, 64, 30_000, blocks)).toBeGreaterThanOrEqual(0)
    }
  })

  it('a Teku peer: at most 500 blocks and 100 requests (less Status, Ping and MetaData) in any minute', () => {
    for (const seed of [3, 4]) {
      const small = flood('teku', [BBR, BROOT], 4, seed) // many small requests: the request count binds
      expect(tekuRefusal(small, 100 - 10, () => 1)).toBe(-1)
      expect(small.length).toBeGreaterThan(0.7 * 2 * 78)
      const large = flood('teku', [BBR, BROOT], MAX_REQUEST_BLOCKS_DENEB, seed)
      expect(tekuRefusal(large, 500, blocks)).toBe(-1)
      expect(total(large, blocks)).toBeGreaterThan(0.7 * 2 * 435)
      const lodestarPace = flood('lodestar', [BBR, BROOT], 4, seed)
      expect(tekuRefusal(lodestarPace, 100 - 10, () => 1)).toBeGreaterThanOrEqual(0)
    }
  })

  it('a Lodestar peer keeps Lodestar’s quotas, and a Contower peer enforces the same', () => {
    expect(quotaModelsFor('contower')).toEqual(['lodestar'])
    const sent = flood('lodestar', [BBR], MAX_REQUEST_BLOCKS_DENEB, 5)
    const model = new LodestarModel(UPSTREAM_QUOTA_MODELS.lodestar.protocols[BBR])
    expect(sent.findIndex((s) => !model.allows(s.t, s.cost))).toBe(-1)
    expect(total(sent, blocks)).toBeGreaterThan(0.9 * (128 + 0.8 * 128 * 11))
  })

  it('a peer of an unknown client (or before identify) is held to every client’s quotas at once', () => {
    expect(quotaModelsFor('other')).toEqual(Object.keys(UPSTREAM_QUOTA_MODELS))
    expect(quotaModelsFor('erigon')).toEqual(Object.keys(UPSTREAM_QUOTA_MODELS))
    expect(quotaModelsFor('grandine')).toEqual(['lighthouse'])
    for (const seed of [6, 7]) {
      const sent = flood('other', [BBR, BROOT], MAX_REQUEST_BLOCKS_DENEB, seed)
      expect(prysmRefusal(sent, 128, 64, 30_000, blocks)).toBe(-1)
      expect(tekuRefusal(sent, 500, blocks)).toBe(-1)
      expect(tekuRefusal(sent, 100 - 10, () => 1)).toBe(-1)
      for (const protocol of [BBR, BROOT]) {
        const model = new LodestarModel(UPSTREAM_QUOTA_MODELS.lodestar.protocols[protocol])
        expect(sent.filter((s) => s.protocol === protocol).findIndex((s) => !model.allows(s.t, s.cost))).toBe(-1)
      }
    }
  })

  it('a request larger than a client lets one request ask does not fit that peer at all', () => {
    const clock = fakeClock(0)
    const clients: Record<string, string> = { lh: 'lighthouse', ls: 'lodestar', pr: 'prysm' }
    const l = new UpstreamLimiter({ now: clock.now, clientOf: (peer) => clients[peer] ?? 'other' })
    const updates = 'light_client_updates_by_range'
    // Lighthouse serves one light-client update per 10 s: a range of two periods would wait on it for 10 s.
    expect(l.fits('lh', updates, 1)).toBe(true)
    expect(l.fits('lh', updates, 2)).toBe(false)
    expect(l.waitMs('lh', updates, 2)).toBe(Infinity)
    expect(l.fits('ls', updates, MAX_REQUEST_LIGHT_CLIENT_UPDATES)).toBe(true)
    // Prysm counts light-client requests, not their items.
    expect(l.fits('pr', updates, MAX_REQUEST_LIGHT_CLIENT_UPDATES)).toBe(true)
    // Prysm also charges a column range its slots: 128 slots of all 128 columns do not fit its burst.
    expect(l.fits('pr', 'data_column_sidecars_by_range', MAX_REQUEST_DATA_COLUMN_SIDECARS)).toBe(false)
    expect(l.fits('ls', 'data_column_sidecars_by_range', MAX_REQUEST_DATA_COLUMN_SIDECARS)).toBe(true)
    // An unknown client's peer is asked only what every client would serve.
    expect(l.fits('new', updates, 2)).toBe(false)
  })

  it('the largest request a peer takes at once is its smallest bucket that counts items', () => {
    const clients: Record<string, string> = { lh: 'lighthouse', ls: 'lodestar', pr: 'prysm' }
    const l = new UpstreamLimiter({ now: () => 0, clientOf: (peer) => clients[peer] ?? 'other' })
    const updates = 'light_client_updates_by_range'
    expect(l.largestCost('lh', updates)).toBe(1)
    expect(l.largestCost('ls', updates)).toBe(MAX_REQUEST_LIGHT_CLIENT_UPDATES)
    expect(l.largestCost('pr', updates)).toBe(Infinity) // Prysm counts light-client requests, not their items
    expect(l.largestCost('pr', 'data_column_sidecars_by_range')).toBe(16256)
    expect(l.largestCost('new', updates)).toBe(1) // every client's table at once
  })

  it('an upstream that says it limits us is not asked again for that protocol before a whole refill', () => {
    const clock = fakeClock(1_700_000_000_000)
    const l = new UpstreamLimiter({ now: clock.now, clientOf: () => 'teku' }, { jitterMs: 0 })
    const lease = l.tryAcquire('up', BBR, 16)!
    lease.release()
    expect(l.waitMs('up', BBR, 16)).toBe(0) // 112 blocks were left
    lease.backOff() // an operator set its limit below Teku's default
    // Blocks by range and by root share Teku's bucket: neither is asked for the whole 20 s refill window, at 80 %.
    expect(l.waitMs('up', BBR, 1)).toBeGreaterThanOrEqual(25_000)
    expect(l.waitMs('up', BROOT, 1)).toBeGreaterThanOrEqual(25_000)
    // Other protocols are not held back: the bucket of all requests is left as it was.
    expect(l.waitMs('up', 'data_column_sidecars_by_range', 64)).toBe(0)
    clock.advance(25_000 + 3_125) // the window, then 16 blocks' refill
    expect(l.tryAcquire('up', BBR, 16)).not.toBeNull()
  })

  it('every model fits a full-size request of each protocol its client serves, except where it says so', () => {
    const exceptions = new Set([
      'lighthouse:light_client_updates_by_range', // one update per request
      'prysm:data_column_sidecars_by_range', // its slots are charged on top
      'prysm:data_column_sidecars_by_root',
    ])
    for (const [name, model] of Object.entries(UPSTREAM_QUOTA_MODELS)) {
      for (const [protocol, quota] of Object.entries(model.protocols)) {
        const request = largestRequest(protocol)
        if (request === null) continue // Status, Ping, MetaData, Goodbye: not relayed
        const def = getProtocol(protocol as never, protocol.startsWith('beacon_blocks') ? 2 : 1)
        const largest = def.requestCost(request)
        const cost = 'per' in quota && quota.per === 'request' ? 1 : largest
        expect(cost <= quota.tokens || exceptions.has(`${name}:${protocol}`), `${name}:${protocol}`).toBe(true)
      }
    }
  })
})

/** The largest request of a protocol the relay sends, in the decoded form requestCost takes. */
function largestRequest(protocol: string): unknown {
  const columns = Array.from({ length: 128 }, (_, i) => i)
  switch (protocol) {
    case 'beacon_blocks_by_range':
    case 'blob_sidecars_by_range':
      return { startSlot: 0, count: MAX_REQUEST_BLOCKS_DENEB, step: 1 }
    case 'data_column_sidecars_by_range':
      return { startSlot: 0, count: MAX_REQUEST_BLOCKS_DENEB, columns }
    case 'beacon_blocks_by_root':
      return Array.from({ length: MAX_REQUEST_BLOCKS_DENEB }, () => new Uint8Array(32))
    case 'blob_sidecars_by_root':
      return Array.from({ length: 1152 }, () => ({ blockRoot: new Uint8Array(32), index: 0 }))
    case 'data_column_sidecars_by_root':
      return Array.from({ length: MAX_REQUEST_BLOCKS_DENEB }, () => ({ blockRoot: new Uint8Array(32), columns }))
    case 'light_client_updates_by_range':
      return { startPeriod: 0, count: MAX_REQUEST_LIGHT_CLIENT_UPDATES }
    default:
      return null
  }
}
