// Benchmark: how long a starting Contower takes to reach peers whose `quic` ENR entry leads nowhere (a UDP port
// nobody forwards: a QUIC dial there times out rather than fails), against the same run with a QUIC attempt given the
// whole dial timeout, as every attempt was before 2026-12-07. Interleaved rounds.
//
//   npm run bench:dials -- [--peers 10] [--rounds 5]      (BENCH_LOG_LEVEL=debug: the nodes' logs too)
//
// Each round starts a fresh Contower (new identity, discovery on, a local bootnode as its only bootnode) and times
// from its start to all `--peers` simulated peers handshaken. Each peer serves TCP and advertises `tcp` and a dead
// `quic` port in its ENR; Contower dials QUIC first, so each dial waits out the QUIC budget and then connects over TCP.
// Medians over several rounds, and the range, are printed.
import '../src/setup.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { cpus, loadavg } from 'node:os'
import { Clock } from '../src/chain/clock.js'
import { ForkSchedule } from '../src/chain/forkSchedule.js'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import { SIMULATED_PEER_DEFAULTS, SimulatedPeer } from '../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { forkFields } from '../src/discovery/enr.js'
import { LONE_BOOTNODE_DISCOVERY, signedEnr, startLocalBootnode } from '../src/discovery/localBootnode.js'
import { createLogger } from '../src/logger.js'
import { PEER_MANAGER_DEFAULTS } from '../src/peers/peerManager.js'
import { startContower } from './lib/devnet.js'
import { intOption as option } from './lib/intOption.js'
import { percentile } from './lib/stats.js'
import { formatTable } from './lib/table.js'

const PEERS = option('peers', 10, 1, 50)
const ROUNDS = option('rounds', 5, 1, 20)
/** No round may take longer: the bench ends by itself. */
const ROUND_DEADLINE_MS = 120_000
/** Port 9 (discard): nothing answers QUIC there, and the loopback's ICMP reply is not taken as a refusal. */
const DEAD_QUIC_PORT = 9
const { dialTimeoutMs, quicDialTimeoutMs } = PEER_MANAGER_DEFAULTS
const VARIANTS = [
  { name: 'QUIC gets the whole dial timeout (before)', quicDialTimeoutMs: dialTimeoutMs },
  { name: 'QUIC gets its own budget (now)', quicDialTimeoutMs },
] as const

const logger = createLogger({ level: (process.env.BENCH_LOG_LEVEL as 'debug') ?? 'silent', format: 'json' })
const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - 80 })
const chain = new SyntheticChain({ network }, { payloadBytes: 1_000 })
const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
const epoch = Clock.fromChainConfig(network.config, network.genesisTime).currentEpoch

async function main(): Promise<void> {
  const peers: SimulatedPeer[] = []
  const enrs: string[] = []
  try {
    for (let i = 0; i < PEERS; i++) {
      const privateKey = await generateKeyPair('secp256k1')
      const peer = new SimulatedPeer({ network, chain, logger }, { ...SIMULATED_PEER_DEFAULTS, privateKey })
      await peer.start()
      peers.push(peer)
      const tcp = Number(peer.multiaddr.getComponents().find((c) => c.name === 'tcp')!.value)
      const fields = { ip: '127.0.0.1', tcp, quic: DEAD_QUIC_PORT, ...forkFields(schedule, epoch) }
      const { custodyGroupCount } = SIMULATED_PEER_DEFAULTS
      enrs.push(signedEnr(privateKey, { ...fields, attnets: [], syncnets: [], custodyGroupCount }))
    }
    const times: number[][] = VARIANTS.map(() => [])
    for (let round = 0; round < ROUNDS; round++) {
      for (const [v, variant] of VARIANTS.entries()) {
        const ms = await timeToPeers(enrs, variant.quicDialTimeoutMs, peers)
        times[v]!.push(ms)
        console.log(`round ${round + 1}/${ROUNDS}: ${variant.name}: ${(ms / 1000).toFixed(2)} s`)
      }
    }
    report(times)
  } finally {
    for (const peer of peers) await peer.stop()
  }
}

/**
 * From a fresh Contower's start to all `peers` handshaken, in ms. A fresh bootnode each round, holding only the peers'
 * records: the last round's Contower, stopped, would otherwise be found and dialled too.
 */
async function timeToPeers(enrs: string[], quicBudgetMs: number, peers: SimulatedPeer[]): Promise<number> {
  const bootnode = await startLocalBootnode()
  for (const enr of enrs) bootnode.addEnr(enr)
  const started = performance.now()
  const contower = await startContower(
    network,
    logger,
    {
      discovery: 'true',
      'discovery-port': '0',
      bootnodes: bootnode.enr.encodeTxt(),
      'target-peers': String(peers.length),
    },
    { discovery: LONE_BOOTNODE_DISCOVERY, peerManager: { quicDialTimeoutMs: quicBudgetMs } },
  ).catch(async (e: unknown) => {
    await bootnode.stop()
    throw e
  })
  try {
    const ids = peers.map((p) => p.peerId)
    while (!ids.every((id) => contower.node.peerStore.get(id)?.handshaken)) {
      if (performance.now() - started > ROUND_DEADLINE_MS)
        throw new Error(`peers not reached in ${ROUND_DEADLINE_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const ms = performance.now() - started
    const dials = await contower.node.registry!.getSingleMetric('contower_peer_dials_total')!.get()
    const counts = dials.values
      .filter((v) => v.value > 0)
      .map((v) => `${v.labels.transport} ${v.labels.outcome} ${v.value}`)
    console.log(`  dials: ${counts.join(', ')}`)
    return ms
  } finally {
    await contower.stop()
    await bootnode.stop()
  }
}

function report(times: number[][]): void {
  const s = (ms: number) => (ms / 1000).toFixed(2)
  const median = times.map((t) => percentile(t, 0.5))
  console.log(
    `\n${PEERS} peers with a dead quic port, dial concurrency ${PEER_MANAGER_DEFAULTS.dialConcurrency}, ${ROUNDS} rounds each; ` +
      `${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
  )
  const rows = VARIANTS.map((variant, v) => [
    variant.name,
    `${variant.quicDialTimeoutMs / 1000} s`,
    s(median[v]!),
    `${s(Math.min(...times[v]!))}–${s(Math.max(...times[v]!))}`,
  ])
  for (const line of formatTable(['time to all peers', 'QUIC budget', 'median s', 'range s'], rows)) console.log(line)
  console.log(`ratio now/before (medians): ${(median[1]! / median[0]!).toFixed(2)}`)
}

await main()
