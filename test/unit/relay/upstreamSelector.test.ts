import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { type Quota } from '../../../src/spec/quotas.js'
import { UpstreamLimiter } from '../../../src/limits/upstreamLimiter.js'
import type { PeerStatus } from '../../../src/chain/chainView.js'
import { type PeerData, PeerStore } from '../../../src/peers/peerStore.js'
import { PeerScores } from '../../../src/peers/score.js'
import { PeerAction } from '../../../src/reqresp/peerAction.js'
import type { RelayRequest } from '../../../src/relay/relayRequest.js'
import {
  UPSTREAM_SELECTOR_DEFAULTS,
  type UpstreamChoice,
  UpstreamSelector,
} from '../../../src/relay/upstreamSelector.js'
import { defOf, relayRequest } from './fixtures.js'

const GENESIS_TIME = 1_600_000_000
const SLOT_MS = 12_000
const slotStartMs = (slot: number) => GENESIS_TIME * 1000 + slot * SLOT_MS
/** The wall clock's slot when each test starts; requests start well before it. */
const NOW_SLOT = 2000
const START_SLOT = 1000
const byRange = (count = 10) => relayRequest('beacon_blocks_by_range', { startSlot: START_SLOT, count, step: 1 })
const byRoot = () => relayRequest('beacon_blocks_by_root', [new Uint8Array(32).fill(1)])

let ids: PeerId[]
beforeAll(async () => {
  ids = await Promise.all(
    Array.from({ length: 5 }, async () => peerIdFromPrivateKey(await generateKeyPair('secp256k1'))),
  )
})

function status(headSlot: number, earliestAvailableSlot = 0): PeerStatus {
  return {
    forkDigest: new Uint8Array(4),
    finalizedRoot: new Uint8Array(32),
    finalizedEpoch: 0,
    headRoot: new Uint8Array(32).fill(9),
    headSlot,
    earliestAvailableSlot,
  }
}

interface SetupOpts {
  /** Upstream quotas; default none, so only concurrency limits (tests of eligibility choose many times). */
  quotas?: ReadonlyMap<string, Quota>
  /** Hold each peer to its client's quotas instead (spec/quotas.ts UPSTREAM_QUOTA_MODELS). */
  byClient?: boolean
  maxConcurrent?: number
  minScore?: number
}

function setup(opts: SetupOpts = {}) {
  let now = slotStartMs(NOW_SLOT) + 1
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const wallClock = new Clock({ now: clock.now }, { genesisTime: GENESIS_TIME, secondsPerSlot: 12, slotsPerEpoch: 32 })
  const peerStore = new PeerStore()
  const scores = new PeerScores({ now: clock.now })
  const limiter = new UpstreamLimiter(
    { now: clock.now, clientOf: (peer) => peerStore.get(peer)?.client ?? 'other' },
    {
      ...(opts.byClient ? {} : { quotas: opts.quotas ?? new Map() }),
      maxConcurrent: opts.maxConcurrent ?? 2,
    },
  )
  const preferred = new Set<string>()
  let draws: number[] = []
  let calls = 0
  const random = () => {
    calls++
    return draws.shift() ?? 0
  }
  const selector = new UpstreamSelector(
    { peerStore, scores, limiter, clock: wallClock, isPreferred: (peer) => preferred.has(peer) },
    { ...UPSTREAM_SELECTOR_DEFAULTS, minScore: opts.minScore ?? UPSTREAM_SELECTOR_DEFAULTS.minScore },
    random,
  )

  /** Adds peer `i`, handshaken with a Status received now whose head is the current slot, then applies `patch`. */
  const add = (i: number, patch: Partial<PeerData> = {}): PeerData => {
    const data = peerStore.add(ids[i]!, 'outbound', now)
    data.handshaken = true
    data.status = status(NOW_SLOT)
    data.statusAtMs = now
    Object.assign(data, patch)
    return data
  }
  const id = (i: number) => ids[i]!.toString()
  const penalise = (i: number, action: PeerAction, times = 1) => {
    for (let n = 0; n < times; n++) scores.apply(id(i), action, 'test')
  }

  /** One choice with the given random draws. */
  const choose = (req: RelayRequest, exclude: ReadonlySet<string> = new Set(), nextDraws: number[] = []) => {
    draws = [...nextDraws]
    calls = 0
    return selector.choose(req, exclude)
  }

  /** The peers that can take `req`: each one is chosen when every other peer is excluded (leases released). */
  const choosable = (req: RelayRequest, exclude: ReadonlySet<string> = new Set()): Set<string> => {
    const out = new Set<string>()
    const all = [...peerStore.all()].map((p) => p.peerId.toString())
    for (const peer of all) {
      const choice = choose(req, new Set([...exclude, ...all.filter((other) => other !== peer)]))
      if (choice.kind === 'chosen') {
        expect(choice.peer.peerId.toString()).toBe(peer)
        out.add(peer)
        choice.lease.release()
      }
    }
    return out
  }

  return {
    clock,
    peerStore,
    scores,
    limiter,
    preferred,
    selector,
    add,
    id,
    penalise,
    choose,
    choosable,
    randomCalls: () => calls,
  }
}

function chosenPeer(choice: UpstreamChoice): string {
  if (choice.kind !== 'chosen') throw new Error(`expected a chosen peer, got ${JSON.stringify(choice)}`)
  return choice.peer.peerId.toString()
}

describe('UpstreamSelector eligibility', () => {
  it('documents its defaults', () => {
    expect(UPSTREAM_SELECTOR_DEFAULTS).toEqual({
      minScore: -10,
      latencyAlpha: 0.3,
      scorePerLatencySecond: 10,
      inSyncSlots: 2,
      scorePerOpenRequest: 5,
      handshakeGraceMs: 5_000,
      handshakeRetryMs: 100,
    })
  })

  it('takes only handshaken peers with a Status', () => {
    const s = setup()
    s.add(0, { handshaken: false })
    s.add(1, { status: undefined })
    s.add(2)
    s.add(3)
    expect(s.choosable(byRange())).toEqual(new Set([s.id(2), s.id(3)]))
    expect(s.choosable(byRoot())).toEqual(new Set([s.id(2), s.id(3)]))
  })

  it('skips excluded peers (the requester, peers already tried)', () => {
    const s = setup()
    for (const i of [0, 1, 2]) s.add(i)
    expect(s.choosable(byRange(), new Set([s.id(0)]))).toEqual(new Set([s.id(1), s.id(2)]))
    expect(s.choose(byRange(), new Set([s.id(0), s.id(1), s.id(2)]))).toEqual({ kind: 'none' })
  })

  it('skips a peer whose client would not serve so large a request at once; none when no peer would', () => {
    const s = setup({ byClient: true })
    s.add(0, { client: 'lighthouse' }) // one light-client update per 10 s
    s.add(1, { client: 'lodestar' })
    const updates = (count: number) => relayRequest('light_client_updates_by_range', { startPeriod: 0, count })
    expect(s.choosable(updates(1))).toEqual(new Set([s.id(0), s.id(1)]))
    expect(s.choosable(updates(4))).toEqual(new Set([s.id(1)]))
    expect(s.choose(updates(4), new Set([s.id(1)]))).toEqual({ kind: 'none' }) // not a wait that never ends
  })

  it('knows the largest request any peer that could serve it takes at once: what a larger one is asked in parts of', () => {
    const s = setup({ byClient: true })
    const updates = relayRequest('light_client_updates_by_range', { startPeriod: 0, count: 4 })
    expect(s.selector.largestFit(updates, new Set())).toBe(0) // no peer at all
    s.add(0, { client: 'lighthouse' })
    s.add(1, { client: 'lighthouse' })
    expect(s.selector.largestFit(updates, new Set())).toBe(1)
    s.add(2, { client: 'lodestar' })
    expect(s.selector.largestFit(updates, new Set())).toBe(128)
    // Peers that could not serve it whatever its size do not count: the requester, one not yet handshaken.
    expect(s.selector.largestFit(updates, new Set([s.id(2)]))).toBe(1)
    s.add(3, { client: 'lodestar', handshaken: false })
    expect(s.selector.largestFit(updates, new Set([s.id(2)]))).toBe(1)
  })

  it('takes peers at or below minScore only when no better peer could serve the request', () => {
    const s = setup()
    for (const i of [0, 1, 2]) s.add(i)
    s.penalise(0, PeerAction.LowToleranceError) // -10: exactly minScore
    s.penalise(1, PeerAction.MidToleranceError) // -5
    expect(s.scores.score(s.id(0))).toBe(-10)
    // Every draw lands on the low peer first: it is never the one kept while a better one is there.
    for (const draws of [
      [0, 0],
      [0, 0.5],
      [0, 0.99],
    ]) {
      const choice = s.choose(byRange(), new Set(), draws)
      expect(chosenPeer(choice)).not.toBe(s.id(0))
      if (choice.kind === 'chosen') choice.lease.release()
    }
    // Alone (the others excluded, say already tried), it is still asked: a last choice, not no choice.
    expect(chosenPeer(s.choose(byRange(), new Set([s.id(1), s.id(2)])))).toBe(s.id(0))
    // While the better peers are only busy, the request waits for them rather than taking the low one.
    const held = [s.choose(byRange(), new Set([s.id(2)])), s.choose(byRange(), new Set([s.id(2)]))]
    const held2 = [s.choose(byRange(), new Set([s.id(1)])), s.choose(byRange(), new Set([s.id(1)]))]
    expect([...held, ...held2].map(chosenPeer)).toEqual([s.id(1), s.id(1), s.id(2), s.id(2)])
    expect(s.choose(byRange())).toEqual({ kind: 'busy', waitMs: 0 })

    const strict = setup({ minScore: -3 })
    for (const i of [0, 1]) strict.add(i)
    strict.penalise(0, PeerAction.MidToleranceError)
    expect(chosenPeer(strict.choose(byRange(), new Set(), [0, 0]))).toBe(strict.id(1))
  })

  it('never takes a banned peer; one past the disconnect threshold but still connected is a last choice', () => {
    const s = setup()
    for (const i of [0, 1, 2]) s.add(i)
    s.penalise(0, PeerAction.LowToleranceError, 3) // -30: to be disconnected, and connected until then
    s.penalise(1, PeerAction.Fatal) // banned
    expect(s.scores.state(s.id(0))).toBe('disconnect')
    expect(s.choosable(byRange())).toEqual(new Set([s.id(0), s.id(2)]))
    expect(chosenPeer(s.choose(byRange(), new Set(), [0, 0]))).toBe(s.id(2))
    expect(s.choose(byRange(), new Set([s.id(0), s.id(2)]))).toEqual({ kind: 'none' })
  })

  it('takes a banned static peer as a last choice only; a banned peer that is not static never', () => {
    const s = setup()
    for (const i of [0, 1, 2]) s.add(i)
    s.preferred.add(s.id(0))
    for (const i of [0, 1]) s.penalise(i, PeerAction.LowToleranceError, 5) // -50: both banned
    expect([0, 1].map((i) => s.scores.state(s.id(i)))).toEqual(['ban', 'ban'])
    // A healthy peer is there: it serves, static or not the banned one is not asked.
    expect(chosenPeer(s.choose(byRange(), new Set(), [0, 0]))).toBe(s.id(2))
    expect(s.choosable(byRange())).toEqual(new Set([s.id(0), s.id(2)]))
    // Without it, the banned static peer serves rather than no one; the other banned peer is never asked.
    expect(chosenPeer(s.choose(byRange(), new Set([s.id(2)])))).toBe(s.id(0))
    expect(s.choose(byRange(), new Set([s.id(0), s.id(2)]))).toEqual({ kind: 'none' })
  })

  it('recovers from every upstream misbehaving: still served at once, and good again as scores decay', () => {
    const s = setup()
    for (const i of [0, 1, 2]) s.add(i)
    // A burst of bad answers from every upstream: all three between the rest and the disconnect thresholds.
    s.penalise(0, PeerAction.MidToleranceError, 3) // -15
    for (const i of [1, 2]) s.penalise(i, PeerAction.HighToleranceError, 19) // -19
    expect([0, 1, 2].map((i) => s.scores.state(s.id(i)))).toEqual(['healthy', 'healthy', 'healthy'])
    // The next request is served (by one of the low peers), not refused with "no peer".
    expect(s.choosable(byRange())).toEqual(new Set([s.id(0), s.id(1), s.id(2)]))
    expect(s.choose(byRange()).kind).toBe('chosen')
    // Scores decay with a 10-minute half-life: after 5 minutes all are still low, after 7 peer 0 is good again
    // (-15 → -9.2) and preferred to the others (-19 → -11.7), whatever the draws.
    s.clock.advance(5 * 60_000)
    expect([0, 1, 2].every((i) => s.scores.score(s.id(i)) <= -10)).toBe(true)
    s.clock.advance(2 * 60_000)
    expect(s.scores.score(s.id(0))).toBeGreaterThan(-10)
    expect(s.scores.score(s.id(1))).toBeLessThanOrEqual(-10)
    for (const draws of [
      [0, 0.5],
      [0.5, 0],
      [0.99, 0],
    ]) {
      const choice = s.choose(byRange(), new Set(), draws)
      expect(chosenPeer(choice)).toBe(s.id(0))
      if (choice.kind === 'chosen') choice.lease.release()
    }
    // Ten minutes later all of them are good again.
    s.clock.advance(10 * 60_000)
    for (const i of [0, 1, 2]) expect(s.scores.score(s.id(i))).toBeGreaterThan(-10)
  })

  it('skips peers whose identify did not list the protocol; unknown protocols do not exclude', () => {
    const s = setup()
    s.add(0, { protocols: new Set([defOf('beacon_blocks_by_root').id, defOf('status').id]) })
    s.add(1, { protocols: new Set([defOf('beacon_blocks_by_range').id]) })
    s.add(2) // identify not done yet
    expect(s.choosable(byRange())).toEqual(new Set([s.id(1), s.id(2)]))
    expect(s.choosable(byRoot())).toEqual(new Set([s.id(0), s.id(2)]))
  })

  it('for a range request, skips peers whose head is before startSlot or whose history starts after it', () => {
    const s = setup()
    // Statuses of lagging peers (head far behind the clock when they sent it): their head is what they said.
    s.add(0, { status: status(START_SLOT - 1) })
    s.add(1, { status: status(START_SLOT) })
    s.add(2, { status: status(NOW_SLOT, START_SLOT + 1) })
    s.add(3, { status: status(NOW_SLOT, START_SLOT) })
    expect(s.choosable(byRange())).toEqual(new Set([s.id(1), s.id(3)]))
    // A by-root request has no slot to cover: every one of them may have the block.
    expect(s.choosable(byRoot())).toEqual(new Set([0, 1, 2, 3].map(s.id)))
    // The range of a column request counts the same way.
    const columns = relayRequest('data_column_sidecars_by_range', { startSlot: START_SLOT + 1, count: 1, columns: [1] })
    expect(s.choosable(columns)).toEqual(new Set([s.id(2), s.id(3)]))
  })

  it('takes a peer that was in sync when it sent its Status to have followed the clock since', () => {
    const s = setup()
    const OLD = 500 // both Statuses report head 500, well before START_SLOT
    s.add(0, { status: status(OLD), statusAtMs: slotStartMs(OLD + 2) }) // 2 slots behind then: in sync
    s.add(1, { status: status(OLD), statusAtMs: slotStartMs(OLD + 3) }) // 3 slots behind: lagging
    expect(s.choosable(byRange())).toEqual(new Set([s.id(0)]))
    // Projected to the clock's slot, never beyond it: a range starting after now is nobody's yet.
    const future = relayRequest('beacon_blocks_by_range', { startSlot: NOW_SLOT + 1, count: 1, step: 1 })
    expect(s.choose(future)).toEqual({ kind: 'none' })
    s.clock.advance(SLOT_MS)
    expect(s.choosable(future)).toEqual(new Set([s.id(0)]))
  })

  it('returns none when no peer is connected or none is eligible', () => {
    const s = setup()
    expect(s.choose(byRange())).toEqual({ kind: 'none' })
    s.add(1, { status: status(1) }) // lagging, head 1
    expect(s.choose(byRange())).toEqual({ kind: 'none' })
  })

  it('is busy, not none, while a peer connected within the grace is still in its handshake; none once it is old', () => {
    const s = setup()
    const { handshakeGraceMs, handshakeRetryMs } = UPSTREAM_SELECTOR_DEFAULTS
    const pending = s.add(0, { handshaken: false, status: undefined })
    expect(s.choose(byRange())).toEqual({ kind: 'busy', waitMs: handshakeRetryMs })
    expect(s.choose(byRange(), new Set([s.id(0)]))).toEqual({ kind: 'none' }) // the requester, or tried: no wait
    const pinned = { ...byRange(), upstreams: new Set([s.id(1)]) } // columns planned from handshaken peers
    expect(s.choose(pinned)).toEqual({ kind: 'none' })
    pending.handshaken = true // its Status arrives: served by it
    pending.status = status(NOW_SLOT)
    expect(chosenPeer(s.choose(byRange()))).toBe(s.id(0))
    s.add(1, { handshaken: false, status: undefined })
    pending.status = status(1) // now lagging: cannot serve, but peer 1 is still handshaking
    expect(s.choose(byRange())).toEqual({ kind: 'busy', waitMs: handshakeRetryMs })
    s.clock.advance(handshakeGraceMs) // a handshake this old is not coming: refused at once again
    expect(s.choose(byRange())).toEqual({ kind: 'none' })
  })
})

describe('UpstreamSelector self-limit', () => {
  it('hands out a lease for the request’s cost on the chosen peer', () => {
    const s = setup()
    s.add(0)
    const choice = s.choose(byRange(32))
    expect(choice.kind).toBe('chosen')
    if (choice.kind !== 'chosen') return
    expect(choice.lease).toMatchObject({ peer: s.id(0), protocol: 'beacon_blocks_by_range', cost: 32 })
    expect(s.limiter.inFlight(s.id(0), 'beacon_blocks_by_range')).toBe(1)
    choice.lease.release()
    expect(s.limiter.inFlight(s.id(0), 'beacon_blocks_by_range')).toBe(0)
  })

  it('is busy with waitMs 0 when every eligible peer is at its concurrency limit, and picks a free one', () => {
    const s = setup({ maxConcurrent: 1 })
    s.add(0)
    s.add(1)
    s.add(2, { handshaken: false })
    const first = s.choose(byRange())
    const second = s.choose(byRange())
    expect(new Set([chosenPeer(first), chosenPeer(second)])).toEqual(new Set([s.id(0), s.id(1)]))
    expect(s.choose(byRange())).toEqual({ kind: 'busy', waitMs: 0 })
    // Another protocol has its own slots.
    expect(s.choose(byRoot()).kind).toBe('chosen')
    if (second.kind === 'chosen') second.lease.release()
    expect(chosenPeer(s.choose(byRange()))).toBe(chosenPeer(second))
  })

  it('is busy until the soonest bucket refills when tokens run out', () => {
    const quotas = new Map([['beacon_blocks_by_range', { tokens: 128, seconds: 10 }]])
    const s = setup({ quotas })
    s.add(0)
    s.add(1)
    const drain = () => {
      const choice = s.choose(byRange(128))
      if (choice.kind === 'chosen') choice.lease.release()
      return chosenPeer(choice)
    }
    const early = drain()
    s.clock.advance(1000)
    const late = drain()
    expect(late).not.toBe(early)
    const busy = s.choose(byRange(128))
    const earlyWait = s.limiter.waitMs(early, 'beacon_blocks_by_range', 128)
    expect(earlyWait).toBeGreaterThan(0)
    expect(earlyWait).toBeLessThan(s.limiter.waitMs(late, 'beacon_blocks_by_range', 128))
    expect(busy).toEqual({ kind: 'busy', waitMs: earlyWait })
    // After the wait the early peer is ready again, the late one not yet.
    s.clock.advance(earlyWait)
    expect(chosenPeer(s.choose(byRange(128)))).toBe(early)
  })

  it('counts only eligible peers for the wait', () => {
    const quotas = new Map([['beacon_blocks_by_range', { tokens: 128, seconds: 10 }]])
    const s = setup({ quotas })
    s.add(0)
    const first = s.choose(byRange(128))
    if (first.kind === 'chosen') first.lease.release()
    // An excluded peer with a full bucket does not make the request ready.
    s.add(1)
    const busy = s.choose(byRange(128), new Set([s.id(1)]))
    expect(busy.kind).toBe('busy')
    expect(chosenPeer(s.choose(byRange(128)))).toBe(s.id(1))
  })
})

describe('UpstreamSelector ranking', () => {
  it('prefers a preferred peer that can take the request, however it ranks', () => {
    const s = setup({ maxConcurrent: 1 })
    for (const i of [0, 1, 2]) s.add(i)
    s.penalise(2, PeerAction.MidToleranceError)
    s.preferred.add(s.id(2))
    for (const draws of [
      [0, 0],
      [0.5, 0.5],
      [0.99, 0.99],
    ]) {
      const choice = s.choose(byRange(), new Set(), draws)
      expect(chosenPeer(choice)).toBe(s.id(2))
      if (choice.kind === 'chosen') choice.lease.release()
    }
    // At its limit (or excluded), the others serve.
    const held = s.choose(byRange())
    expect(chosenPeer(held)).toBe(s.id(2))
    expect([s.id(0), s.id(1)]).toContain(chosenPeer(s.choose(byRange())))
    expect([s.id(0), s.id(1)]).toContain(chosenPeer(s.choose(byRoot(), new Set([s.id(2)]))))
  })

  it('power of two choices: compares two random peers and keeps the better', () => {
    const s = setup()
    for (const i of [0, 1, 2]) s.add(i) // order in the store: 0, 1, 2
    s.penalise(0, PeerAction.HighToleranceError, 2) // -2
    s.penalise(1, PeerAction.HighToleranceError, 1) // -1; peer 2 stays at 0
    const pick = (draws: number[]) => {
      const choice = s.choose(byRange(), new Set(), draws)
      if (choice.kind === 'chosen') choice.lease.release()
      return chosenPeer(choice)
    }
    // First draw picks index floor(r * 3); the second index floor(r * 2), or the last one if it repeats the first.
    expect(pick([0, 0.5])).toBe(s.id(1)) // 0 vs 1: the best peer (2) was not drawn
    expect(pick([0.5, 0])).toBe(s.id(1)) // 1 vs 0
    expect(pick([0, 0])).toBe(s.id(2)) // 0 vs 0 → 0 vs 2
    expect(pick([0.99, 0])).toBe(s.id(2)) // 2 vs 0
    expect(pick([0.5, 0.5])).toBe(s.id(2)) // 1 vs 1 → 1 vs 2
    expect(s.randomCalls()).toBe(2)
    // The worst peer loses every pair it is drawn in.
    for (const first of [0, 0.5, 0.99]) {
      for (const second of [0, 0.99]) expect(pick([first, second])).not.toBe(s.id(0))
    }
  })

  it('draws once for a single ready peer', () => {
    const s = setup()
    s.add(0)
    s.add(1, { handshaken: false })
    expect(chosenPeer(s.choose(byRange(), new Set(), [0.7]))).toBe(s.id(0))
    expect(s.randomCalls()).toBe(1)
  })

  it('ranks by score minus 10 points per second of average latency (EWMA, alpha 0.3)', () => {
    const s = setup()
    s.add(0)
    s.add(1)
    const pick = () => {
      // Draws [0, 0] compare peer 0 with peer 1.
      const choice = s.choose(byRange(), new Set(), [0, 0])
      if (choice.kind === 'chosen') choice.lease.release()
      return chosenPeer(choice)
    }
    expect(pick()).toBe(s.id(0)) // a tie keeps the first draw
    s.selector.recordLatency(s.id(0), 2000)
    expect(pick()).toBe(s.id(1)) // -20 against 0

    s.penalise(1, PeerAction.MidToleranceError) // peer 1: -5
    s.selector.recordLatency(s.id(0), 1000) // 0.3 * 1000 + 0.7 * 2000 = 1700 ms: -17
    expect(pick()).toBe(s.id(1))
    s.selector.recordLatency(s.id(0), 0) // 1190 ms
    s.selector.recordLatency(s.id(0), 0) // 833 ms: -8.33
    expect(pick()).toBe(s.id(1))
    s.selector.recordLatency(s.id(0), 0) // 583.1 ms: -5.831
    expect(pick()).toBe(s.id(1))
    s.selector.recordLatency(s.id(0), 0) // 408.17 ms: -4.08 beats -5
    expect(pick()).toBe(s.id(0))
  })

  it('counts 5 points against a peer per request open at it: of two equal peers, the idle one serves', () => {
    const s = setup({ maxConcurrent: 2 })
    s.add(0)
    s.add(1)
    const pick = () => chosenPeer(s.choose(byRange(), new Set(), [0, 0])) // draws [0, 0]: peer 0 against peer 1
    const first = s.choose(byRoot(), new Set([s.id(1)])) // one request (another protocol) open at peer 0
    expect(chosenPeer(first)).toBe(s.id(0))
    expect(pick()).toBe(s.id(1)) // 0 - 5 against 0
    s.selector.recordLatency(s.id(1), 600) // peer 1: -6 for its latency, beyond one open request
    expect(pick()).toBe(s.id(0)) // -5 against -6 - 5 (the pick above is still open at peer 1)
    if (first.kind === 'chosen') first.lease.release()
    expect(s.limiter.openTo(s.id(0))).toBe(1) // the pick above
  })

  it('falls back to the ping RTT until a latency is recorded; forgetPeer drops the average', () => {
    const s = setup()
    s.add(0, { pingRttMs: 1000 }) // -10
    s.add(1)
    s.penalise(1, PeerAction.MidToleranceError) // -5
    const pick = () => {
      const choice = s.choose(byRange(), new Set(), [0, 0])
      if (choice.kind === 'chosen') choice.lease.release()
      return chosenPeer(choice)
    }
    expect(pick()).toBe(s.id(1))
    s.selector.recordLatency(s.id(0), 100) // measured: -1
    expect(pick()).toBe(s.id(0))
    s.selector.recordLatency(s.id(0), 5000) // 0.3 * 5000 + 0.7 * 100 = 1570 ms
    expect(pick()).toBe(s.id(1))
    s.selector.forgetPeer(s.id(0)) // back to the ping RTT: -10
    expect(pick()).toBe(s.id(1))
    s.peerStore.get(ids[0]!)!.pingRttMs = undefined // nothing known: 0
    expect(pick()).toBe(s.id(0))
  })
})
