// Issue 12's matrix: Contower against peers it did not build (plain createLibp2p, noise with its own early muxer
// negotiation), each offering one of the muxer lists beacon clients use, in both directions. All 8 cells share one
// Contower node and run at once; stability is counted (Ping and Status rounds with no connection closed), not slept.
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GossipSubRouter } from '../../src/gossip/gossipService.js'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { formatTopic } from '../../src/gossip/topics.js'
import type { ContowerNode } from '../../src/node.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { rangeRequest, startPeer, startRelay, testChain } from '../helpers/devnet.js'
import { MUXER_LISTS, MUXER_PROTOCOL, type MuxerName, type Stranger, startStranger } from '../helpers/stranger.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const PING = getProtocol('ping', 1)
/** Contower's own order: it decides the muxer of the connections it dials. */
const CONTOWER_MUXERS: readonly MuxerName[] = ['yamux', 'mplex']
/** Pings Contower must have sent over each connection, with nothing closed, for a cell to count as stable. */
const STABLE_PINGS = 6
/** Optional soak: MUXER_MATRIX_SOAK_MS=60000 keeps every cell connected (and counted) this much longer. */
const SOAK_MS = Number(process.env.MUXER_MATRIX_SOAK_MS ?? 0)
const WAIT = { timeout: 20_000 + SOAK_MS, interval: 50 }
/** Generous: 8 cells share a loaded 2-core machine; every wait inside is on events or counts. */
const CELL_TIMEOUT_MS = 90_000 + 2 * SOAK_MS

type Direction = 'contower dials' | 'peer dials'
interface Cell {
  direction: Direction
  stranger: Stranger
  /** When the stranger's first connection to Contower opened, and when it saw Contower's block subscription. */
  openedAtMs: number | null
  /** Each peer's subscription to the block topic as it reached the stranger (by peer id): when, and after how many Pings. */
  subscribedAt: Map<string, { ms: number; pings: number }>
}

const { network, chain } = testChain(100, 2_000)
const cells: Cell[] = []
let node: ContowerNode
let publisher: SimulatedPeer
let blockTopic: string
/** Connections Contower saw close, by remote peer. */
const closedAtContower = new Map<string, number>()

/** The muxer multistream-select settles on: the dialer's first choice that the listener speaks. */
function expectedMuxer(cell: Cell): string {
  const [dialer, listener] =
    cell.direction === 'contower dials'
      ? [CONTOWER_MUXERS, cell.stranger.muxers]
      : [cell.stranger.muxers, CONTOWER_MUXERS]
  return MUXER_PROTOCOL[dialer.find((m) => listener.includes(m))!]
}

/** Times the stranger's first connection opened and each peer's block-topic subscription reached it. */
function watch(cell: Cell): void {
  const { subscribedAt } = cell
  const { host } = cell.stranger
  host.addEventListener('connection:open', () => (cell.openedAtMs ??= Date.now()))
  host.services.gossipsub.addEventListener('subscription-change', (e) => {
    const peer = e.detail.peerId.toString()
    if (e.detail.subscriptions.some((s) => s.subscribe && s.topic === blockTopic) && !subscribedAt.has(peer)) {
      subscribedAt.set(peer, { ms: Date.now(), pings: cell.stranger.received.get('ping') ?? 0 })
    }
  })
  host.services.gossipsub.subscribe(blockTopic)
}

beforeAll(async () => {
  const strangers = await Promise.all(
    [...MUXER_LISTS, ...MUXER_LISTS].map((muxers) => startStranger({ network, chain }, muxers)),
  )
  const dialled = strangers.slice(0, MUXER_LISTS.length)
  const dialling = strangers.slice(MUXER_LISTS.length)
  for (const s of dialled)
    cells.push({ direction: 'contower dials', stranger: s, openedAtMs: null, subscribedAt: new Map() })
  for (const s of dialling)
    cells.push({ direction: 'peer dials', stranger: s, openedAtMs: null, subscribedAt: new Map() })
  // Contower's blocks topic is the chain's at the wall clock: known before the node starts.
  const probe = await startPeer(network, chain, { serveBlocks: false })
  publisher = probe
  blockTopic = formatTopic(probe.forkSchedule.digestHexAtEpoch(probe.clock.currentEpoch), {
    kind: 'beacon_block',
    subnet: null,
  })
  for (const cell of cells) watch(cell)
  const contowerStarting = startRelay(
    network,
    [],
    { 'static-peers': dialled.map((s) => s.host.getMultiaddrs()[0].toString()).join(',') },
    {
      // Pings and Statuses every few hundred ms: each is a stream opened on the cell's connection. A peer's default
      // mplex closes a connection that opens more than 5 streams a second, so stay below that.
      handshake: {
        inboundStatusWaitMs: 300,
        statusIntervalMs: 2_000,
        pingIntervalInboundMs: 400,
        pingIntervalOutboundMs: 400,
        heartbeatMs: 50,
      },
      gossipsub: { ipColocationWhitelist: ['127.0.0.1'] },
    },
  )
  node = await contowerStarting
  node.libp2p.addEventListener('connection:close', (e) => {
    const peer = e.detail.remotePeer.toString()
    closedAtContower.set(peer, (closedAtContower.get(peer) ?? 0) + 1)
  })
  // A dial whose handshake times out on an overloaded machine never became a connection: try it again.
  await Promise.all(dialling.map((s) => dialWithRetries(s, node.listenAddresses[0])))
}, 30_000)

afterAll(async () => {
  await Promise.all([node?.stop(), publisher?.stop(), ...cells.map((c) => c.stranger.stop())])
})

async function dialWithRetries(s: Stranger, addr: Multiaddr, attempts = 3): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await s.host.dial(addr)
      return
    } catch (e) {
      if (attempt >= attempts) throw e
    }
  }
}

const label = (cell: Cell) => `${cell.direction}, peer offers ${cell.stranger.label}`
/** The cells as beforeAll creates them: first the peers Contower dials, then the peers that dial it. */
const CELLS = (['contower dials', 'peer dials'] as const)
  .flatMap((direction) => MUXER_LISTS.map((muxers) => ({ name: `${direction}, peer offers [${muxers.join(', ')}]` })))
  .map((c, i) => ({ ...c, i }))

async function isOnlyConnection(a: { getConnections(p: PeerId): unknown[] }, b: PeerId): Promise<boolean> {
  return a.getConnections(b).length === 1
}

describe('muxer matrix: Contower and independent peers agree on the muxer, stay connected, relay and gossip', () => {
  it.concurrent.for(CELLS)('$name', { timeout: CELL_TIMEOUT_MS }, async ({ i }, { expect }) => {
    const cell = cells[i]
    const s = cell.stranger
    const contower = node.libp2p.peerId
    const what = label(cell)

    // Handshaken both ways, then STABLE_PINGS rounds of Ping with no connection closed at either end.
    await expect.poll(() => node.peerStore.get(s.peerId)?.handshaken, { ...WAIT, message: what }).toBe(true)
    await expect
      .poll(() => s.received.get('ping') ?? 0, { ...WAIT, message: what })
      .toBeGreaterThanOrEqual(STABLE_PINGS + Math.floor(SOAK_MS / 400))
    expect(s.received.get('status') ?? 0, what).toBeGreaterThanOrEqual(cell.direction === 'peer dials' ? 1 : 2)
    expect(s.closes, what).toBe(0)
    expect(closedAtContower.get(s.peerId.toString()) ?? 0, what).toBe(0)
    expect(await isOnlyConnection(node.libp2p, s.peerId), what).toBe(true)
    expect(await isOnlyConnection(s.host, contower), what).toBe(true)
    const [ours] = node.libp2p.getConnections(s.peerId)
    const [theirs] = s.host.getConnections(contower)
    expect(ours.direction, what).toBe(cell.direction === 'contower dials' ? 'outbound' : 'inbound')
    expect([ours.multiplexer, theirs.multiplexer], what).toEqual([expectedMuxer(cell), expectedMuxer(cell)])

    // Contower's subscriptions reach the peer within 2 s of the connection opening.
    // Counted in Contower's own Pings (one on connect, then every 400 ms) rather than in wall-clock time, which a
    // loaded machine stretches for every event alike: at most 5 Pings is 2 s of Contower's schedule.
    const subscribed = cell.subscribedAt.get(contower.toString())
    expect(subscribed, what).toBeDefined()
    expect(
      subscribed!.pings,
      `${what}: ${subscribed!.ms - cell.openedAtMs!} ms after the connection opened`,
    ).toBeLessThanOrEqual(5)

    // A burst: 30 streams opened back to back (two at a time, as the spec allows) on this one connection.
    for (let k = 0; k < 15; k++) {
      const pings = await Promise.all([0, 1].map(() => s.fetch(contower, PING, PING.request!.serialize(1n), 1)))
      expect(
        pings.map((p) => p.length),
        what,
      ).toEqual([1, 1])
    }

    // One BlocksByRange relayed: asked over this connection, served by another stranger, checked against the chain.
    const blocks = await s.fetch(contower, BY_RANGE, rangeRequest(10 + i, 4), 4)
    expect(
      blocks.map((b) => Buffer.from(b.ssz!)),
      what,
    ).toEqual([10, 11, 12, 13].map((slot) => Buffer.from(chain.blockAt(slot + i)!.ssz)))

    expect(s.closes + (closedAtContower.get(s.peerId.toString()) ?? 0), what).toBe(0)
    expect(node.libp2p.getConnections(s.peerId), what).toHaveLength(1)
  })

  it('counts connections by muxer and direction', async () => {
    const want = new Map<string, number>()
    for (const cell of cells) {
      const key = `transport="tcp",muxer="${expectedMuxer(cell).split('/')[1]}",direction="${cell.direction === 'contower dials' ? 'outbound' : 'inbound'}"`
      want.set(key, (want.get(key) ?? 0) + 1)
    }
    const text = await node.registry!.getSingleMetricAsString('contower_connections')
    for (const [labels, n] of want) expect(text).toContain(`contower_connections{${labels}} ${n}`)
    expect([...want.values()].reduce((a, b) => a + b)).toBe(cells.length)
  })

  it(
    'forwards every accepted block to every peer, whatever its muxers and direction',
    async () => {
      const strangers = cells.map((c) => c.stranger)
      const gs = node.libp2p.services.gossipsub as GossipSubRouter
      const mesh = () => new Set(gs.getMeshPeers(blockTopic))
      await expect.poll(() => strangers.every((s) => mesh().has(s.peerId.toString())), WAIT).toBe(true)

      const received = strangers.map(() => new Set<string>())
      strangers.forEach((s, i) =>
        s.host.services.gossipsub.addEventListener('gossipsub:message', (e) => {
          if (e.detail.msg.topic === blockTopic) received[i].add(Buffer.from(e.detail.msg.data).toString('hex'))
        }),
      )
      const accepted: string[] = []
      node.gossip.onAccepted((kind, ssz) => {
        if (kind === 'beacon_block') accepted.push(Buffer.from(ssz).toString('hex'))
      })
      await publisher.libp2p.dial(node.listenAddresses[0])
      await expect.poll(() => publisher.gossip.topics().length > 0 && gsHasSubscriber(), WAIT).toBe(true)
      const first = publisher.clock.currentSlot
      expect(await publisher.publishBlock(first)).toBe(true)
      await expect.poll(() => publisher.clock.currentSlot, WAIT).toBeGreaterThan(first)
      expect(await publisher.publishBlock(publisher.clock.currentSlot)).toBe(true)

      await expect.poll(() => accepted.length, WAIT).toBe(2)
      for (const [i, cell] of cells.entries()) {
        await expect.poll(() => received[i].size, { ...WAIT, message: label(cell) }).toBe(2)
      }
    },
    CELL_TIMEOUT_MS,
  )
})

function gsHasSubscriber(): boolean {
  const router = publisher.libp2p.services.gossipsub!
  return router.getSubscribers(blockTopic).some((p) => p.equals(node.libp2p.peerId))
}
