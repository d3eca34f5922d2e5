import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ClosedConnection } from '../../../src/network/connectionMonitor.js'
import { BanList } from '../../../src/peers/banList.js'
import { GoodbyeReason } from '../../../src/peers/goodbye.js'
import {
  hostConnectionLimit,
  PEER_MANAGER_DEFAULTS,
  PeerManager,
  PeerManagerError,
} from '../../../src/peers/peerManager.js'
import { PeerStore } from '../../../src/peers/peerStore.js'
import { PeerScores } from '../../../src/peers/score.js'
import { PeerAction } from '../../../src/reqresp/peerAction.js'

let ids: PeerId[]
beforeAll(async () => {
  ids = await Promise.all(
    Array.from({ length: 24 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))),
  )
})
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

interface PendingDial {
  addr: Multiaddr
  resolve: () => void
  reject: (e: Error) => void
}

/** Just enough of a libp2p host: dials wait until the test settles them; connections are events. */
class FakeHost extends EventTarget {
  readonly dials: PendingDial[] = []
  constructor(readonly peerId: PeerId) {
    super()
  }

  getConnections() {
    return []
  }

  dial(addr: Multiaddr, opts: { signal: AbortSignal }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.dials.push({ addr, resolve, reject })
      opts.signal.addEventListener('abort', () => reject(new Error('aborted')))
    })
  }

  open(peerId: PeerId, direction: 'inbound' | 'outbound', ip = '10.0.0.1'): void {
    const detail = { remotePeer: peerId, direction, status: 'open', remoteAddr: multiaddr(`/ip4/${ip}/tcp/9000`) }
    this.dispatchEvent(new CustomEvent('connection:open', { detail }))
  }

  close(peerId: PeerId): void {
    this.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peerId }))
  }

  /** Completes the i-th pending dial: the connection opens, then the dial resolves. */
  connect(i: number): void {
    const dial = this.dials[i]
    const id = dial.addr.getComponents().find((c) => c.name === 'p2p')!.value!
    this.open(
      ids.find((p) => p.toString() === id)!,
      'outbound',
    )
    dial.resolve()
  }
}

function setup(opts: { targetPeers: number; maxPeers: number } & Partial<typeof PEER_MANAGER_DEFAULTS>) {
  const host = new FakeHost(ids[23])
  const disconnect = vi.fn(async (_peer: PeerId, _reason: GoodbyeReason) => {})
  const requestMorePeers = vi.fn((_count: number) => {})
  const bans = new BanList()
  const scores = new PeerScores()
  const statics = new Set<string>()
  const registry = new Registry()
  const closeListeners: ((closed: ClosedConnection) => void)[] = []
  const connections = {
    onClose: (fn: (closed: ClosedConnection) => void) => {
      closeListeners.push(fn)
      return () => {}
    },
    dialFailed: () => 'error' as const,
  }
  /** A connection to `peer` closes, after `lifetimeMs` (short-lived below ConnectionMonitor's 10 s). */
  const closeAfter = (peer: PeerId, lifetimeMs: number) => {
    const shortLived = lifetimeMs < 10_000
    const closed: ClosedConnection = {
      peer,
      direction: 'outbound',
      muxer: 'yamux',
      reason: 'remote_closed',
      lifetimeMs,
      shortLived,
    }
    for (const fn of closeListeners) fn(closed)
  }
  const pm = new PeerManager(
    {
      host: host as unknown as Libp2p,
      handshake: { disconnect },
      peerStore: new PeerStore(),
      scores,
      bans,
      isStatic: (p) => statics.has(p.toString()),
      requestMorePeers,
      connections,
      registry,
      logger: pino({ level: 'silent' }),
    },
    opts,
  )
  pm.start()
  return { host, pm, disconnect, requestMorePeers, bans, scores, statics, registry, closeAfter }
}

const candidate = (peerId: PeerId) => ({ peerId, multiaddrs: [multiaddr('/ip4/10.0.0.9/tcp/9000')] })
const flush = () => vi.advanceTimersByTimeAsync(0)
const disconnected = (d: ReturnType<typeof vi.fn>) => d.mock.calls.map(([p, r]) => [String(p), r])

describe('PeerManager (fake host, fake timers)', () => {
  it('leaves libp2p headroom above maxPeers, so excess inbound peers get a Goodbye instead of a silent close', () => {
    expect(hostConnectionLimit(4)).toBe(12)
    expect(hostConnectionLimit(55)).toBe(63)
    expect(hostConnectionLimit(210)).toBe(231)
  })

  it('rejects options that cannot work', () => {
    expect(() => setup({ targetPeers: 10, maxPeers: 5 })).toThrow(PeerManagerError)
    expect(() => setup({ targetPeers: 0, maxPeers: 5 })).toThrow(/targetPeers/)
    expect(() => setup({ targetPeers: 5, maxPeers: 5, dialConcurrency: 0 })).toThrow(/dialConcurrency/)
  })

  it('dials at most dialConcurrency at once, with /p2p/<id> added to the address', async () => {
    const { host, pm } = setup({ targetPeers: 10, maxPeers: 11 })
    const verdicts = pm.addCandidates(ids.slice(0, 20).map(candidate))
    expect(verdicts.filter((v) => v === 'queued')).toHaveLength(20)
    expect(host.dials).toHaveLength(5)
    expect(host.dials[0].addr.toString()).toBe(`/ip4/10.0.0.9/tcp/9000/p2p/${ids[0]}`)
    host.connect(0)
    host.connect(1)
    await flush()
    expect(host.dials).toHaveLength(7)
    expect(pm.dialsInFlight).toBe(5)
    pm.stop()
  })

  it('stops dialling at the target and dials again when a peer leaves', async () => {
    const { host, pm } = setup({ targetPeers: 3, maxPeers: 4 })
    pm.addCandidates(ids.slice(0, 10).map(candidate))
    expect(host.dials).toHaveLength(3)
    for (const i of [0, 1, 2]) host.connect(i)
    await flush()
    expect(pm.peerCount).toBe(3)
    expect(host.dials).toHaveLength(3)
    host.close(ids[1])
    expect(host.dials).toHaveLength(4)
    pm.stop()
  })

  it('times a dial out, counts it, and backs the peer off', async () => {
    const { host, pm, registry } = setup({ targetPeers: 3, maxPeers: 4, dialTimeoutMs: 1_000 })
    pm.addCandidates([candidate(ids[0])])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await registry.getSingleMetricAsString('contower_peer_dials_total')).toMatch(
      /outcome="timeout",transport="tcp"} 1/,
    )
    expect(pm.addCandidates([candidate(ids[0])])).toEqual(['dial_backoff'])
    expect(host.dials).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(PEER_MANAGER_DEFAULTS.dialFailureBackoffMs)
    expect(pm.addCandidates([candidate(ids[0])])).toEqual(['queued'])
    expect(host.dials).toHaveLength(2)
    pm.stop()
  })

  it('doubles the backoff of a peer that keeps failing, and starts it over once the peer held a connection', async () => {
    const { host, pm, closeAfter } = setup({ targetPeers: 3, maxPeers: 4 })
    const { dialFailureBackoffMs: first } = PEER_MANAGER_DEFAULTS
    /** Offers the peer once a second until it is dialled again; returns how long it was backed off. */
    const backedOff = async () => {
      const dials = host.dials.length
      let waited = 0
      while (host.dials.length === dials && waited < 120_000) {
        await vi.advanceTimersByTimeAsync(1_000)
        waited += 1_000
        pm.addCandidates([candidate(ids[0])])
      }
      return waited
    }
    pm.addCandidates([candidate(ids[0])])
    host.dials[0].reject(new Error('refused by the far end'))
    await flush()
    expect(await backedOff()).toBe(first)
    host.dials[1].reject(new Error('refused by the far end'))
    await flush()
    expect(await backedOff()).toBe(2 * first)
    host.connect(2) // connected, then dropped within seconds: a third failure
    await flush()
    host.close(ids[0])
    closeAfter(ids[0], 2_000)
    expect(await backedOff()).toBe(4 * first)
    host.connect(3) // held for a minute: forgiven
    await flush()
    host.close(ids[0])
    closeAfter(ids[0], 60_000)
    pm.addCandidates([candidate(ids[0])])
    expect(host.dials).toHaveLength(5)
    host.dials[4].reject(new Error('refused by the far end'))
    await flush()
    expect(await backedOff()).toBe(first)
    pm.stop()
  })

  it('dials the QUIC address first and falls back to TCP when it fails; a TCP success is one peer', async () => {
    const { host, pm, registry } = setup({ targetPeers: 3, maxPeers: 4, dialTimeoutMs: 1_000 })
    const quic = multiaddr('/ip4/10.0.0.9/udp/9001/quic-v1')
    const tcp = multiaddr('/ip4/10.0.0.9/tcp/9000')
    pm.addCandidates([{ peerId: ids[0], multiaddrs: [quic, tcp] }])
    expect(host.dials.map((d) => d.addr.toString())).toEqual([`${quic}/p2p/${ids[0]}`])
    host.dials[0].reject(new Error('no route'))
    await flush()
    expect(host.dials.map((d) => d.addr.toString())).toEqual([`${quic}/p2p/${ids[0]}`, `${tcp}/p2p/${ids[0]}`])
    host.connect(1)
    await flush()
    expect(pm.peerCount).toBe(1)
    expect(pm.dialsInFlight).toBe(0)
    const dials = await registry.getSingleMetricAsString('contower_peer_dials_total')
    expect(dials).toMatch(/outcome="error",transport="quic"} 1/)
    expect(dials).toMatch(/outcome="success",transport="tcp"} 1/)
    // A second connection of the same peer (over the other transport) does not count again.
    host.open(ids[0], 'inbound')
    expect(pm.peerCount).toBe(1)
    pm.stop()
  })

  it('does not fall back after a QUIC success, and a timed-out QUIC dial leaves the TCP one its own timeout', async () => {
    const { host, pm } = setup({ targetPeers: 3, maxPeers: 4, dialTimeoutMs: 1_000 })
    const addrs = [multiaddr('/ip4/10.0.0.9/udp/9001/quic-v1'), multiaddr('/ip4/10.0.0.9/tcp/9000')]
    pm.addCandidates([
      { peerId: ids[0], multiaddrs: addrs },
      { peerId: ids[1], multiaddrs: addrs },
    ])
    host.connect(0)
    await vi.advanceTimersByTimeAsync(1_000) // ids[1]'s QUIC dial times out
    expect(host.dials).toHaveLength(3)
    expect(host.dials[2].addr.toString()).toBe(`${addrs[1]}/p2p/${ids[1]}`)
    await vi.advanceTimersByTimeAsync(999)
    host.connect(2)
    await flush()
    expect(pm.peerCount).toBe(2)
    pm.stop()
  })

  it('gives a QUIC dial quicDialTimeoutMs before the TCP address is tried, TCP and a QUIC-only peer the whole timeout', async () => {
    const { host, pm, registry } = setup({ targetPeers: 3, maxPeers: 4 })
    const { quicDialTimeoutMs, dialTimeoutMs } = PEER_MANAGER_DEFAULTS
    expect(quicDialTimeoutMs).toBeLessThan(dialTimeoutMs)
    const addrs = [multiaddr('/ip4/10.0.0.9/udp/9001/quic-v1'), multiaddr('/ip4/10.0.0.9/tcp/9000')]
    pm.addCandidates([{ peerId: ids[0], multiaddrs: addrs }])
    await vi.advanceTimersByTimeAsync(quicDialTimeoutMs - 1)
    expect(host.dials).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1) // a filtered UDP port: the QUIC dial times out, TCP is tried
    expect(host.dials.map((d) => d.addr.toString())).toEqual(addrs.map((a) => `${a}/p2p/${ids[0]}`))
    await vi.advanceTimersByTimeAsync(dialTimeoutMs - 1)
    host.connect(1)
    await flush()
    expect(pm.peerCount).toBe(1)
    expect(await registry.getSingleMetricAsString('contower_peer_dials_total')).toMatch(
      /outcome="timeout",transport="quic"} 1/,
    )

    // A QUIC-only peer has nothing to fall back to: its one dial gets the whole timeout.
    pm.addCandidates([{ peerId: ids[1], multiaddrs: [addrs[0]] }])
    await vi.advanceTimersByTimeAsync(dialTimeoutMs - 1)
    host.connect(2)
    await flush()
    expect(pm.peerCount).toBe(2)
    const dials = await registry.getSingleMetricAsString('contower_peer_dials_total')
    expect(dials).toMatch(/outcome="success",transport="quic"} 1/)
    expect(dials).toMatch(/outcome="timeout",transport="quic"} 1/)
    pm.stop()
  })

  it('dials TCP first to a peer whose QUIC failed and TCP worked, until QUIC works or quicFailureMemoryMs passed', async () => {
    const { host, pm, closeAfter } = setup({ targetPeers: 3, maxPeers: 4 })
    const { quicDialTimeoutMs, dialTimeoutMs, quicFailureMemoryMs } = PEER_MANAGER_DEFAULTS
    const [quic6, quic, tcp6, tcp] = [
      '/ip6/2001:db8::9/udp/9001/quic-v1',
      '/ip4/10.0.0.9/udp/9001/quic-v1',
      '/ip6/2001:db8::9/tcp/9000',
      '/ip4/10.0.0.9/tcp/9000',
    ].map((a) => multiaddr(a))
    const offer = () => pm.addCandidates([{ peerId: ids[0], multiaddrs: [quic6, quic, tcp6, tcp] }])
    const dialled = (from: number) => host.dials.slice(from).map((d) => d.addr.toString().replace(`/p2p/${ids[0]}`, ''))
    /** The peer held its connection a minute and left: no backoff, the next offer dials at once. */
    const leave = async () => {
      await vi.advanceTimersByTimeAsync(60_000)
      host.close(ids[0])
      closeAfter(ids[0], 60_000)
    }

    // First dial: both QUIC addresses time out (2 s each), then tcp6 works.
    offer()
    await vi.advanceTimersByTimeAsync(2 * quicDialTimeoutMs)
    host.connect(2)
    await flush()
    expect(dialled(0)).toEqual([quic6, quic, tcp6].map(String))
    expect(pm.peerCount).toBe(1)

    // Redial: TCP first, IPv6 before IPv4 still; it works at once, without a QUIC timeout.
    await leave()
    offer()
    expect(dialled(3)).toEqual([String(tcp6)])
    host.connect(3)
    await flush()
    expect(pm.peerCount).toBe(1)

    // Redial with TCP down: QUIC comes last and, being last, gets the whole timeout; it works, which clears the memory.
    await leave()
    offer()
    host.dials[4].reject(new Error('connection refused'))
    await flush()
    host.dials[5].reject(new Error('connection refused'))
    await flush()
    expect(dialled(4)).toEqual([tcp6, tcp, quic6].map(String))
    host.dials[6].reject(new Error('no route'))
    await flush()
    await vi.advanceTimersByTimeAsync(dialTimeoutMs - 1)
    host.connect(7)
    await flush()
    expect(dialled(4)).toEqual([tcp6, tcp, quic6, quic].map(String))
    expect(pm.peerCount).toBe(1)
    await leave()
    offer()
    expect(dialled(8)).toEqual([String(quic6)])

    // QUIC fails again and TCP works: TCP first for quicFailureMemoryMs, then QUIC is given another try.
    host.dials[8].reject(new Error('no route'))
    await flush()
    host.dials[9].reject(new Error('no route'))
    await flush()
    host.connect(10)
    await flush()
    await leave()
    offer()
    expect(dialled(11)).toEqual([String(tcp6)])
    host.connect(11)
    await flush()
    await vi.advanceTimersByTimeAsync(quicFailureMemoryMs)
    host.close(ids[0])
    closeAfter(ids[0], quicFailureMemoryMs)
    offer()
    expect(dialled(12)).toEqual([String(quic6)])
    pm.stop()
  })

  it('at the target with inbound peers only, still dials up to the outbound quota (10% of the target)', async () => {
    const { host, pm, requestMorePeers } = setup({ targetPeers: 10, maxPeers: 12 })
    for (let i = 0; i < 10; i++) host.open(ids[i], 'inbound', `10.0.2.${i}`)
    await vi.advanceTimersByTimeAsync(PEER_MANAGER_DEFAULTS.heartbeatMs)
    expect(requestMorePeers).toHaveBeenLastCalledWith(2) // min(3 x 1 outbound missing, 12 - 10)
    pm.addCandidates(ids.slice(10, 14).map(candidate))
    expect(host.dials).toHaveLength(1)
    host.connect(0)
    await flush()
    expect(host.dials).toHaveLength(1)
    expect(pm.peerCount).toBe(11) // the next heartbeat prunes an inbound peer
    pm.stop()
  })

  it('does not queue banned, cooling-down, connected, static peers or itself', () => {
    const { host, pm, bans, statics } = setup({ targetPeers: 3, maxPeers: 4 })
    bans.ban(ids[0].toString(), 60_000, 'ban')
    bans.ban(ids[1].toString(), 60_000, 'cool_down')
    host.open(ids[2], 'inbound')
    statics.add(ids[3].toString())
    expect(pm.addCandidates([ids[0], ids[1], ids[2], ids[3], ids[23]].map(candidate))).toEqual([
      'banned',
      'cooling_down',
      'connected',
      'static',
      'self',
    ])
    expect(host.dials).toHaveLength(0)
    pm.stop()
  })

  it('re-checks a queued candidate before dialling it: cooled down meanwhile, it is skipped', async () => {
    const { host, pm, bans } = setup({ targetPeers: 1, maxPeers: 2 })
    pm.addCandidates([candidate(ids[0]), candidate(ids[1]), candidate(ids[2])])
    expect(host.dials).toHaveLength(1)
    bans.ban(ids[1].toString(), 60_000, 'cool_down')
    host.dials[0].reject(new Error('connection refused'))
    await flush()
    expect(host.dials).toHaveLength(2)
    expect(host.dials[1].addr.toString()).toContain(ids[2].toString())
    pm.stop()
  })

  it('says Goodbye(129) to inbound peers beyond maxPeers, but never to static peers', () => {
    const { host, pm, disconnect, statics } = setup({ targetPeers: 2, maxPeers: 3 })
    statics.add(ids[5].toString())
    for (const i of [0, 1, 2, 3, 4]) host.open(ids[i], 'inbound', `10.0.0.${i}`)
    host.open(ids[5], 'inbound')
    expect(disconnected(disconnect)).toEqual([
      [ids[3].toString(), GoodbyeReason.TooManyPeers],
      [ids[4].toString(), GoodbyeReason.TooManyPeers],
    ])
    expect(pm.peerCount).toBe(4)
    pm.stop()
  })

  it('limits inbound peers per IP when loopback is not exempt', () => {
    const { host, pm, disconnect } = setup({
      targetPeers: 10,
      maxPeers: 11,
      maxInboundPerIp: 2,
      exemptLoopbackFromIpLimit: false,
    })
    for (const i of [0, 1, 2]) host.open(ids[i], 'inbound', '127.0.0.1')
    expect(disconnected(disconnect)).toEqual([[ids[2].toString(), GoodbyeReason.TooManyPeers]])
    pm.stop()
  })

  it('prunes back to the target on the heartbeat, keeping static peers and the outbound quota', async () => {
    const { host, pm, disconnect, statics, scores } = setup({ targetPeers: 10, maxPeers: 15 })
    statics.add(ids[0].toString())
    host.open(ids[0], 'inbound')
    host.open(ids[1], 'outbound')
    for (let i = 2; i < 14; i++) host.open(ids[i], 'inbound', `10.0.1.${i}`)
    scores.apply(ids[0].toString(), PeerAction.LowToleranceError, 'test') // static: stays anyway
    scores.apply(ids[1].toString(), PeerAction.LowToleranceError, 'test') // the only outbound: the quota keeps it
    expect(disconnect).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(PEER_MANAGER_DEFAULTS.heartbeatMs)
    expect(disconnect).toHaveBeenCalledTimes(4)
    const pruned = disconnected(disconnect)
    expect(pruned.every(([, reason]) => reason === GoodbyeReason.TooManyPeers)).toBe(true)
    expect(pruned.map(([p]) => p)).not.toContain(ids[0].toString())
    expect(pruned.map(([p]) => p)).not.toContain(ids[1].toString())
    // pruned peers are on their way out: the next heartbeat does not pick more while they leave
    await vi.advanceTimersByTimeAsync(PEER_MANAGER_DEFAULTS.heartbeatMs)
    expect(disconnect).toHaveBeenCalledTimes(4)
    pm.stop()
  })

  it('asks discovery for 3x the missing peers (capped by maxPeers), minus what is queued', async () => {
    const { pm, requestMorePeers } = setup({ targetPeers: 10, maxPeers: 11, dialTimeoutMs: 120_000 })
    expect(requestMorePeers).toHaveBeenLastCalledWith(11)
    requestMorePeers.mockClear()
    pm.addCandidates(ids.slice(0, 8).map(candidate)) // 5 dialling, 3 queued
    await vi.advanceTimersByTimeAsync(PEER_MANAGER_DEFAULTS.heartbeatMs)
    expect(requestMorePeers).toHaveBeenLastCalledWith(11 - 8)
    pm.stop()
  })

  it('dials candidates offered while stopped once it starts', () => {
    const { host, pm } = setup({ targetPeers: 3, maxPeers: 4 })
    pm.stop()
    expect(pm.addCandidates([candidate(ids[0])])).toEqual(['queued'])
    expect(host.dials).toHaveLength(0)
    pm.start()
    expect(host.dials).toHaveLength(1)
    pm.stop()
  })

  it('stop aborts dials in flight and clears its timer', async () => {
    const { host, pm, registry } = setup({ targetPeers: 3, maxPeers: 4 })
    pm.addCandidates([candidate(ids[0])])
    pm.stop()
    await flush()
    expect(await registry.getSingleMetricAsString('contower_peer_dials_total')).toMatch(
      /outcome="aborted",transport="tcp"} 1/,
    )
    expect(vi.getTimerCount()).toBe(0)
    host.open(ids[1], 'inbound')
    expect(pm.peerCount).toBe(0)
  })
})
