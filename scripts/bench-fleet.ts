// Benchmark: what a fleet hit costs. BlocksByRange of realistic blocks fetched by a requester (a) directly from an
// upstream, (b) through Contower A with a cache miss, (c) through Contower B, which replays what A stored in the
// fleet's Redis (a fleet hit), (d) through A again, from its local cache. One run, variants interleaved per round
// (each round a fresh range), latency p50/p99 and the ratio to (a).
//
//   npx tsx scripts/bench-fleet.ts [--rounds 20] [--blocks 16] [--block-bytes 100000] [--max-seconds 120]
//   (npm run bench:relay -- --fleet runs the same)
//
// Everything on 127.0.0.1 in this process: a redis-server of the benchmark's own on a free port (Debian's
// redis-server must be installed; it is stopped by its pid at the end), simulated upstreams enforcing Lodestar's
// quotas, two Contowers sharing that Redis, and the requester. Rounds are paced to keep every requester under the
// upstreams' quotas, so no variant waits on a self-limit.
import '../src/setup.js'
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import type { SimulatedPeer } from '../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { createLogger } from '../src/logger.js'
import { getProtocol } from '../src/reqresp/protocols.js'
import { startContower, startSimulatedPeer } from './lib/devnet.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const VARIANTS = ['direct', 'cold', 'fleet', 'cached'] as const
type Variant = (typeof VARIANTS)[number]
const LABELS: Record<Variant, string> = {
  direct: '(a) direct from upstream',
  cold: '(b) via Contower A, cold',
  fleet: '(c) via Contower B, fleet hit',
  cached: '(d) via Contower A, cached',
}
/** Lodestar's BlocksByRange quota: 128 blocks per 10 s per requester, at each upstream. */
const QUOTA_BLOCKS_PER_SECOND = 12.8
const UPSTREAMS = 4

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    blocks: { type: 'string', default: '16' },
    'block-bytes': { type: 'string', default: '100000' },
    'max-seconds': { type: 'string', default: '120' },
  },
  allowPositionals: true,
})
const rounds = Number(args.rounds)
const blocks = Number(args.blocks)
const blockBytes = Number(args['block-bytes'])
const maxSeconds = Number(args['max-seconds'])
for (const [name, v] of Object.entries({ rounds, blocks, blockBytes, maxSeconds })) {
  if (!Number.isSafeInteger(v) || v <= 0) {
    console.error(`bench-fleet: --${name} must be a positive integer`)
    process.exit(2)
  }
}

const logger = createLogger({ level: 'silent', format: 'json' })
const stops: Array<() => Promise<unknown> | unknown> = []
const hardStop = setTimeout(
  () => {
    console.error(`bench-fleet: still running after ${maxSeconds + 30} s, exiting`)
    process.exit(1)
  },
  (maxSeconds + 30) * 1000,
)
hardStop.unref()

try {
  const redis = await startRedis()
  stops.push(() => redis.stop())
  // History enough for every round's fresh range; 12 s slots as on mainnet.
  const history = (rounds + 2) * blocks + 64
  const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - history * 12, slotSeconds: 12 })
  const chain = new SyntheticChain({ network }, { payloadBytes: blockBytes })
  await chain.prebuild(history)
  const upstreams: SimulatedPeer[] = []
  for (let i = 0; i < UPSTREAMS; i++) {
    const peer = await startSimulatedPeer(network, chain, logger)
    stops.push(() => peer.stop())
    upstreams.push(peer)
  }
  const staticPeers = upstreams.map((u) => u.multiaddr.toString()).join(',')
  // The requester asks A twice a round: Contower's own inbound quota would delay it, which is not what is measured.
  const flags = {
    'static-peers': staticPeers,
    'fleet-redis': redis.url,
    'rate-limits': 'beacon_blocks_by_range:100000/10',
  }
  const [a, b] = [await startContower(network, logger, flags), await startContower(network, logger, flags)]
  stops.push(
    () => a.stop(),
    () => b.stop(),
  )
  const requester = await startSimulatedPeer(network, chain, logger, { serveBlocks: false })
  stops.push(() => requester.stop())
  for (const node of [a.node, b.node]) {
    await waitUntil(() => upstreams.every((u) => node.peerStore.get(u.peerId)?.handshaken === true), 20_000)
    await waitUntil(() => node.health().fleet === 'ok', 10_000)
    await requester.libp2p.dial(node.listenAddresses[0])
  }
  for (const u of upstreams) await requester.libp2p.dial(u.multiaddr)

  const samples: Record<Variant, number[]> = { direct: [], cold: [], fleet: [], cached: [] }
  const fetchMs = async (peer: SimulatedPeer['peerId'], start: number): Promise<number> => {
    const request = BY_RANGE.request!.serialize({ startSlot: start, count: blocks, step: 1 })
    const t0 = performance.now()
    const got = await requester.fetch(peer, BY_RANGE, request, blocks)
    const ms = performance.now() - t0
    if (got.length === 0) throw new Error(`empty answer for slots ${start}+${blocks}`)
    return ms
  }
  const fleetWrites = async () => {
    const metric = a.node.registry!.getSingleMetric('contower_fleet_cache_writes_total')!
    return (await metric.get()).values.reduce((n, v) => n + (v.labels.result === 'stored' ? v.value : 0), 0)
  }
  // Each upstream sees the requester's direct fetches and one Contower's cold ones: pace so both stay under quota.
  const roundGapMs = Math.ceil(((blocks * 1000) / QUOTA_BLOCKS_PER_SECOND / UPSTREAMS) * 2)
  const deadline = Date.now() + maxSeconds * 1000
  let done = 0
  for (let r = 0; r < rounds + 2 && Date.now() < deadline; r++) {
    const roundStart = Date.now()
    const start = 1 + r * blocks
    const direct = await fetchMs(upstreams[r % UPSTREAMS].peerId, start)
    const written = await fleetWrites()
    const cold = await fetchMs(a.node.libp2p.peerId, start)
    // A stores the range in Redis without waiting for it: wait for the write so (c) measures a hit.
    await waitUntil(async () => (await fleetWrites()) > written, 5_000)
    const fleet = await fetchMs(b.node.libp2p.peerId, start)
    const cached = await fetchMs(a.node.libp2p.peerId, start)
    if (r >= 2) {
      // The first two rounds warm up connections and code paths.
      samples.direct.push(direct)
      samples.cold.push(cold)
      samples.fleet.push(fleet)
      samples.cached.push(cached)
      done++
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, roundGapMs - (Date.now() - roundStart))))
  }
  const lookups = await b.node.registry!.getSingleMetric('contower_fleet_cache_lookups_total')!.get()
  const byResult = lookups.values.map((v) => `${v.labels.result} ${v.value}`).join(', ')
  printTable(samples, { done, lookups: byResult, blockBytes })
} finally {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {})
  clearTimeout(hardStop)
}

function printTable(samples: Record<Variant, number[]>, info: { done: number; lookups: string; blockBytes: number }) {
  const p = (xs: number[], q: number) => {
    const s = [...xs].sort((x, y) => x - y)
    return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
  }
  const base50 = p(samples.direct, 0.5)
  const base99 = p(samples.direct, 0.99)
  console.log(
    `bench-fleet: ${info.done} rounds of BlocksByRange ${blocks} × ~${Math.round(info.blockBytes / 1000)} KB blocks, ` +
      `load average ${loadavg()[0].toFixed(1)}; B's Redis lookups: ${info.lookups} (a timeout, over the 20 ms ` +
      `budget, went upstream)`,
  )
  console.log('| variant | p50 ms | p99 ms | p50 ÷ direct | p99 ÷ direct |')
  console.log('|---|---|---|---|---|')
  for (const v of VARIANTS) {
    const p50 = p(samples[v], 0.5)
    const p99 = p(samples[v], 0.99)
    console.log(
      `| ${LABELS[v]} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${(p50 / base50).toFixed(2)} | ${(p99 / base99).toFixed(2)} |`,
    )
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`bench-fleet: condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`bench-fleet: cannot start redis-server (${e.message})`)))
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready to accept connections') && resolve())
    child.once('exit', (code) => reject(new Error(`bench-fleet: redis-server exited with ${code}`)))
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}
