import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, StreamMuxerFactory } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { transportOf } from '../../src/network/transport.js'
import type { ContowerNode } from '../../src/node.js'
import { AGENT_VERSION } from '../../src/version.js'
import { startTestNode } from '../helpers/node.js'
import { createTestPeer } from '../helpers/peers.js'

const cleanup: Array<{ stop(): unknown }> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c.stop()))
})

async function scrape(node: ContowerNode): Promise<string> {
  return (await fetch(`http://127.0.0.1:${node.metricsAddress!.port}/metrics`)).text()
}

describe('libp2p host', () => {
  it('accepts an mplex-only peer (as Lodestar is), counts it, and identifies as contower', async () => {
    const node = await startTestNode()
    cleanup.push(node)
    const peer = (await createTestPeer({ muxers: 'mplex', listen: false })) as Libp2p
    cleanup.push(peer)
    await peer.start()

    const conn = await peer.dial(node.listenAddresses[0])
    expect(conn.multiplexer).toBe('/mplex/6.7.0')
    expect(conn.encryption).toBe('/noise')
    await expect
      .poll(() => peer.peerStore.get(node.libp2p.peerId).then((p) => p.metadata.get('AgentVersion')))
      .toBeDefined()
    const agent = (await peer.peerStore.get(node.libp2p.peerId)).metadata.get('AgentVersion')
    expect(new TextDecoder().decode(agent)).toBe(AGENT_VERSION)
    await expect.poll(() => scrape(node)).toMatch(/^libp2p_peers 1$/m)
    expect(node.health().peers).toBe(1)
  })

  it.skipIf(process.env.DEBUG !== undefined)('builds no debug logger per stream unless DEBUG is set', async () => {
    const node = await startTestNode()
    cleanup.push(node)
    const logs = node.libp2p.logger
    expect(logs.forComponent('libp2p:mplex:stream')).toBe(logs.forComponent('libp2p:multistream-select'))
  })

  it('prefers yamux with a peer that speaks both', async () => {
    const node = await startTestNode()
    cleanup.push(node)
    const peer = (await createTestPeer({ muxers: 'both', listen: false })) as Libp2p
    cleanup.push(peer)
    await peer.start()
    const conn = await peer.dial(node.listenAddresses[0])
    expect(conn.multiplexer).toBe('/yamux/1.0.0')
  })
})

describe.each(['tcp', 'quic'] as const)('limits over %s', (transport) => {
  const addrOf = (node: ContowerNode) => node.listenAddresses.find((a) => transportOf(a) === transport)!

  async function peers(count: number): Promise<Libp2p[]> {
    const made = await Promise.all(
      Array.from({ length: count }, () => createTestPeer({ muxers: 'mplex', listen: false, transport })),
    )
    for (const p of made) {
      cleanup.push(p as Libp2p)
      await p.start()
    }
    return made as Libp2p[]
  }

  it('refuses connections beyond --max-peers', async () => {
    const node = await startTestNode({ 'target-peers': '1', 'max-peers': '1' })
    cleanup.push(node)
    const [first, ...extras] = await peers(3)
    await first!.dial(addrOf(node))
    for (const extra of extras) await extra.dial(addrOf(node)).catch(() => {})
    await expect.poll(() => node.libp2p.getConnections().length).toBe(1)
    expect(node.libp2p.getConnections()[0].remotePeer.equals(first!.peerId)).toBe(true)
    expect(transportOf(node.libp2p.getConnections()[0].remoteAddr)).toBe(transport)
  })

  it('counts failed negotiations by reason: junk instead of a handshake, and a muxer nobody speaks, both ways', async () => {
    // A peer whose only muxer Contower does not speak: noise succeeds, multistream-select finds no muxer.
    const stranger = await createLibp2p({
      privateKey: await generateKeyPair('secp256k1'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [() => ({ protocol: '/unknown-muxer/1.0.0' }) as StreamMuxerFactory],
    })
    cleanup.push(stranger)
    await stranger.start()
    const node = await startTestNode({ 'static-peers': stranger.getMultiaddrs()[0].toString() })
    cleanup.push(node)
    const metric = (name: string) => () => node.registry!.getSingleMetricAsString(name)
    await expect.poll(metric('contower_dial_failures_total')).toMatch(/reason="muxer_negotiation_failed"\} [1-9]/)

    await expect(stranger.dial(node.listenAddresses[0])).rejects.toThrow()
    await expect.poll(metric('contower_inbound_upgrade_failures_total')).toMatch(/stage="muxer"\} 1/)

    const port = Number(node.listenAddresses[0].getComponents().find((c) => c.name === 'tcp')!.value)
    const socket = connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\n\r\n'))
    socket.on('error', () => {})
    await expect.poll(metric('contower_inbound_upgrade_failures_total')).toMatch(/stage="encryption"\} 1/)
  })
})
