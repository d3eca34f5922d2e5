// Contower as a whole, started with nothing but a local bootnode's ENR: it finds a beacon peer through discv5,
// dials it and completes the Status handshake; a peer advertising another fork digest is never dialled; a peer that
// was down when first dialled is reached within seconds once it is up.
import { createSocket } from 'node:dgram'
import { createServer, type AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { forkFields } from '../../src/discovery/enr.js'
import { SIMULATED_PEER_DEFAULTS, SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import type { ContowerNode } from '../../src/node.js'
import { relevantStatus, serveBeaconProtocols } from '../helpers/beaconPeer.js'
import { logger, metricValue, testChain } from '../helpers/devnet.js'
import { LONE_BOOTNODE_DISCOVERY, makeEnr, startLocalBootnode } from '../helpers/enr.js'
import { startTestNode } from '../helpers/node.js'
import { createTestPeer } from '../helpers/peers.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A TCP port on 127.0.0.1 that nothing listens on (yet). */
async function freeTcpPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const tcpPortOf = (p: SimulatedPeer) => Number(p.multiaddr.toString().split('/tcp/')[1]!.split('/')[0])

describe('contower start with discovery', () => {
  it('finds, dials and handshakes a peer found through a local bootnode; never dials one on another fork', async () => {
    const { network, chain } = testChain(40, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const epoch = Clock.fromChainConfig(network.config, network.genesisTime).currentEpoch

    const bootnode = await startLocalBootnode()
    cleanup.push(() => bootnode.stop())
    const start = async () => {
      const key = await generateKeyPair('secp256k1')
      const peer = new SimulatedPeer({ network, chain, logger }, { ...SIMULATED_PEER_DEFAULTS, privateKey: key })
      await peer.start()
      cleanup.push(() => peer.stop())
      return { peer, key }
    }
    const good = await start()
    const wrong = await start()
    const goodEnr = await makeEnr(
      { ip: '127.0.0.1', tcp: tcpPortOf(good.peer), ...forkFields(schedule, epoch) },
      {},
      good.key,
    )
    // A serving peer all the same, but its ENR names another network's fork digest.
    const wrongFields = forkFields(schedule, epoch)
    wrongFields.eth2 = Uint8Array.from(wrongFields.eth2)
    wrongFields.eth2.set([0xde, 0xad, 0xbe, 0xef], 0)
    const wrongEnr = await makeEnr({ ip: '127.0.0.1', tcp: tcpPortOf(wrong.peer), ...wrongFields }, {}, wrong.key)
    bootnode.addEnr(goodEnr.text)
    bootnode.addEnr(wrongEnr.text)

    const node = await startTestNode(
      { discovery: 'true', 'discovery-port': '0', bootnodes: bootnode.enr.encodeTxt() },
      network,
      { discovery: LONE_BOOTNODE_DISCOVERY },
    )
    cleanup.push(() => node.stop())

    await expect.poll(() => node.peerStore.get(good.peer.peerId)?.handshaken, { timeout: 20_000 }).toBe(true)
    expect(node.peerStore.get(good.peer.peerId)?.direction).toBe('outbound')
    const ready = node.readiness()
    expect(ready.checks).toEqual({ chainStatusKnown: true, handshakenPeer: true, discoveryRunning: true })
    // The wrong-fork peer was discovered (the bootnode knows it) but filtered out: no connection ever.
    // (A lookup may return it later than the good one: wait until it has been seen.)
    const wrongForks = async () => {
      const outcomes = await node.registry!.getSingleMetric('contower_discovery_enrs_total')!.get()
      return outcomes.values.find((v) => v.labels.outcome === 'wrong_fork')?.value ?? 0
    }
    await expect.poll(wrongForks, { timeout: 20_000 }).toBeGreaterThanOrEqual(1)
    expect(wrong.peer.libp2p.getConnections()).toHaveLength(0)
  })

  it('--no-discovery sends nothing to a bootnode; with discovery on the same bootnode hears from it', async () => {
    const { network } = testChain(40, 2_000)
    // A bare UDP socket posing as the bootnode: it only counts what arrives.
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    cleanup.push(() => socket.close())
    let packets = 0
    socket.on('message', () => packets++)
    const fakeBootnode = await makeEnr({ ip: '127.0.0.1', udp: socket.address().port })

    const quiet = await startTestNode({ discovery: 'false', bootnodes: fakeBootnode.text }, network)
    cleanup.push(() => quiet.stop())
    await new Promise((resolve) => setTimeout(resolve, 1_500)) // nothing should arrive: a bounded look
    expect(packets).toBe(0)
    expect(quiet.readiness().checks.discoveryRunning).toBe(true) // off counts as fine

    const talking = await startTestNode(
      { discovery: 'true', 'discovery-port': '0', bootnodes: fakeBootnode.text },
      network,
      { discovery: { lookupIntervalMs: 200, minLookupGapMs: 50, lookupTimeoutMs: 1_000, requestTimeoutMs: 300 } },
    )
    cleanup.push(() => talking.stop())
    await expect.poll(() => packets, { timeout: 10_000 }).toBeGreaterThan(0)
  })

  it('reaches a discovered peer within seconds once it is up, although its first dial failed', async () => {
    const { network } = testChain(40, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const epoch = Clock.fromChainConfig(network.config, network.genesisTime).currentEpoch
    const bootnode = await startLocalBootnode()
    cleanup.push(() => bootnode.stop())
    // A stranger (plain createLibp2p) whose ENR is known before it listens: a peer restarting, or not up yet.
    const key = await generateKeyPair('secp256k1')
    const port = await freeTcpPort()
    bootnode.addEnr((await makeEnr({ ip: '127.0.0.1', tcp: port, ...forkFields(schedule, epoch) }, {}, key)).text)

    const node: ContowerNode = await startTestNode(
      { discovery: 'true', 'discovery-port': '0', bootnodes: bootnode.enr.encodeTxt() },
      network,
      { discovery: LONE_BOOTNODE_DISCOVERY },
    )
    cleanup.push(() => node.stop())
    const failedDials = async () =>
      (await metricValue(node, 'contower_peer_dials_total')) -
      (await metricValue(node, 'contower_peer_dials_total', { outcome: 'success' }))
    await expect.poll(failedDials, { timeout: 20_000 }).toBeGreaterThanOrEqual(1)

    const stranger = await createTestPeer({ privateKey: key, listenAddr: `/ip4/127.0.0.1/tcp/${port}` })
    cleanup.push(() => stranger.stop())
    await serveBeaconProtocols(stranger, () => relevantStatus(node))
    await stranger.start()
    // Discovery offers its record again 5 s after it last saw it; the peer is dialled once its backoff (5 s after a
    // first failure) is over. A minute's backoff, or a 30 s dedupe, would keep it away past this wait.
    await expect.poll(() => node.peerStore.get(stranger.peerId)?.handshaken, { timeout: 30_000 }).toBe(true)
    expect(await failedDials()).toBeLessThanOrEqual(2) // 2: a loaded machine was slow to start the stranger
  }, 60_000)
})
