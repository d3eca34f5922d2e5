import type { Libp2p } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { readiness } from '../../src/status/readiness.js'
import { MetricsServer } from '../../src/status/server.js'
import { COOL_DOWN_DEFAULTS, GoodbyeReason } from '../../src/peers/goodbye.js'
import { hostConnectionLimit } from '../../src/peers/peerManager.js'
import { PeerAction } from '../../src/reqresp/peerAction.js'
import { transportOf } from '../../src/network/transport.js'
import { type BeaconTestPeer, beaconTestPeer, PeerManagerHarness } from '../helpers/peerManagerHarness.js'

const cleanup: Array<{ stop(): unknown }> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c.stop()))
})

async function harness(opts: ConstructorParameters<typeof PeerManagerHarness>[0]): Promise<PeerManagerHarness> {
  const h = await new PeerManagerHarness(opts).start()
  cleanup.push(h)
  return h
}

async function peers(h: PeerManagerHarness, n: number, transport: Transport = 'tcp'): Promise<BeaconTestPeer[]> {
  const out = await Promise.all(Array.from({ length: n }, () => beaconTestPeer(() => h.goodStatus(), transport)))
  for (const p of out) cleanup.push(p.host)
  return out
}

const TRANSPORTS = ['tcp', 'quic'] as const
type Transport = (typeof TRANSPORTS)[number]
const listenOn = (h: PeerManagerHarness, transport: Transport) =>
  h.host.getMultiaddrs().find((a) => transportOf(a) === transport)!
const connectedTo = (p: Libp2p, h: PeerManagerHarness) => p.getConnections(h.host.peerId).length > 0
const candidateOf = (p: BeaconTestPeer) => ({ peerId: p.host.peerId, multiaddrs: p.host.getMultiaddrs() })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const TOO_MANY_PEERS = BigInt(GoodbyeReason.TooManyPeers)

describe('peer manager on 127.0.0.1', () => {
  // QUIC connections go through the same gater and limits as TCP ones: each limit is checked on both.
  it.each(TRANSPORTS)(
    'keeps at most maxPeers under many simultaneous inbound dials over %s; the rest get Goodbye(129)',
    async (transport) => {
      // libp2p's own limit as node.ts should set it: maxPeers plus headroom
      const h = await harness({
        peerManager: { targetPeers: 4, maxPeers: 4 },
        hostMaxConnections: hostConnectionLimit(4),
        quic: transport === 'quic',
      })
      const dialers = await peers(h, 10, transport)
      // All at once: libp2p's own limit counts established connections, so this is where it would overshoot.
      await Promise.allSettled(dialers.map((p) => p.host.dial(listenOn(h, transport))))

      const refused = () => dialers.filter((p) => p.seen.goodbyes.includes(TOO_MANY_PEERS))
      await expect.poll(() => refused().length, { timeout: 10_000 }).toBe(6)
      await expect.poll(() => dialers.filter((p) => connectedTo(p.host, h)).length, { timeout: 10_000 }).toBe(4)
      expect(h.host.getPeers()).toHaveLength(4)
      expect(h.peerManager.peerCount).toBe(4)
      for (const p of refused()) expect(connectedTo(p.host, h)).toBe(false)
      // the refused ones are cooling down: the connection gater turns them away (no second Goodbye needed)
      const again = refused()[0]
      await again.host.dial(listenOn(h, transport)).catch(() => {})
      await expect.poll(() => connectedTo(again.host, h), { timeout: 10_000 }).toBe(false)
      expect(again.seen.goodbyes).toEqual([TOO_MANY_PEERS])
      expect(h.peerManager.peerCount).toBe(4)
      expect(await h.metric('contower_peer_inbound_refused_total')).toMatch(/reason="max_peers"} 6/)
    },
  )

  it.each(TRANSPORTS)('limits inbound peers per IP over %s when loopback is not exempt', async (transport) => {
    const h = await harness({
      peerManager: { targetPeers: 10, maxPeers: 11, maxInboundPerIp: 2, exemptLoopbackFromIpLimit: false },
      quic: transport === 'quic',
    })
    const dialers = await peers(h, 4, transport)
    for (const p of dialers) await p.host.dial(listenOn(h, transport)).catch(() => {})
    await expect
      .poll(() => dialers.filter((p) => p.seen.goodbyes.includes(TOO_MANY_PEERS)).length, { timeout: 10_000 })
      .toBe(2)
    await expect.poll(() => dialers.filter((p) => connectedTo(p.host, h)).length, { timeout: 10_000 }).toBe(2)
    expect(await h.metric('contower_peer_inbound_refused_total')).toMatch(/reason="ip_limit"} 2/)
  })

  it('dials candidates until the target is reached, and again when a peer leaves', async () => {
    const asked: number[] = []
    const h = await harness({
      peerManager: { targetPeers: 3, maxPeers: 4 },
      requestMorePeers: (n) => asked.push(n),
    })
    expect(asked).toEqual([4]) // min(3 x 3 missing, 4 - 0)
    const remote = await peers(h, 6)
    const verdicts = h.peerManager.addCandidates(remote.map(candidateOf))
    expect(verdicts).toEqual(Array(6).fill('queued'))

    await expect.poll(() => h.handshakenCount(), { timeout: 10_000 }).toBe(3)
    expect(remote.filter((p) => connectedTo(p.host, h))).toHaveLength(3)
    expect(h.peerManager.queueLength).toBe(3)
    const first = remote.find((p) => connectedTo(p.host, h))!
    expect(first.seen.statuses.length).toBeGreaterThanOrEqual(1) // we dialled: we sent Status first

    await first.host.stop()
    await expect.poll(() => h.handshakenCount(), { timeout: 10_000 }).toBe(3)
    expect(remote.filter((p) => connectedTo(p.host, h))).toHaveLength(3)
    expect(h.peerManager.queueLength).toBe(2)
    expect(await h.metric('contower_peer_dials_total')).toMatch(/outcome="success",transport="tcp"} 4/)
  })

  it('does not redial a pruned peer during its cool-down, and does once it is over', async () => {
    const h = await harness({
      peerManager: { targetPeers: 2, maxPeers: 4 },
      handshake: { coolDowns: { ...COOL_DOWN_DEFAULTS, tooManyPeersMs: 3_000 } },
    })
    const remote = await peers(h, 3)
    for (const p of remote) await p.host.dial(h.host.getMultiaddrs()[0])
    await expect.poll(() => h.handshakenCount(), { timeout: 10_000 }).toBe(3)

    h.peerManager.heartbeat()
    const pruned = () => remote.filter((p) => p.seen.goodbyes.includes(TOO_MANY_PEERS))
    await expect.poll(() => pruned().length).toBe(1)
    const gone = pruned()[0]
    await expect.poll(() => connectedTo(gone.host, h)).toBe(false)
    expect(await h.metric('contower_peer_prunes_total')).toMatch(/reason="no_subnet_coverage"} 1/)

    // Room again (a kept peer leaves), but the pruned one is cooling down: offered, it is not dialled.
    const kept = remote.find((p) => p !== gone)!
    await kept.host.stop()
    await expect.poll(() => h.peerManager.peerCount).toBe(1)
    expect(h.peerManager.addCandidates([candidateOf(gone)])).toEqual(['cooling_down'])
    await sleep(500)
    expect(connectedTo(gone.host, h)).toBe(false)

    await sleep(3_000) // the (shortened) cool-down is over
    expect(h.peerManager.addCandidates([candidateOf(gone)])).toEqual(['queued'])
    await expect.poll(() => connectedTo(gone.host, h), { timeout: 10_000 }).toBe(true)
  })

  it('does not redial a banned peer, even with room for it', async () => {
    const h = await harness({ peerManager: { targetPeers: 3, maxPeers: 4 } })
    const [bad, good] = await peers(h, 2)
    h.peerManager.addCandidates([candidateOf(bad)])
    await expect.poll(() => h.handshakenCount(), { timeout: 10_000 }).toBe(1)

    h.scores.apply(bad.host.peerId.toString(), PeerAction.Fatal, 'test')
    await expect.poll(() => connectedTo(bad.host, h)).toBe(false)
    expect(bad.seen.goodbyes).toContain(BigInt(GoodbyeReason.Banned))
    expect(h.peerManager.addCandidates([candidateOf(bad), candidateOf(good)])).toEqual(['banned', 'queued'])
    await expect.poll(() => connectedTo(good.host, h), { timeout: 10_000 }).toBe(true)
    await sleep(500)
    expect(connectedTo(bad.host, h)).toBe(false)
    expect(await h.metric('contower_peer_ban_list_size')).toMatch(/kind="ban"} 1/)
  })

  it('serves /ready 503 until a peer is handshaken, then 200; /health stays 200 and carries the checks', async () => {
    const h = await harness({ peerManager: { targetPeers: 3, maxPeers: 4 } })
    const server = new MetricsServer(
      {
        registry: h.registry,
        health: () => ({ status: 'ok', version: 'test', peers: h.host.getPeers().length, uptimeSeconds: 0 }),
        ready: () =>
          readiness({ handshakenPeers: () => h.handshakenCount(), seeded: () => false, discoveryRunning: null }),
        logger: createLogger({ level: 'silent', format: 'json' }),
      },
      { address: '127.0.0.1', port: 0 },
    )
    await server.start()
    cleanup.push(server)
    const url = (path: string) => `http://127.0.0.1:${server.address!.port}${path}`

    const notReady = await fetch(url('/ready'))
    expect(notReady.status).toBe(503)
    expect(await notReady.json()).toEqual({
      ready: false,
      checks: { chainStatusKnown: false, handshakenPeer: false, discoveryRunning: true },
    })
    const health = await fetch(url('/health'))
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', ready: false, checks: { handshakenPeer: false } })

    const [remote] = await peers(h, 1)
    h.peerManager.addCandidates([candidateOf(remote)])
    await expect.poll(async () => (await fetch(url('/ready'))).status, { timeout: 10_000 }).toBe(200)
    expect(await (await fetch(url('/health'))).json()).toMatchObject({ ready: true, peers: 1 })
  })

  it('puts a candidate whose connection drops 50 ms after opening in dial backoff, like a failed dial', async () => {
    const h = await harness({ peerManager: { targetPeers: 2, maxPeers: 4 } })
    const [flapper, steady] = await peers(h, 2)
    let opened = 0
    flapper.host.addEventListener('connection:open', (e) => {
      opened++
      setTimeout(() => void e.detail.close().catch(() => {}), 50)
    })
    h.peerManager.addCandidates([candidateOf(flapper)])
    await expect.poll(() => opened).toBe(1)
    await expect.poll(() => h.host.getConnections(flapper.host.peerId).length).toBe(0)
    // Offered again (discovery keeps finding it): refused for the backoff, while another peer is still dialled.
    await expect.poll(() => h.peerManager.addCandidates([candidateOf(flapper)])).toEqual(['dial_backoff'])
    expect(h.peerManager.addCandidates([candidateOf(steady)])).toEqual(['queued'])
    await expect.poll(() => connectedTo(steady.host, h)).toBe(true)
    expect(opened).toBe(1)
    expect(await h.metric('contower_connection_closes_total')).toMatch(
      // An orderly close from the far end, or seen as a reset when its close races its last frames (loaded machine).
      /direction="outbound",reason="(remote_closed|error)",short_lived="true"\} 1/,
    )
  })
})
