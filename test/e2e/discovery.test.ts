// discv5 on 127.0.0.1 only: a standalone bootnode, beacon peers registered with it, and Discovery started with
// nothing but the bootnode's ENR. No test here contacts a real bootnode.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENR } from '@chainsafe/enr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../src/chain/networks.js'
import { Discovery, type DiscoveryOpts } from '../../src/discovery/discovery.js'
import { Discv5Node, probeUdpPort } from '../../src/discovery/discv5.js'
import { decodeEnrForkId, forkFields } from '../../src/discovery/enr.js'
import { ENR_FILE_NAME } from '../../src/discovery/enrStore.js'
import { DiscoveryError, DiscoveryErrorCode } from '../../src/discovery/errors.js'
import type { DiscoveredPeer } from '../../src/discovery/filter.js'
import { nodeIdOf } from '../../src/peers/custody.js'
import { LONE_BOOTNODE_DISCOVERY, makeEnr, startLocalBootnode } from '../helpers/enr.js'
import { createTestPeer } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

const LOCALHOST = '127.0.0.1'
const FIND_TIMEOUT_MS = 20_000
const mainnet = loadNetworkPreset('mainnet')
const forkSchedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
const sepolia = loadNetworkPreset('sepolia')
const sepoliaSchedule = new ForkSchedule(sepolia.config, sepolia.genesisValidatorsRoot)
const clock = Clock.fromChainConfig(mainnet.config, mainnet.genesisTime)
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
const FAST = LONE_BOOTNODE_DISCOVERY

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function startBootnode(): Promise<Discv5Node> {
  const node = await startLocalBootnode()
  cleanups.push(() => node.stop())
  return node
}

async function startPeer(privateKey?: PrivateKey): Promise<Libp2p> {
  const peer = await createTestPeer({ privateKey })
  await peer.start()
  cleanups.push(() => peer.stop())
  return peer
}

function tcpPortOf(peer: Libp2p): number {
  return Number(peer.getMultiaddrs()[0]!.toString().split('/tcp/')[1]!.split('/')[0])
}

async function startDiscovery(bootnodes: string[], opts: Partial<DiscoveryOpts> = {}) {
  const registry = new Registry()
  const privateKey: PrivateKey = await generateKeyPair('secp256k1')
  const dataDir = tempDir('contower-discovery-')
  const discovery = new Discovery(
    { privateKey, forkSchedule, clock, logger, registry },
    {
      dataDir,
      listenAddress: LOCALHOST,
      discoveryPort: 0,
      tcpPort: 0,
      quicPort: 0,
      bootnodes,
      attnets: [0, 1],
      syncnets: [],
      custodyGroupCount: 4,
      tuning: FAST,
      ...opts,
    },
  )
  cleanups.push(() => discovery.stop())
  await discovery.start()
  return { discovery, registry, dataDir }
}

async function outcomes(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('contower_discovery_enrs_total')!.get()
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]))
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + FIND_TIMEOUT_MS
  while (Date.now() < deadline) {
    const value = await fn()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out after ${FIND_TIMEOUT_MS} ms waiting for ${what}`)
}

describe('Discovery on 127.0.0.1', () => {
  it('finds a beacon peer through a local bootnode and filters out one on another fork', async () => {
    const bootnode = await startBootnode()
    const epoch = clock.currentEpoch

    // The right peer: a real libp2p host, advertised with our eth2 field and its TCP port.
    const hostKey = await generateKeyPair('secp256k1')
    const host = await startPeer(hostKey)
    const good = await makeEnr(
      { ip: LOCALHOST, tcp: tcpPortOf(host), ...forkFields(forkSchedule, epoch), attnets: [7], syncnets: [2] },
      {},
      hostKey,
    )
    // The wrong one: sepolia's digest.
    const wrong = await makeEnr({ ip: LOCALHOST, tcp: 1, ...forkFields(sepoliaSchedule, epoch) })
    bootnode.addEnr(good.text)
    bootnode.addEnr(wrong.text)

    const { discovery, registry, dataDir } = await startDiscovery([bootnode.enr.encodeTxt()])
    const seen: DiscoveredPeer[] = []
    discovery.onDiscovered((p) => seen.push(p))

    const found = await waitFor('the beacon peer', () => seen.find((p) => p.peerId.equals(host.peerId)))
    expect(found.multiaddrs.map(String)).toEqual([`/ip4/${LOCALHOST}/tcp/${tcpPortOf(host)}/p2p/${host.peerId}`])
    expect(found).toMatchObject({ enr: good.text, forkDigest: forkSchedule.digestHexAtEpoch(epoch), attnets: [7] })
    expect(found.syncnets).toEqual([2])
    expect(discovery.knownPeers().map((p) => p.peerId.toString())).toContain(host.peerId.toString())

    // What discovery hands out is dialable by libp2p v3 as it is.
    const dialer = await startPeer()
    const connection = await dialer.dial(found.multiaddrs[0]!, { signal: AbortSignal.timeout(5_000) })
    expect(connection.remotePeer.equals(host.peerId)).toBe(true)

    await waitFor('the wrong-fork peer to be counted', async () =>
      (await outcomes(registry)).wrong_fork! >= 1 ? true : undefined,
    )
    expect(seen.some((p) => p.nodeId === wrong.enr.nodeId)).toBe(false)
    const counts = await outcomes(registry)
    expect(counts.accepted).toBeGreaterThanOrEqual(1)
    expect(counts.no_tcp_or_quic).toBeGreaterThanOrEqual(1) // the bootnode itself
    const tableMetric = await registry.getSingleMetric('contower_discv5_table_size')!.get()
    expect(tableMetric.values[0]!.value).toBeGreaterThanOrEqual(1)

    // Our own record: eth2 of the current fork, the UDP port bound, seq persisted.
    const ours = ENR.decodeTxt(discovery.enr)
    expect(ours.udp).toBe(discovery.udpPort)
    expect(ours.ip).toBe(LOCALHOST)
    expect(decodeEnrForkId(ours.kvs.get('eth2')!)!.forkDigest).toEqual(forkSchedule.digestAtEpoch(epoch))
    const stored = JSON.parse(readFileSync(join(dataDir, ENR_FILE_NAME), 'utf8')) as { seq: string }
    expect(BigInt(stored.seq)).toBe(discovery.enrSeq)
  })

  it('finds a record its bootnode holds deep in its table when a lookup asks for more distances', async () => {
    const bootnode = await startBootnode()
    const bootnodeId = BigInt(`0x${bootnode.enr.nodeId}`)
    // A peer 11 to 14 levels below the farthest (log2 distance 242 to 245 from the bootnode): a lookup asking 3
    // distances around its random target's returns it about once in 600; asking 16 (256 down to 241 for half the
    // targets), nearly always.
    const distanceOf = (key: PrivateKey) => (nodeIdOf(peerIdFromPrivateKey(key))! ^ bootnodeId).toString(2).length
    let key: PrivateKey
    do key = await generateKeyPair('secp256k1')
    while (distanceOf(key) > 245 || distanceOf(key) < 242)
    const host = await startPeer(key)
    bootnode.addEnr(
      (await makeEnr({ ip: LOCALHOST, tcp: tcpPortOf(host), ...forkFields(forkSchedule, clock.currentEpoch) }, {}, key))
        .text,
    )

    // FAST asks 16 distances (LONE_BOOTNODE_DISCOVERY); with discv5's 3 this wait runs out.
    const { discovery } = await startDiscovery([bootnode.enr.encodeTxt()])
    const seen: DiscoveredPeer[] = []
    discovery.onDiscovered((p) => seen.push(p))
    await waitFor('the deep record', () => (seen.some((p) => p.peerId.equals(host.peerId)) ? true : undefined))
  })

  it('publishes new subnets with a higher seq, and stop() ends lookups and frees the UDP port', async () => {
    const bootnode = await startBootnode()
    const { discovery, dataDir } = await startDiscovery([bootnode.enr.encodeTxt()])
    const seq = discovery.enrSeq
    discovery.updateLocalFields({ attnets: [0, 1] }) // unchanged: no bump
    expect(discovery.enrSeq).toBe(seq)
    discovery.updateLocalFields({ attnets: [0, 1, 2], custodyGroupCount: 8 })
    expect(discovery.enrSeq).toBe(seq + 2n) // one bump per changed key
    const stored = JSON.parse(readFileSync(join(dataDir, ENR_FILE_NAME), 'utf8')) as { seq: string }
    expect(BigInt(stored.seq)).toBe(seq + 2n)

    discovery.requestMorePeers()
    discovery.requestMorePeers()
    const port = discovery.udpPort
    const started = Date.now()
    await discovery.stop()
    await discovery.stop() // idempotent
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(discovery.isRunning).toBe(false)
    expect(await probeUdpPort(LOCALHOST, port)).toBe(port) // the socket is closed
    discovery.requestMorePeers() // no-op once stopped
  })

  it('restarts with the same seq when nothing changed, and names a UDP port in use', async () => {
    const bootnode = await startBootnode()
    const port = await probeUdpPort(LOCALHOST, 0)
    const privateKey = await generateKeyPair('secp256k1')
    const dataDir = tempDir('contower-discovery-')
    const make = (discoveryPort: number) =>
      new Discovery(
        { privateKey, forkSchedule, clock, logger, registry: null },
        {
          dataDir,
          listenAddress: LOCALHOST,
          discoveryPort,
          tcpPort: 9000,
          quicPort: 9001,
          bootnodes: [],
          attnets: [],
          syncnets: [],
          custodyGroupCount: 4,
          tuning: FAST,
        },
      )
    const first = make(port)
    await first.start()
    const enr = first.enr
    await first.stop()
    const second = make(port)
    cleanups.push(() => second.stop())
    await second.start()
    expect(second.enr).toBe(enr)

    const clash = make(bootnode.udpPort)
    const err = await clash.start().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(DiscoveryError)
    expect((err as DiscoveryError).code).toBe(DiscoveryErrorCode.BIND_FAILED)
    expect((err as DiscoveryError).message).toBe(
      `cannot bind discv5 to ${LOCALHOST}:${bootnode.udpPort} (UDP): address already in use`,
    )
  })
})
