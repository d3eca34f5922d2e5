import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import type { ContowerNode } from '../../src/node.js'
import { serveBeaconProtocols, type StatusFields } from '../helpers/beaconPeer.js'
import { startTestNode } from '../helpers/node.js'
import { createTestPeer } from '../helpers/peers.js'

const cleanup: Array<{ stop(): unknown }> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => c.stop()))
})

function status(n: ContowerNode): StatusFields {
  return {
    forkDigest: n.chainView.currentDigest(),
    finalizedRoot: new Uint8Array(32).fill(1),
    finalizedEpoch: 10,
    headRoot: new Uint8Array(32).fill(2),
    headSlot: n.clock.currentSlot,
    earliestAvailableSlot: 0,
  }
}

/** The same peer (key and address) coming back after it was stopped. */
async function restartAt(key: PrivateKey, addr: Multiaddr): Promise<Libp2p> {
  const peer = (await createTestPeer({
    muxers: 'mplex',
    privateKey: key,
    listenAddr: addr.decapsulateCode(421).toString(),
  })) as Libp2p
  cleanup.push(peer)
  await peer.start()
  return peer
}

describe('--static-peers', () => {
  it('dials a static peer at start, and redials it after it dies and comes back', async () => {
    const key = await generateKeyPair('secp256k1')
    const first = (await createTestPeer({ muxers: 'mplex', privateKey: key })) as Libp2p
    await first.start()
    const addr = first.getMultiaddrs()[0] // includes /p2p/<id>
    let statusFor: () => StatusFields = () => {
      throw new Error('not yet')
    }
    const seen1 = await serveBeaconProtocols(first, () => statusFor())

    const n = await startTestNode({ 'static-peers': addr.toString() })
    cleanup.push(n)
    statusFor = () => status(n)
    await expect.poll(() => seen1.statuses.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1)
    await expect.poll(() => n.peerStore.get(first.peerId)?.handshaken).toBe(true)

    await first.stop()
    await expect.poll(() => n.peerStore.get(first.peerId) === undefined).toBe(true)

    const again = await restartAt(key, addr)
    const seen2 = await serveBeaconProtocols(again, () => status(n))
    await expect.poll(() => seen2.statuses.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    await expect.poll(() => n.peerStore.get(again.peerId)?.handshaken).toBe(true)
  })

  it('keeps redialling a static peer that is down at start', async () => {
    const key = await generateKeyPair('secp256k1')
    const probe = (await createTestPeer({ muxers: 'mplex', privateKey: key })) as Libp2p
    await probe.start()
    const addr = probe.getMultiaddrs()[0]
    await probe.stop() // its port is free again; nobody listens there yet

    const n = await startTestNode({ 'static-peers': addr.toString() })
    cleanup.push(n)
    await new Promise((r) => setTimeout(r, 1_500)) // at least one failed dial and one retry
    const late = await restartAt(key, addr)
    const seen = await serveBeaconProtocols(late, () => status(n))
    await expect.poll(() => seen.statuses.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
  })
})
