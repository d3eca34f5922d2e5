import { Counter, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { type StatusSources, StatusService } from '../../../src/status/snapshot.js'
import { formatStatus } from '../../../src/status/statusLine.js'

/** A registry with the counter families the status reads, under the names the relay, gossip and peers use. */
function counters(registry: Registry) {
  const c = (name: string, labelNames: string[] = []) =>
    new Counter({ name, help: name, labelNames, registers: [registry] })
  return {
    requests: c('contower_relay_requests_total', ['protocol', 'result']),
    hits: c('contower_relay_cache_hits_total'),
    misses: c('contower_relay_cache_misses_total'),
    accepted: c('contower_gossip_accepted_total', ['kind']),
    rejected: c('contower_gossip_rejected_total', ['kind', 'reason']),
    candidates: c('contower_peer_candidates_total', ['verdict']),
    dials: c('contower_peer_dials_total', ['outcome']),
  }
}

function service(overrides: Partial<StatusSources> & { clock: { ms: number } }) {
  const { clock, ...rest } = overrides
  const sources: StatusSources = {
    registry: null,
    version: '0.0.0',
    network: 'mainnet',
    startedAtMs: 0,
    slot: () => 100,
    headSlot: () => 98,
    peers: () => [],
    score: () => 0,
    targetPeers: 50,
    mesh: () => ({ topics: 9, covered: 3 }),
    custody: { groups: 4, attnets: 2, syncnets: 0 },
    discovery: () => ({ running: true, tableSize: 0 }),
    staticPeers: 0,
    discoveryPort: 9000,
    now: () => clock.ms,
    ...rest,
  }
  return new StatusService(sources, { windowMs: 30_000, zeroPeerWarningMs: 60_000 })
}

describe('StatusService', () => {
  it('turns counter deltas over the window into rates, and cache lookups into a hit ratio', async () => {
    const clock = { ms: 0 }
    const registry = new Registry()
    const m = counters(registry)
    const peer = (n: number, direction: 'inbound' | 'outbound', handshaken: boolean) => ({
      peer: `p${n}`,
      client: n % 2 ? 'lighthouse' : 'prysm',
      direction,
      transport: ['tcp', 'quic', 'tcp+quic'][n % 3]!,
      handshaken,
      pingMs: 5,
      headSlot: 99,
    })
    const status = service({
      clock,
      registry,
      peers: () => [peer(1, 'inbound', true), peer(2, 'outbound', true), peer(3, 'outbound', false)],
      score: (p) => (p === 'p2' ? 5 : -1),
    })
    m.requests.inc({ protocol: 'x', result: 'success' }, 1000) // before the first sample: not in any rate
    await status.sample()
    clock.ms = 10_000
    m.requests.inc({ protocol: 'x', result: 'success' }, 40)
    m.requests.inc({ protocol: 'x', result: 'cache_hit' }, 30)
    m.requests.inc({ protocol: 'x', result: 'upstream_failed' }, 10)
    m.requests.inc({ protocol: 'x', result: 'rate_limited' }, 10)
    m.hits.inc(30)
    m.misses.inc(70)
    m.accepted.inc({ kind: 'beacon_block' }, 25)
    m.rejected.inc({ kind: 'beacon_block', reason: 'x' }, 5)

    const s = await status.snapshot()
    expect(s.relay).toEqual({ requestsPerSec: 9, errorsPerSec: 2, cacheHitRatio: 0.3 })
    expect(s.gossip).toEqual({ acceptedPerSec: 2.5, rejectedPerSec: 0.5 })
    expect(s.peers).toEqual({ connected: 3, inbound: 1, outbound: 2, handshaken: 2, target: 50 })
    expect(s.peersByClient).toEqual({ lighthouse: 2, prysm: 1 })
    expect(s.peersByTransport).toEqual({ tcp: 1, quic: 1, 'tcp+quic': 1 })
    expect(s.upstreams.map((u) => u.peer)).toEqual(['p2', 'p1', 'p3']) // handshaken first, then by score
    expect(s.warning).toBeNull()
    expect(formatStatus(s)).toBe(
      'slot 100 head 98 | peers 3/50 (1 in, 2 out, 2 handshaken) | tcp 1 quic 1 both 1 | relay 9 req/s 2 err/s cache 30% | gossip 2.5 accepted/s 0.5 rejected/s | mesh 3/9 topics | custody 4 groups, 2 attnets, 0 syncnets',
    )
  })

  it('says nothing about zero peers for the first minute, then why', async () => {
    const clock = { ms: 0 }
    const status = service({ clock })
    clock.ms = 59_000
    expect((await status.snapshot()).warning).toBeNull()
    clock.ms = 61_000
    expect((await status.snapshot()).warning).toBe(
      'no peers for 61 s: no bootnode answered (the discv5 table is empty): check that UDP 9000 can reach the internet and the --bootnodes',
    )
  })

  it.each([
    [
      'discovery off, no static peers',
      { discovery: () => null },
      {},
      'discovery is off and no --static-peers are given',
    ],
    [
      'records but no candidate',
      { discovery: () => ({ running: true, tableSize: 12 }) },
      {},
      'nothing dialable: discovery knows 12 nodes but none on this fork with a TCP address',
    ],
    [
      'every candidate waiting',
      { discovery: () => ({ running: true, tableSize: 12 }) },
      { cooling_down: 3, dial_backoff: 2 },
      'all 5 candidates are cooling down, banned or backing off after failed dials',
    ],
    [
      'dials failing',
      { discovery: () => ({ running: true, tableSize: 12 }) },
      { queued: 4, timeout: 4 },
      '4 dials, none answered: check that outbound TCP is allowed',
    ],
  ])('names the reason when %s', async (_, sources, counts: Record<string, number>, reason) => {
    const clock = { ms: 0 }
    const registry = new Registry()
    const m = counters(registry)
    for (const [k, n] of Object.entries(counts)) {
      if (k === 'timeout') m.dials.inc({ outcome: k }, n)
      else m.candidates.inc({ verdict: k }, n)
    }
    const status = service({ clock, registry, ...sources })
    clock.ms = 90_000
    expect((await status.snapshot()).warning).toBe(`no peers for 90 s: ${reason}`)
  })
})
