import type { Libp2p } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { afterEach, describe, expect, it } from 'vitest'
import { LODESTAR_QUOTAS } from '../../src/spec/quotas.js'
import { transportOf } from '../../src/network/transport.js'
import type { ContowerNode } from '../../src/node.js'
import { formatTopic } from '../../src/gossip/topics.js'
import { HANDSHAKE_DEFAULTS } from '../../src/peers/handshake.js'
import { PEER_ACTION_SCORE, SCORE_DEFAULTS } from '../../src/peers/score.js'
import { PeerAction } from '../../src/reqresp/peerAction.js'
import { encodeRequest } from '../../src/wire/chunks.js'
import { encodeSnappyFrames } from '../../src/wire/snappyFrames.js'
import { encodeVarint } from '../../src/wire/varint.js'
import { RespCode } from '../../src/wire/constants.js'
import {
  firstChunk,
  GOODBYE,
  METADATA_V3,
  PING,
  rawExchange,
  STATUS_V2,
  type StatusFields,
  serveBeaconProtocols,
} from '../helpers/beaconPeer.js'
import { testChain } from '../helpers/devnet.js'
import { startTestNode } from '../helpers/node.js'
import { createTestPeer } from '../helpers/peers.js'
import { type Stranger, startStranger } from '../helpers/stranger.js'

const cleanup: Array<{ stop(): unknown }> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c.stop()))
})

async function node(flags: Record<string, string> = {}): Promise<ContowerNode> {
  const n = await startTestNode(flags)
  cleanup.push(n)
  return n
}

async function peer(
  opts: { listen?: boolean; agentVersion?: string; transport?: 'tcp' | 'quic' } = {},
): Promise<Libp2p> {
  const p = (await createTestPeer({
    muxers: 'mplex',
    listen: opts.listen ?? false,
    agentVersion: opts.agentVersion,
    transport: opts.transport,
  })) as Libp2p
  cleanup.push(p)
  await p.start()
  return p
}

/** A Status that Contower finds relevant: its own digest, head one slot behind the wall clock. */
function goodStatus(n: ContowerNode, finalizedEpoch = 100): StatusFields {
  return {
    forkDigest: n.chainView.currentDigest(),
    finalizedRoot: new Uint8Array(32).fill(0xaa),
    finalizedEpoch,
    headRoot: new Uint8Array(32).fill(0xbb),
    headSlot: n.clock.currentSlot - 1,
    earliestAvailableSlot: 1234,
  }
}

const LIGHTHOUSE_AGENT = 'Lighthouse/v7.1.0-abc/x86_64-linux'
const scrapeMetrics = async (n: ContowerNode) =>
  (await fetch(`http://127.0.0.1:${n.metricsAddress!.port}/metrics`)).text()

const pingRequest = () => encodeRequest(ssz.phase0.Ping.serialize(1n))

/** Contower's listen address on `transport`. */
const addrOf = (n: ContowerNode, transport: 'tcp' | 'quic' = 'tcp') =>
  n.listenAddresses.find((a) => transportOf(a) === transport)!

async function ping(from: Libp2p, n: ContowerNode, transport: 'tcp' | 'quic' = 'tcp'): Promise<bigint> {
  const chunk = await firstChunk(await rawExchange(from, addrOf(n, transport), PING, pingRequest()), ssz.phase0.Ping)
  expect(chunk?.result).toBe(RespCode.Success)
  return ssz.phase0.Ping.deserialize(chunk!.ssz!)
}

describe('handshake protocols answered by Contower', () => {
  it('completes Status v2, Ping and MetaData v3 with an mplex-only peer, with the wall-clock digest', async () => {
    const n = await node({ attnets: '1,5', syncnets: '2', 'custody-group-count': '8' })
    const p = await peer()
    const addr = n.listenAddresses[0]

    const sent = goodStatus(n)
    const reply = await firstChunk(
      await rawExchange(p, addr, STATUS_V2, encodeRequest(ssz.fulu.Status.serialize(sent))),
      ssz.fulu.Status,
    )
    expect(reply?.result).toBe(RespCode.Success)
    const theirs = ssz.fulu.Status.deserialize(reply!.ssz!)
    // mainnet at today's wall clock: BPO2 (the digest doc's vector), computed from our fork schedule
    expect(Buffer.from(theirs.forkDigest).toString('hex')).toBe(
      Buffer.from(n.forkSchedule.digestAtEpoch(n.clock.currentEpoch)).toString('hex'),
    )
    expect(theirs.headSlot).toBeLessThanOrEqual(n.clock.currentSlot)
    expect(n.peerStore.get(p.peerId)?.handshaken).toBe(true)

    // Our Status now follows the peers': their finalized checkpoint, head and earliest slot.
    const again = ssz.fulu.Status.deserialize(
      (await firstChunk(
        await rawExchange(p, addr, STATUS_V2, encodeRequest(ssz.fulu.Status.serialize(sent))),
        ssz.fulu.Status,
      ))!.ssz!,
    )
    expect(again).toMatchObject({ finalizedEpoch: 100, headSlot: sent.headSlot, earliestAvailableSlot: 1234 })
    expect(again.finalizedRoot).toEqual(sent.finalizedRoot)

    expect(await ping(p, n)).toBe(n.metadata.seqNumber)

    const md = await firstChunk(await rawExchange(p, addr, METADATA_V3, null), ssz.fulu.Metadata)
    expect(md?.ssz).toHaveLength(25)
    const metadata = ssz.fulu.Metadata.deserialize(md!.ssz!)
    expect(metadata.seqNumber).toBe(n.metadata.seqNumber)
    expect(metadata.attnets.getTrueBitIndexes()).toEqual([1, 5])
    expect(metadata.syncnets.getTrueBitIndexes()).toEqual([2])
    expect(metadata.custodyGroupCount).toBe(8)
  })

  it('on an outbound connection sends Status and Ping at once, then asks for MetaData', async () => {
    const n = await node()
    const remote = await peer({ listen: true })
    const seen = await serveBeaconProtocols(remote, () => goodStatus(n))
    await n.libp2p.dial(remote.getMultiaddrs()[0])

    await expect.poll(() => seen.statuses.length + seen.pings.length).toBeGreaterThanOrEqual(2)
    expect(Buffer.from(seen.statuses[0].forkDigest)).toEqual(Buffer.from(n.chainView.currentDigest()))
    expect(seen.pings[0]).toBe(n.metadata.seqNumber)
    await expect.poll(() => seen.metadataRequests).toBe(1)
    // The peer counts the request before its answer has reached us: wait for the answer, not the count.
    await expect.poll(() => n.peerStore.get(remote.peerId)?.metadata?.seqNumber, { timeout: 10_000 }).toBe(7n)
    const data = n.peerStore.get(remote.peerId)
    expect(data?.handshaken).toBe(true)
    expect(data?.client).toBe('other')
  })

  it('does not blame a peer whose connection drops during our Status: no Goodbye cool-down, no penalty', async () => {
    const n = await node()
    const remote = await peer({ listen: true })
    await serveBeaconProtocols(remote, () => goodStatus(n))
    // The connection drops as our Status arrives (a peer restarting, a flaky link): the peer manager's dial
    // backoff handles such a peer; a Goodbye(3) cool-down and a penalty would punish a fault that is not its own.
    await remote.unhandle(STATUS_V2)
    let dropped = 0
    await remote.handle(STATUS_V2, async (_stream, connection) => {
      dropped++
      setTimeout(() => void connection.close().catch(() => {}), 50)
    })
    await n.libp2p.dial(remote.getMultiaddrs()[0])
    await expect.poll(() => dropped).toBe(1)
    await expect.poll(() => n.peerStore.get(remote.peerId) === undefined).toBe(true)
    // The peer went away, so our failed Status is settled (the grace ends at the disconnect): no one was blamed.
    await new Promise((r) => setImmediate(r))
    expect(n.bans.kindOf(remote.peerId.toString())).toBe(null)
    expect(n.scores.score(remote.peerId.toString())).toBe(0)
  })

  it('answers a peer on another fork digest, then says Goodbye(2), disconnects and refuses it', async () => {
    const n = await node()
    const p = await peer({ listen: true })
    const seen = await serveBeaconProtocols(p, () => goodStatus(n))
    const wrong = { ...goodStatus(n), forkDigest: Uint8Array.from([0xde, 0xad, 0xbe, 0xef]) }
    const reply = await firstChunk(
      await rawExchange(p, n.listenAddresses[0], STATUS_V2, encodeRequest(ssz.fulu.Status.serialize(wrong))),
      ssz.fulu.Status,
    )
    expect(reply?.result).toBe(RespCode.Success)
    await expect.poll(() => seen.goodbyes).toEqual([2n])
    await expect.poll(() => p.getConnections(n.libp2p.peerId).length).toBe(0)
    await expect.poll(() => n.peerStore.get(p.peerId) === undefined).toBe(true)
    expect(n.bans.isBanned(p.peerId.toString())).toBe(true)
    // A redial is cut off by the connection gater right after encryption (the dialer's optimistic muxer
    // selection may report it open for a moment).
    await p.dial(n.listenAddresses[0]).catch(() => {})
    await expect.poll(() => p.getConnections(n.libp2p.peerId).length).toBe(0)
    expect(n.libp2p.getConnections(p.peerId)).toHaveLength(0)
    expect(n.peerStore.get(p.peerId) === undefined).toBe(true)
  })

  it('rejects a peer whose head is ahead of the wall clock', async () => {
    const n = await node()
    const p = await peer({ listen: true })
    const seen = await serveBeaconProtocols(p, () => goodStatus(n))
    const ahead = { ...goodStatus(n), headSlot: n.clock.currentSlot + 5 }
    await rawExchange(p, n.listenAddresses[0], STATUS_V2, encodeRequest(ssz.fulu.Status.serialize(ahead)))
    await expect.poll(() => seen.goodbyes).toEqual([2n])
  })

  it('says Goodbye(1) to every peer when it stops', async () => {
    const n = await node()
    const remotes = [await peer({ listen: true }), await peer({ listen: true })]
    const seen = await Promise.all(remotes.map((r) => serveBeaconProtocols(r, () => goodStatus(n))))
    for (const r of remotes) await n.libp2p.dial(r.getMultiaddrs()[0])
    await expect.poll(() => n.peerStore.size).toBe(2)
    await n.stop()
    expect(seen.map((s) => s.goodbyes)).toEqual([[1n], [1n]])
  })

  it('serves a burst of 30 requests on one mplex connection (well above mplex’s default 5 new streams/s)', async () => {
    const n = await node()
    const p = await peer()
    await p.dial(n.listenAddresses[0])
    for (let i = 0; i < 15; i++) {
      // two at a time, as the spec lets a requester do
      expect(await Promise.all([ping(p, n), ping(p, n)])).toEqual([n.metadata.seqNumber, n.metadata.seqNumber])
    }
    expect(p.getConnections(n.libp2p.peerId)).toHaveLength(1)
  })
})

describe('handshake schedule (timings shortened)', () => {
  it('sends its own Status when an inbound peer stays silent, then re-Statuses, pings, and refetches MetaData on a new seq', async () => {
    const n = await startTestNode({}, undefined, {
      handshake: { inboundStatusWaitMs: 300, statusIntervalMs: 600, pingIntervalInboundMs: 200, heartbeatMs: 50 },
    })
    cleanup.push(n)
    const p = await peer({ listen: true })
    let seq = 7n
    const seen = await serveBeaconProtocols(
      p,
      () => goodStatus(n),
      () => seq,
    )
    await p.dial(n.listenAddresses[0]) // inbound for Contower; the peer sends no Status
    await new Promise((r) => setTimeout(r, 150))
    expect(seen.statuses).toHaveLength(0) // still within the inbound wait
    await expect.poll(() => seen.statuses.length).toBe(1)
    await expect.poll(() => seen.metadataRequests).toBe(1)
    await expect.poll(() => seen.pings.length).toBeGreaterThanOrEqual(2)
    await expect.poll(() => seen.statuses.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(2)
    seq = 8n
    await expect.poll(() => seen.metadataRequests).toBe(2)
    await expect.poll(() => n.peerStore.get(p.peerId)?.metadata?.seqNumber).toBe(8n)
  })
})

describe('Status to peers behind our head', () => {
  it('re-sends Status when our head moves more than 4 slots past what a peer told us, at most once a gap', async () => {
    const gapMs = 1_000
    const POLL = { timeout: 10_000 }
    const n = await startTestNode({}, undefined, {
      handshake: { heartbeatMs: 50, statusResendMinGapMs: gapMs },
    })
    cleanup.push(n)
    const head = n.clock.currentSlot - 100
    // P1 sets our finalized checkpoint and head; P2 is 50 slots behind and hears of blocks only through Status.
    const p1 = await peer({ listen: true })
    const p2 = await peer({ listen: true })
    const finalizedRoot = new Uint8Array(32).fill(0xaa)
    const status = (headSlot: number): StatusFields => ({
      ...goodStatus(n),
      finalizedRoot,
      finalizedEpoch: 10,
      headSlot,
    })
    const seen1 = await serveBeaconProtocols(p1, () => status(head))
    const seen2 = await serveBeaconProtocols(p2, () => status(head - 50))
    await n.libp2p.dial(p1.getMultiaddrs()[0])
    await expect.poll(() => n.peerStore.get(p1.peerId)?.handshaken, POLL).toBe(true)
    await n.libp2p.dial(p2.getMultiaddrs()[0])
    await expect.poll(() => n.peerStore.get(p2.peerId)?.handshaken, POLL).toBe(true)
    expect(seen2.statuses.map((s) => s.headSlot)).toEqual([head])

    // Gossip moves our head 4 slots: not "more than a few", nothing is sent.
    const root = new Uint8Array(32).fill(0xcc)
    n.chainView.noteGossipBlock(head + 4, root)
    await new Promise((r) => setTimeout(r, gapMs + 300))
    expect(seen2.statuses).toHaveLength(1)
    // 5 slots: P2 hears the new head (P1, whose last Status said `head`, too).
    n.chainView.noteGossipBlock(head + 5, root)
    await expect.poll(() => seen2.statuses.map((s) => s.headSlot), POLL).toEqual([head, head + 5])
    await expect.poll(() => seen1.statuses.at(-1)?.headSlot, POLL).toBe(head + 5)

    // A head racing ahead (2 slots every 100 ms for 3 s, never past the wall clock): one Status per gap at most, as
    // Lodestar's quota allows.
    const before = seen2.statuses.length
    for (let i = 1; i <= 30; i++) {
      n.chainView.noteGossipBlock(head + 5 + 2 * i, root)
      await new Promise((r) => setTimeout(r, 100))
    }
    const sent = seen2.statuses.length - before
    expect(sent).toBeGreaterThanOrEqual(2)
    expect(sent).toBeLessThanOrEqual(Math.ceil(3_000 / gapMs) + 1)
    expect(seen2.statuses.at(-1)!.headSlot).toBeGreaterThan(head + 5)
    const m = await scrapeMetrics(n)
    expect(m).toMatch(/^contower_status_updates_total [1-9]/m)
  })

  it('sends none to a peer that gets our blocks by gossip (in the beacon_block mesh), while one outside it gets one', async () => {
    const { network, chain } = testChain()
    const n = await startTestNode({}, network, { handshake: { heartbeatMs: 50, statusResendMinGapMs: 1_000 } })
    cleanup.push(n)
    // Two hosts Contower did not build (plain createLibp2p, gossipsub of their own); one subscribes to beacon_block.
    const [meshed, apart] = await Promise.all([
      startStranger({ network, chain }, ['yamux']),
      startStranger({ network, chain }, ['mplex', 'yamux']),
    ])
    cleanup.push(meshed, apart)
    const digest = Buffer.from(n.chainView.currentDigest()).toString('hex')
    meshed.host.services.gossipsub.subscribe(formatTopic(digest, { kind: 'beacon_block', subnet: null }))
    for (const s of [meshed, apart]) {
      await n.libp2p.dial(s.host.getMultiaddrs()[0])
      await expect.poll(() => n.peerStore.get(s.peerId)?.handshaken, { timeout: 10_000 }).toBe(true)
    }
    await expect.poll(() => n.gossip.inBlockMesh(meshed.peerId.toString()), { timeout: 10_000 }).toBe(true)
    expect(n.gossip.inBlockMesh(apart.peerId.toString())).toBe(false)

    // Both told us their head at the handshake; once our head is 5 slots past it, only the peer outside the mesh
    // needs to hear of it.
    const statuses = (s: Stranger) => s.received.get('status') ?? 0
    const before = { meshed: statuses(meshed), apart: statuses(apart) }
    const told = n.peerStore.get(apart.peerId)!.status!.headSlot
    await expect.poll(() => n.clock.currentSlot, { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(told + 5)
    n.chainView.noteGossipBlock(n.clock.currentSlot, new Uint8Array(32).fill(0xcc))
    await expect.poll(() => statuses(apart), { timeout: 10_000 }).toBeGreaterThan(before.apart)
    expect(statuses(meshed)).toBe(before.meshed)
  }, 60_000)

  it('its default gap keeps within Lodestar’s Status quota (5 per 15 s)', () => {
    const { tokens, seconds } = LODESTAR_QUOTAS.status!
    expect(HANDSHAKE_DEFAULTS.statusResendMinGapMs).toBeGreaterThanOrEqual((seconds * 1000) / tokens)
  })
})

describe('metrics', () => {
  it('count requests by protocol and result, handshakes, goodbyes and peers by client', async () => {
    const n = await node()
    const p = await peer({ agentVersion: LIGHTHOUSE_AGENT })
    const addr = n.listenAddresses[0]
    await rawExchange(p, addr, STATUS_V2, encodeRequest(ssz.fulu.Status.serialize(goodStatus(n))))
    await rawExchange(p, addr, PING, pingRequest())
    await rawExchange(p, addr, PING, new Uint8Array(11).fill(0xff))
    await rawExchange(p, addr, GOODBYE, encodeRequest(ssz.phase0.Goodbye.serialize(3n)))
    const scrape = () => scrapeMetrics(n)
    await expect.poll(scrape).toMatch(/^contower_goodbyes_total\{direction="received",reason="3"\} 1$/m)
    const text = await scrape()
    expect(text).toMatch(
      /^contower_reqresp_inbound_requests_total\{protocol="status\/2",result="success",transport="tcp"\} 1$/m,
    )
    expect(text).toMatch(
      /^contower_reqresp_inbound_requests_total\{protocol="ping\/1",result="success",transport="tcp"\} 1$/m,
    )
    expect(text).toMatch(
      /^contower_reqresp_inbound_requests_total\{protocol="ping\/1",result="invalid_request",transport="tcp"\} 1$/m,
    )
    expect(text).toMatch(/^contower_handshakes_total\{direction="inbound",result="success"\} 1$/m)
    expect(text).toMatch(
      /^contower_peer_penalties_total\{action="low_tolerance",reason="invalid_request_VARINT_OVERFLOW"\} 1$/m,
    )
  })

  it('count peers by client from the identify agent string', async () => {
    const n = await node()
    const p = await peer({ agentVersion: LIGHTHOUSE_AGENT })
    await p.dial(n.listenAddresses[0])
    const scrape = () => scrapeMetrics(n)
    await expect.poll(scrape).toMatch(/^contower_peers_by_client\{client="lighthouse"\} 1$/m)
    expect(await scrape()).toMatch(/^contower_peers_by_client\{client="lodestar"\} 0$/m)
  })
})

describe.each(['tcp', 'quic'] as const)(
  'malformed requests over %s get InvalidRequest or a closed stream, cost the sender, and harm no one else',
  (transport) => {
    const pingFrames = encodeRequest(ssz.phase0.Ping.serialize(1n))
    const withFlippedCrc = (() => {
      const b = Uint8Array.from(pingFrames)
      b[1 + 10 + 4] ^= 0xff // varint(8), stream identifier, chunk header, then the first CRC byte
      return b
    })()
    const cases: Array<[string, string, Uint8Array]> = [
      ['bad varint', PING, new Uint8Array(11).fill(0xff)],
      [
        'declared length above the type bound',
        PING,
        Buffer.concat([encodeVarint(1000), encodeSnappyFrames(new Uint8Array(1000))]),
      ],
      ['declared length above MAX_PAYLOAD_SIZE', STATUS_V2, encodeVarint(20_000_000)],
      ['bad CRC', PING, withFlippedCrc],
      ['truncated frame', STATUS_V2, encodeRequest(new Uint8Array(92)).subarray(0, 20)],
      ['trailing bytes', PING, Buffer.concat([pingFrames, Uint8Array.of(0)])],
      ['wrong SSZ size', STATUS_V2, encodeRequest(new Uint8Array(90))],
      ['undecodable SSZ (bad offset) in a Goodbye-sized shape', GOODBYE, encodeRequest(new Uint8Array(9))],
    ]

    it.each(cases)('%s', async (_name, protocol, payload) => {
      const n = await node()
      const bad = await peer({ transport })
      const good = await peer({ transport })
      const response = await rawExchange(bad, addrOf(n, transport), protocol, payload)
      if (response.length > 0) {
        const chunk = await firstChunk(response, { minSize: 0, maxSize: 256 })
        expect(chunk?.result).toBe(RespCode.InvalidRequest)
      }
      expect(n.scores.score(bad.peerId.toString())).toBeLessThan(0)
      expect(await ping(good, n, transport)).toBe(n.metadata.seqNumber)
      expect(n.scores.score(good.peerId.toString())).toBe(0)
    })

    it('closes the stream for an unknown protocol', async () => {
      const n = await node()
      const p = await peer({ transport })
      await expect(
        rawExchange(p, addrOf(n, transport), '/eth2/beacon_chain/req/nope/1/ssz_snappy', pingFrames),
      ).rejects.toThrow()
      expect(await ping(p, n, transport)).toBe(n.metadata.seqNumber)
    })

    it('disconnects a peer that keeps sending garbage (Goodbye 250 at the disconnect threshold)', async () => {
      const n = await node()
      const bad = await peer({ listen: true, transport })
      const seen = await serveBeaconProtocols(bad, () => goodStatus(n))
      // Each undecodable request costs a LowToleranceError; scores decay, so count until the threshold is crossed.
      let sent = 0
      while (n.scores.state(bad.peerId.toString()) === 'healthy') {
        await rawExchange(bad, addrOf(n, transport), PING, new Uint8Array(11).fill(0xff))
        sent++
      }
      expect(sent).toBe(
        Math.ceil(-SCORE_DEFAULTS.disconnectThreshold / -PEER_ACTION_SCORE[PeerAction.LowToleranceError]) + 1,
      )
      await expect.poll(() => seen.goodbyes, { timeout: 10_000 }).toEqual([250n])
      await expect.poll(() => bad.getConnections(n.libp2p.peerId).length, { timeout: 10_000 }).toBe(0)
    })
  },
)
