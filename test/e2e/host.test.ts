import type { Libp2p } from '@libp2p/interface'
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
})
