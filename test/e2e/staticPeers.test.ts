import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import type { ContowerNode } from '../../src/node.js'
import { serveBeaconProtocols, type StatusFields } from '../helpers/beaconPeer.js'
import { metricValue } from '../helpers/devnet.js'
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

describe('a static peer whose connections drop soon after opening', () => {
  it('is redialled with growing delays: each drop counts as a failed dial (1 s, 2 s, 4 s), not a fresh start', async () => {
    // An independent host (both muxers) that hangs up 50 ms into every connection, as a flapping link would.
    const flapper = (await createTestPeer({ muxers: 'both' })) as Libp2p
    cleanup.push(flapper)
    await flapper.start()
    const opened: number[] = []
    flapper.addEventListener('connection:open', (e) => {
      opened.push(Date.now())
      setTimeout(() => void e.detail.close().catch(() => {}), 50)
    })

    const n = await startTestNode({ 'static-peers': flapper.getMultiaddrs()[0].toString() })
    cleanup.push(n)
    await expect.poll(() => opened.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(4)
    const gaps = opened.slice(1, 4).map((t, i) => t - opened[i])
    // A timer never fires early, so each gap is at least its backoff step; a reset after each dial would give ~1 s.
    expect(gaps[0]).toBeGreaterThanOrEqual(1_000)
    expect(gaps[1]).toBeGreaterThanOrEqual(2_000)
    expect(gaps[2]).toBeGreaterThanOrEqual(4_000)
    // Every drop counted as short-lived; how the close looks (clean close or reset) depends on timing.
    const closes = () =>
      metricValue(n, 'contower_connection_closes_total', { direction: 'outbound', short_lived: 'true' })
    await expect.poll(closes).toBeGreaterThanOrEqual(3)
    const lifetimes = () =>
      n
        .registry!.getSingleMetricAsString('contower_connection_lifetime_seconds')
        .then((t) => t.match(/le="10",muxer="yamux",direction="outbound"\} (\d+)/)?.[1])
    await expect.poll(async () => Number(await lifetimes())).toBeGreaterThanOrEqual(3)
  })
})
