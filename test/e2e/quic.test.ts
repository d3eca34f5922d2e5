// QUIC end to end on 127.0.0.1 (and ::1 for IPv6): Contower listens on TCP and QUIC at once; peers reach it on either,
// it relays across them, gossips across them and dials a discovered peer's `quic` ENR entry first. Strangers are plain
// createLibp2p hosts with QUIC alone (the package's defaults, no noise, no muxer of ours).
import { createServer, type AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import type { Multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { SIMULATED_PEER_DEFAULTS, SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { forkFields, peerIdOfEnr } from '../../src/discovery/enr.js'
import { transportOf } from '../../src/network/transport.js'
import type { ContowerNode } from '../../src/node.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { formatStatus } from '../../src/status/statusLine.js'
import { SERVER_DEFAULTS } from '../../src/reqresp/server.js'
import { encodeRequest, type WireBytes } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { firstChunk, PING, rawExchange, relevantStatus, serveBeaconProtocols } from '../helpers/beaconPeer.js'
import {
  logger,
  metricValue,
  rangeRequest,
  startPeer,
  startRelay,
  stopAfterEach,
  testChain,
  waitHandshaken,
} from '../helpers/devnet.js'
import { LONE_BOOTNODE_DISCOVERY, makeEnr, startLocalBootnode } from '../helpers/enr.js'
import { startTestNode } from '../helpers/node.js'
import { createTestPeer } from '../helpers/peers.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const WAIT = { timeout: 40_000, interval: 100 } // discv5 rounds on a loaded 2-core machine

const track = stopAfterEach()
const concat = (parts: WireBytes[]) => Buffer.concat(parts.map((p) => p.subarray()))
const addrOn = (addrs: Multiaddr[], transport: 'tcp' | 'quic') => addrs.find((a) => transportOf(a) === transport)!
const portOf = (addr: Multiaddr, proto: 'tcp' | 'udp') =>
  Number(addr.getComponents().find((c) => c.name === proto)!.value)
/** The transports of `host`'s open connections to `peer`. */
const transportsTo = (host: Libp2p, peer: PeerId) =>
  host
    .getConnections(peer)
    .filter((c) => c.status === 'open')
    .map((c) => transportOf(c.remoteAddr))

async function quicStranger(listen: boolean, privateKey?: PrivateKey): Promise<Libp2p> {
  const peer = (await track(createTestPeer({ transport: 'quic', listen, privateKey }))) as Libp2p
  await peer.start()
  return peer
}

describe('QUIC beside TCP', () => {
  it('dials a QUIC-only stranger, completes the Status handshake with it and answers its Ping over QUIC', async () => {
    const stranger = await quicStranger(true)
    let node: ContowerNode | null = null
    const seen = await serveBeaconProtocols(stranger, () => relevantStatus(node!))
    node = await track(startTestNode({ 'static-peers': stranger.getMultiaddrs()[0]!.toString() }))
    expect(node.listenAddresses.map(transportOf).sort()).toEqual(['quic', 'tcp'])

    await expect.poll(() => node.peerStore.get(stranger.peerId)?.handshaken, WAIT).toBe(true)
    expect(seen.statuses.length).toBeGreaterThanOrEqual(1)
    expect(transportsTo(node.libp2p, stranger.peerId)).toEqual(['quic'])
    const [conn] = node.libp2p.getConnections(stranger.peerId)
    expect(conn!.encryption).toBe('native') // TLS 1.3 inside QUIC: no noise
    expect(conn!.multiplexer).toBe('quic')

    const pong = await rawExchange(stranger, node.libp2p.peerId, PING, encodeRequest(ssz.phase0.Ping.serialize(1n)))
    const chunk = await firstChunk(pong, ssz.phase0.Ping)
    expect(chunk?.result).toBe(RespCode.Success)
    expect(ssz.phase0.Ping.deserialize(chunk!.ssz!)).toBe(node.metadata.seqNumber)
    expect(await metricValue(node, 'contower_connections', { transport: 'quic', direction: 'outbound' })).toBe(1)
    expect(await metricValue(node, 'contower_peers_by_transport', { transport: 'quic' })).toBe(1)
    expect(await metricValue(node, 'contower_reqresp_inbound_requests_total', { transport: 'quic' })).toBe(
      await metricValue(node, 'contower_reqresp_inbound_requests_total'),
    )
  })

  it('holds a QUIC peer to maxInboundStreamsPerProtocol open streams of one protocol on its connection', async () => {
    const node = await track(startTestNode())
    const peer = await quicStranger(false)
    await serveBeaconProtocols(peer, () => relevantStatus(node))
    await peer.dial(addrOn(node.listenAddresses, 'quic'))
    // Twelve Ping streams that send the first byte of their request and no more: each holds a slot until the
    // request timeout. (@chainsafe/libp2p-quic 2.1.1 delivers a reset as a clean end: the sender cannot tell which
    // were refused, so Contower's side is what is counted.)
    await Promise.allSettled(
      Array.from({ length: 12 }, async () => {
        const stream = await peer.dialProtocol(node.libp2p.peerId, PING, { negotiateFully: true })
        stream.send(Uint8Array.of(8))
      }),
    )
    const open = () =>
      node.libp2p
        .getConnections(peer.peerId)
        .flatMap((c) => c.streams)
        .filter((s) => s.protocol === PING && s.direction === 'inbound' && s.status === 'open').length
    await expect.poll(open, { timeout: 4_000 }).toBe(SERVER_DEFAULTS.maxInboundStreamsPerProtocol)
    expect(node.libp2p.getConnections(peer.peerId)).toHaveLength(1)
  })

  it('relays BlocksByRange from a requester on QUIC to an upstream on TCP, byte for byte', async () => {
    const { network, chain } = testChain()
    const upstream = await track(startPeer(network, chain))
    const node = await track(startRelay(network, [upstream]))
    await waitHandshaken(node, [upstream])
    const requester = await track(startPeer(network, chain, { serveBlocks: false, quic: true }))
    await requester.libp2p.dial(addrOn(node.listenAddresses, 'quic'))
    await requester.libp2p.dial(upstream.multiaddr)

    const direct = await requester.fetch(upstream.peerId, BY_RANGE, rangeRequest(10, 20), 20)
    const relayed = await requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(10, 20), 20)
    expect(relayed).toHaveLength(20)
    expect(concat(relayed.map((c) => c.raw))).toEqual(concat(direct.map((c) => c.raw)))
    expect(transportsTo(requester.libp2p, node.libp2p.peerId)).toEqual(['quic'])
    expect(transportsTo(node.libp2p, upstream.peerId)).toEqual(['tcp'])
    // the direct fetch and the relayed one (which also asked the block that proves the range's last one)
    expect(upstream.servedCount('beacon_blocks_by_range').requests).toBe(2)
    const served = { protocol: 'beacon_blocks_by_range/2', result: 'success' }
    expect(await metricValue(node, 'contower_reqresp_inbound_requests_total', { ...served, transport: 'quic' })).toBe(1)
    expect(await metricValue(node, 'contower_reqresp_response_bytes_total', { transport: 'quic' })).toBe(
      concat(relayed.map((c) => c.raw)).length,
    )
  })

  it('relays BlocksByRange from a requester on TCP to an upstream on QUIC, byte for byte', async () => {
    const { network, chain } = testChain()
    const upstream = await track(startPeer(network, chain, { quic: true }))
    const node = await track(startRelay(network, [], { 'static-peers': upstream.quicMultiaddr!.toString() }))
    await waitHandshaken(node, [upstream])
    expect(transportsTo(node.libp2p, upstream.peerId)).toEqual(['quic'])
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(addrOn(node.listenAddresses, 'tcp'))
    await requester.libp2p.dial(upstream.multiaddr)

    const direct = await requester.fetch(upstream.peerId, BY_RANGE, rangeRequest(30, 16), 16)
    const relayed = await requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(30, 16), 16)
    expect(relayed).toHaveLength(16)
    expect(concat(relayed.map((c) => c.raw))).toEqual(concat(direct.map((c) => c.raw)))
    expect(transportsTo(requester.libp2p, node.libp2p.peerId)).toEqual(['tcp'])
    expect(transportsTo(node.libp2p, upstream.peerId)).toEqual(['quic'])
    // the direct fetch and the relayed one (which also asked the block that proves the range's last one)
    expect(upstream.servedCount('beacon_blocks_by_range').requests).toBe(2)
    const served = { protocol: 'beacon_blocks_by_range/2', result: 'success' }
    expect(await metricValue(node, 'contower_reqresp_inbound_requests_total', { ...served, transport: 'tcp' })).toBe(1)
  })

  it('relays a gossiped block from a publisher on QUIC to a subscriber on TCP', async () => {
    const { network, chain } = testChain(40, 2_000)
    const publisher = await track(startPeer(network, chain, { quic: true }))
    const node = await track(startRelay(network, [], { 'static-peers': publisher.quicMultiaddr!.toString() }))
    const subscriber = await track(startPeer(network, chain))
    await subscriber.libp2p.dial(addrOn(node.listenAddresses, 'tcp'))
    await waitHandshaken(node, [publisher])
    const received: number[] = []
    subscriber.gossip.onAccepted((kind, block) => {
      if (kind === 'beacon_block') received.push(ssz.fulu.SignedBeaconBlock.deserialize(block).message.slot)
    })
    // Publish the current slot's block until the mesh through Contower has formed and one arrives.
    await expect
      .poll(async () => {
        await publisher.publishBlock(publisher.clock.currentSlot)
        return received.length
      }, WAIT)
      .toBeGreaterThan(0)
    // The two peers only know Contower: the block crossed from its QUIC connection to its TCP one.
    expect(subscriber.libp2p.getConnections(publisher.peerId)).toHaveLength(0)
    expect(transportsTo(node.libp2p, publisher.peerId)).toEqual(['quic'])
    expect(transportsTo(node.libp2p, subscriber.peerId)).toEqual(['tcp'])
    expect(chain.blockAt(received[0]!)).toBeDefined()
  })

  it('dials discovered peers by their `quic` ENR entry first, falls back to TCP, counts each peer once and redials TCP first', async () => {
    const { network, chain } = testChain(40, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const epoch = Clock.fromChainConfig(network.config, network.genesisTime).currentEpoch
    const bootnode = await startLocalBootnode()
    track(Promise.resolve(bootnode))

    // Both transports, both in its ENR: reached over QUIC.
    const both = await track(startPeer(network, chain, { quic: true }))
    bootnode.addEnr(both.enr())
    // A QUIC-only stranger, with only `quic` in its ENR.
    let node: ContowerNode | null = null
    const strangerKey = await generateKeyPair('secp256k1')
    const stranger = await quicStranger(true, strangerKey)
    await serveBeaconProtocols(stranger, () => relevantStatus(node!))
    const strangerEnr = await makeEnr(
      { ip: '127.0.0.1', quic: portOf(stranger.getMultiaddrs()[0]!, 'udp'), ...forkFields(schedule, epoch) },
      {},
      strangerKey,
    )
    bootnode.addEnr(strangerEnr.text)
    // An ENR whose `quic` port has no QUIC behind it: the TCP fallback reaches it.
    const tcpOnlyKey = await generateKeyPair('secp256k1')
    const tcpOnly = new SimulatedPeer(
      { network, chain, logger },
      { ...SIMULATED_PEER_DEFAULTS, privateKey: tcpOnlyKey },
    )
    await track(tcpOnly.start().then(() => tcpOnly))
    const deadQuic = await makeEnr(
      { ip: '127.0.0.1', tcp: portOf(tcpOnly.multiaddr, 'tcp'), quic: 9, ...forkFields(schedule, epoch) },
      {},
      tcpOnlyKey,
    )
    bootnode.addEnr(deadQuic.text)

    node = await track(
      // The default dial timeouts: 2 s for the dead QUIC port, 5 s for TCP even on a loaded machine.
      startTestNode({ discovery: 'true', 'discovery-port': '0', bootnodes: bootnode.enr.encodeTxt() }, network, {
        discovery: LONE_BOOTNODE_DISCOVERY,
      }),
    )
    const n = node
    for (const [name, peer] of Object.entries({
      both: both.peerId,
      stranger: stranger.peerId,
      tcpOnly: tcpOnly.peerId,
    })) {
      await expect.poll(() => n.peerStore.get(peer)?.handshaken, { ...WAIT, message: `${name} handshaken` }).toBe(true)
    }
    expect(transportsTo(n.libp2p, both.peerId)).toEqual(['quic'])
    expect(transportsTo(n.libp2p, stranger.peerId)).toEqual(['quic'])
    expect(transportsTo(n.libp2p, tcpOnly.peerId)).toEqual(['tcp'])
    const dials = (labels: Record<string, string>) => metricValue(n, 'contower_peer_dials_total', labels)
    expect(await dials({ transport: 'quic', outcome: 'success' })).toBe(2)
    expect(await dials({ transport: 'tcp', outcome: 'success' })).toBe(1)
    // tcpOnly's dead QUIC port was tried first; more when a loaded machine timed a dial out and it was retried.
    expect(await dials({ transport: 'quic' })).toBeGreaterThanOrEqual(3)

    // A second connection of a known peer over the other transport: one peer still, counted as tcp+quic.
    await both.libp2p.dial(addrOn(n.listenAddresses, 'tcp'), { force: true })
    await expect.poll(() => transportsTo(n.libp2p, both.peerId).sort(), WAIT).toEqual(['quic', 'tcp'])
    expect(await metricValue(n, 'contower_peers_by_transport', { transport: 'tcp+quic' })).toBe(1)
    expect(await metricValue(n, 'contower_peers_by_transport')).toBe(3)
    expect(n.libp2p.getPeers()).toHaveLength(3)
    const snapshot = await n.status.snapshot()
    expect(snapshot.peersByTransport).toEqual({ tcp: 1, quic: 1, 'tcp+quic': 1 })
    expect(formatStatus(snapshot)).toContain('| tcp 1 quic 1 both 1 |')

    // tcpOnly hangs up. Discovery offers it again and Contower redials it over TCP first: its dead QUIC port is
    // remembered, so no QUIC dial (and no 2 s timeout) comes before the TCP one.
    const quicDials = await dials({ transport: 'quic' })
    await tcpOnly.libp2p.hangUp(n.libp2p.peerId)
    await expect
      .poll(() => dials({ transport: 'tcp', outcome: 'success' }), { ...WAIT, message: 'tcpOnly redialled' })
      .toBe(2)
    await expect.poll(() => n.peerStore.get(tcpOnly.peerId)?.handshaken, WAIT).toBe(true)
    expect(await dials({ transport: 'quic' })).toBe(quicDials)
  }, 120_000)

  it('on ::1: listens on /ip6/, runs discv5 there, advertises quic6 and dials a peer’s quic6 first, tcp6 as fallback', async () => {
    const { network, chain } = testChain(40, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const epoch = Clock.fromChainConfig(network.config, network.genesisTime).currentEpoch
    const bootnode = await startLocalBootnode('::1')
    track(Promise.resolve(bootnode))

    // A QUIC-only stranger on ::1 with only `ip6`/`quic6` in its ENR.
    let node: ContowerNode | null = null
    const strangerKey = await generateKeyPair('secp256k1')
    const stranger = (await track(
      createTestPeer({ transport: 'quic', privateKey: strangerKey, listenAddr: '/ip6/::1/udp/0/quic-v1' }),
    )) as Libp2p
    await stranger.start()
    await serveBeaconProtocols(stranger, () => relevantStatus(node!))
    const strangerEnr = await makeEnr(
      { ip6: '::1', quic6: portOf(stranger.getMultiaddrs()[0]!, 'udp'), ...forkFields(schedule, epoch) },
      {},
      strangerKey,
    )
    bootnode.addEnr(strangerEnr.text)
    // A TCP-only simulated peer on ::1 whose `quic6` port has no QUIC behind it: the tcp6 fallback reaches it.
    const tcpOnlyKey = await generateKeyPair('secp256k1')
    const tcpOnly = new SimulatedPeer(
      { network, chain, logger },
      { ...SIMULATED_PEER_DEFAULTS, listenAddress: '::1', privateKey: tcpOnlyKey },
    )
    await track(tcpOnly.start().then(() => tcpOnly))
    const deadQuic = await makeEnr(
      { ip6: '::1', tcp6: portOf(tcpOnly.multiaddr, 'tcp'), quic6: 9, ...forkFields(schedule, epoch) },
      {},
      tcpOnlyKey,
    )
    bootnode.addEnr(deadQuic.text)

    node = await track(
      startTestNode(
        { 'listen-address': '::1', discovery: 'true', 'discovery-port': '0', bootnodes: bootnode.enr.encodeTxt() },
        network,
        {
          discovery: LONE_BOOTNODE_DISCOVERY,
          peerManager: { dialTimeoutMs: 2_000 },
        },
      ),
    )
    const n = node
    expect(n.listenAddresses.map((a) => a.toString().split('/').slice(0, 4).join('/')).sort()).toEqual([
      '/ip6/::1/tcp',
      '/ip6/::1/udp',
    ])
    for (const [name, peer] of Object.entries({ stranger: stranger.peerId, tcpOnly: tcpOnly.peerId })) {
      await expect.poll(() => n.peerStore.get(peer)?.handshaken, { ...WAIT, message: `${name} handshaken` }).toBe(true)
    }
    expect(transportsTo(n.libp2p, stranger.peerId)).toEqual(['quic'])
    expect(transportsTo(n.libp2p, tcpOnly.peerId)).toEqual(['tcp'])
    expect(n.libp2p.getConnections(tcpOnly.peerId)[0]!.remoteAddr.toString()).toMatch(/^\/ip6\/::1\/tcp\//)
    const dials = (labels: Record<string, string>) => metricValue(n, 'contower_peer_dials_total', labels)
    expect(await dials({ transport: 'quic', outcome: 'success' })).toBe(1)
    expect(await dials({ transport: 'tcp', outcome: 'success' })).toBe(1)
    // Our record as the bootnode learnt it over discv5 on ::1: the IPv6 keys, QUIC on the port it listens on.
    const ours = () => bootnode.tableEnrs().find((e) => peerIdOfEnr(e).equals(n.libp2p.peerId))
    await expect.poll(() => ours()?.ip6, WAIT).toBe('::1')
    expect(ours()).toMatchObject({
      tcp6: portOf(addrOn(n.listenAddresses, 'tcp'), 'tcp'),
      quic6: portOf(addrOn(n.listenAddresses, 'quic'), 'udp'),
    })
    expect(ours()!.ip).toBeUndefined()
  }, 90_000)

  it('on ::1: a TCP port in use is named with the address in brackets', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '::1', r))
    const taken = (server.address() as AddressInfo).port
    try {
      await expect(startTestNode({ 'listen-address': '::1', port: String(taken), 'quic-port': '0' })).rejects.toThrow(
        `cannot listen on [::1]:${taken} (TCP) or 0 (QUIC, UDP): address already in use`,
      )
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})
