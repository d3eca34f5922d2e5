// The measuring side of scripts/bench-relay.ts: the devnet chain, the simulated upstream peers, the requester and
// the interleaved, quota-paced rounds it times. It runs in the benchmark's child process (scripts/lib/benchPeers.ts)
// or, with --in-process, in the one process that also hosts Contower. The entry point must import src/setup.ts first.
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MAX_REQUEST_BLOCKS_DENEB } from '../../src/spec/reqresp.js'
import { transportOf } from '../../src/network/transport.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Network } from '../../src/chain/resolveNetwork.js'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { LODESTAR_QUOTAS } from '../../src/spec/quotas.js'
import { TokenBucket } from '../../src/limits/tokenBucket.js'
import { UPSTREAM_LIMITER_DEFAULTS } from '../../src/limits/upstreamLimiter.js'
import type { Logger } from '../../src/logger.js'
import { ReqRespClient } from '../../src/reqresp/client.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { RELAY_DEFAULTS } from '../../src/relay/relay.js'
import { ResponseTypes } from '../../src/reqresp/responseTypes.js'
import { startSimulatedPeer } from './devnet.js'

export const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
/** What each upstream enforces per requester (Lodestar: 128 blocks per 10 s, a ban beyond). */
export const QUOTA = LODESTAR_QUOTAS[BY_RANGE.name]
/** Our model of the direct requester's buckets refills at this share of the upstream's rate (arrival jitter). */
const DIRECT_PACE = 0.8
/** Our model of Contower's upstream buckets refills slower than Contower's own, so it never reports "ready" early. */
const CONTOWER_PACE = UPSTREAM_LIMITER_DEFAULTS.safetyFactor * 0.9
/** 12 s slots (mainnet's): the upstreams build a new head block rarely while we measure. */
const SLOT_SECONDS = 12
/** Time reserved after the measuring loop for the summary and stopping every host. */
const SHUTDOWN_RESERVE_MS = 10_000
/**
 * Idle time after each fetch, outside its latency: work a fetch left behind (Contower indexes a response's blocks by
 * root in a setImmediate) finishes here instead of inside the next fetch, and is still counted in that fetch's busy time.
 */
export const SETTLE_MS = 20

export type Variant = 'direct' | 'cold' | 'cached' | 'pipe'
export const VARIANTS: Variant[] = ['direct', 'cold', 'cached', 'pipe']
/** Every order of the variants, taken in turn: each runs in every position and after every other one. */
export const ORDERS: Variant[][] = permutations(VARIANTS)

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items]
  return items.flatMap((first, i) => permutations(items.filter((_, j) => j !== i)).map((rest) => [first, ...rest]))
}

export interface BenchOpts {
  /** Every hop of every variant over this transport: the requester, Contower, the pipe and the upstreams. */
  transport: BenchTransport
  iterations: number
  warmup: number
  upstreams: number
  blocks: number
  maxSeconds: number
}

export const BENCH_TRANSPORTS = ['tcp', 'quic'] as const
export type BenchTransport = (typeof BENCH_TRANSPORTS)[number]

/** A host's listen address on `transport` (each host of a QUIC run listens on both, as Contower does). */
export function addressOn(addrs: Multiaddr[], transport: BenchTransport): Multiaddr {
  const addr = addrs.find((a) => transportOf(a) === transport)
  if (!addr) throw new Error(`no ${transport} address among ${addrs.join(', ')}`)
  return addr
}

/** What both processes derive from the options and the start time: the chain's shape and the network. */
export interface BenchPlan {
  /** Warm-up + measured rounds. */
  rounds: number
  /** First slot of the seed range (genesis is left out: every range is a full one). */
  firstSlot: number
  historySlots: number
  /** Unix seconds of slot 0, so that `historySlots` slots have passed at the start. */
  genesisTime: number
  /** Where the upstreams and the requester listen: 127.0.0.1, or the peers namespace's address with --link-mbit. */
  peersAddress: string
}

export function benchPlan(opts: BenchOpts, nowMs: number, peersAddress = '127.0.0.1'): BenchPlan {
  // Plus one range fetched through Contower first, so round 0 has a cached range to ask.
  const rounds = opts.warmup + opts.iterations
  const firstSlot = opts.blocks
  const historySlots = firstSlot + (rounds + 1) * opts.blocks + opts.blocks + 2
  const genesisTime = Math.floor(nowMs / 1000) - historySlots * SLOT_SECONDS
  return { rounds, firstSlot, historySlots, genesisTime, peersAddress }
}

export function benchNetwork(plan: BenchPlan): Network {
  return devnetNetwork({ genesisTime: plan.genesisTime, slotSeconds: SLOT_SECONDS })
}

/** One timed fetch; `raws` (the chunks' bytes) stays in the measuring process. */
export interface Sample {
  /** Request sent → last chunk received. */
  ms: number
  /** Request sent → first chunk received. */
  ttfbMs: number
  /** Event-loop active time from the request until SETTLE_MS after it, summed over the benchmark's processes. */
  busyMs: number
  /** CPU time (user + system, every thread: GC helpers too) over the same span, summed over the processes. */
  cpuMs: number
  /** The part of cpuMs spent in Contower's process (NaN when Contower shares the requester's process). */
  relayCpuMs: number
  /** Contower's event-loop active time over the same span: its forwarding thread, worker threads not included (NaN alike). */
  relayBusyMs: number
  bytes: number
}

export interface RoundsResult {
  samples: Record<Variant, Sample[]>
  blockBytes: number
  roundsDone: number
  loopSeconds: number
  pacedMs: number
  stoppedEarly: boolean
  /** Relayed, piped or cached responses whose bytes differed from the upstream's. */
  mismatches: number
  /** Cold or piped fetches after which no upstream's served count moved (all were then charged in the model). */
  unattributed: number
  /** Per upstream: requests over its quota (each would have banned the sender). */
  quotaExceeded: number[]
}

/** A peer reached over the network: Contower, or the bare pipe (scripts/lib/barePipe.ts) in the same process. */
export interface Hop {
  peerId: PeerId
  multiaddr: Multiaddr
}

/** The Contower under test, as the measuring side sees it. */
export interface RelayUnderTest extends Hop {
  /**
   * Event-loop active ms and CPU ms of Contower's process so far, when that is another process (its CPU then
   * overlaps the requester's; read before and after each fetch); null when Contower runs in the measuring process.
   * The bare pipe lives in that process too, so its fetches are charged the same way.
   */
  usage: (() => Promise<RelayUsage>) | null
}

export interface RelayUsage {
  activeMs: number
  cpuMs: number
}

export interface Upstreams {
  network: Network
  chain: SyntheticChain
  peers: SimulatedPeer[]
  blockBytes: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Builds the chain (not timed) and starts the upstreams; each one's stop is pushed onto `stops`. */
export async function startUpstreams(
  opts: BenchOpts,
  plan: BenchPlan,
  logger: Logger,
  log: (msg: string) => void,
  stops: Array<() => Promise<void>>,
): Promise<Upstreams> {
  const network = benchNetwork(plan)
  const chain = new SyntheticChain({ network })
  log(`building ${plan.historySlots} blocks of the devnet chain (not timed)…`)
  await chain.prebuild(plan.historySlots)
  const peers: SimulatedPeer[] = []
  for (let i = 0; i < opts.upstreams; i++) {
    const peer = await startSimulatedPeer(network, chain, logger, {
      listenAddress: plan.peersAddress,
      quic: opts.transport === 'quic',
    })
    stops.push(() => peer.stop())
    peers.push(peer)
  }
  return { network, chain, peers, blockBytes: chain.blockAt(plan.firstSlot)!.ssz.length }
}

/**
 * Starts the requester (its stop goes first in `stops`), connects it to Contower, the bare pipe and every upstream,
 * and runs the rounds: each round fetches a new range directly, through Contower (cold) and through the bare pipe,
 * and the previous round's range through Contower (cached), in one of the 24 orders, paced so that no upstream quota
 * is exceeded and neither Contower nor the pipe ever waits for an upstream's quota.
 */
export async function measureRounds(args: {
  opts: BenchOpts
  plan: BenchPlan
  upstreams: Upstreams
  relay: RelayUnderTest
  pipe: Hop
  logger: Logger
  log: (msg: string) => void
  deadlineMs: number
  stops: Array<() => Promise<void>>
}): Promise<RoundsResult> {
  const { opts, plan, relay, pipe, logger, log, deadlineMs, stops } = args
  const { network, chain, peers: upstreams } = args.upstreams
  const rangeStart = (round: number) => plan.firstSlot + (round + 1) * opts.blocks // round -1 = the seed range

  const requester = await startSimulatedPeer(network, chain, logger, {
    serveBlocks: false,
    listenAddress: plan.peersAddress,
    quic: opts.transport === 'quic',
  })
  stops.unshift(() => requester.stop())
  await requester.libp2p.dial(relay.multiaddr)
  await requester.libp2p.dial(pipe.multiaddr)
  for (const u of upstreams) await requester.libp2p.dial(addressOn(u.libp2p.getMultiaddrs(), opts.transport))

  // The requester's client, built as SimulatedPeer.fetch's is, iterated here to time the first and last chunk.
  const client = new ReqRespClient({
    host: requester.libp2p,
    responseTypes: new ResponseTypes({ forkSchedule: requester.forkSchedule, clock: requester.clock }),
    metrics: null,
  })
  type Cost = Pick<Sample, 'busyMs' | 'cpuMs' | 'relayCpuMs' | 'relayBusyMs'>
  type Fetched = Omit<Sample, keyof Cost> & { raws: Uint8ArrayList[] }
  async function timedFetch(peer: PeerId, startSlot: number): Promise<Fetched> {
    const request = BY_RANGE.request!.serialize({ startSlot, count: opts.blocks, step: 1 })
    const raws: Uint8ArrayList[] = []
    let ttfbMs = 0
    let lastMs = 0
    const t0 = performance.now()
    for await (const chunk of client.request(peer, BY_RANGE, request, { maxChunks: opts.blocks })) {
      lastMs = performance.now() - t0
      if (raws.length === 0) ttfbMs = lastMs
      raws.push(chunk.raw)
    }
    if (raws.length !== opts.blocks) throw new Error(`range ${startSlot}: ${raws.length} of ${opts.blocks} blocks`)
    return { ms: lastMs, ttfbMs, bytes: raws.reduce((n, r) => n + r.byteLength, 0), raws }
  }

  // Pacing models (GCRA buckets like the real ones, refilling slower): the requester's direct buckets at each upstream,
  // and Contower's and the pipe's self-limit buckets for each upstream (whichever upstream a hop chose is found from
  // served counts).
  const model = (pace: number, jitterMs = 0) =>
    new TokenBucket({}, { tokens: QUOTA.tokens, seconds: QUOTA.seconds / pace }, { jitterMs })
  const directBuckets = upstreams.map(() => model(DIRECT_PACE))
  // Contower's and the pipe's limiters wait out an arrival-jitter allowance on top of their refill: so does the model.
  const contowerBuckets = upstreams.map(() => model(CONTOWER_PACE, UPSTREAM_LIMITER_DEFAULTS.jitterMs))
  const pipeBuckets = upstreams.map(() => model(CONTOWER_PACE, UPSTREAM_LIMITER_DEFAULTS.jitterMs))
  // Contower charges an upstream for the range and for the blocks after it that prove its last block.
  const contowerCost = opts.blocks + Math.min(RELAY_DEFAULTS.successorSlots, MAX_REQUEST_BLOCKS_DENEB - opts.blocks)
  const costOf = (buckets: TokenBucket[]) => (buckets === contowerBuckets ? contowerCost : opts.blocks)
  const take = (bucket: TokenBucket, cost = opts.blocks) => bucket.reserve(cost, bucket.msUntil(cost)) // = take now, in debt if short
  const servedRequests = () => upstreams.map((u) => u.servedCount(BY_RANGE.name).requests)
  let unattributed = 0
  let nextDirect = 0

  /** A fetch through Contower or the pipe, charged to the buckets of the upstream it went to. */
  async function hopFetch(hop: Hop, buckets: TokenBucket[], startSlot: number): Promise<Fetched> {
    const before = servedRequests()
    const sample = await timedFetch(hop.peerId, startSlot)
    let served: number[] = []
    for (let tries = 0; tries < 20 && served.length === 0; tries++) {
      if (tries > 0) await sleep(10)
      const after = servedRequests()
      served = after.flatMap((n, i) => (n > before[i] ? [i] : []))
    }
    if (served.length === 0) {
      unattributed++
      served = upstreams.map((_, i) => i) // cannot tell which: assume all were charged
    }
    for (const i of served) take(buckets[i], costOf(buckets))
    return sample
  }
  const coldFetch = (startSlot: number) => hopFetch(relay, contowerBuckets, startSlot)

  async function directFetch(startSlot: number): Promise<Fetched> {
    // The next upstream (round robin) whose quota for the requester has room; the round was paced so one has.
    for (let k = 0; k < upstreams.length; k++) {
      const i = (nextDirect + k) % upstreams.length
      if (directBuckets[i].msUntil(opts.blocks) === 0) {
        nextDirect = i + 1
        take(directBuckets[i])
        return timedFetch(upstreams[i].peerId, startSlot)
      }
    }
    throw new Error('pacing bug: no upstream has quota left for a direct fetch')
  }

  const roundWaitMs = () =>
    Math.max(
      ...[directBuckets, contowerBuckets, pipeBuckets].map((set) =>
        Math.min(...set.map((b) => b.msUntil(costOf(set)))),
      ),
    )

  // The seed range: fetched through Contower once so round 0's cached fetch hits.
  let previousCold = await coldFetch(rangeStart(-1))
  const samples: Record<Variant, Sample[]> = { direct: [], cold: [], cached: [], pipe: [] }
  let mismatches = 0
  let pacedMs = 0
  let roundsDone = 0
  let stoppedEarly = false
  const loopStartMs = Date.now()
  for (let round = 0; round < plan.rounds; round++) {
    const waitMs = roundWaitMs()
    const avgRoundMs = round > 0 ? (Date.now() - loopStartMs) / round : 5_000
    if (Date.now() + waitMs + 2 * avgRoundMs > deadlineMs - SHUTDOWN_RESERVE_MS) {
      stoppedEarly = true
      break
    }
    if (waitMs > 0) {
      pacedMs += waitMs
      await sleep(waitMs + 5)
    }
    const startSlot = rangeStart(round)
    const cachedSlot = rangeStart(round - 1)
    const order = ORDERS[round % ORDERS.length]
    const got = {} as Record<Variant, Fetched>
    const cost = {} as Record<Variant, Cost>
    for (const variant of order) {
      // Contower's process is asked for its figures outside the timed part, before and after (settle included).
      const relayBefore = relay.usage ? await relay.usage() : null
      const elu = performance.eventLoopUtilization()
      const cpu = process.cpuUsage()
      if (variant === 'direct') got.direct = await directFetch(startSlot)
      else if (variant === 'cold') got.cold = await coldFetch(startSlot)
      else if (variant === 'pipe') got.pipe = await hopFetch(pipe, pipeBuckets, startSlot)
      else got.cached = await timedFetch(relay.peerId, cachedSlot)
      await sleep(SETTLE_MS)
      const ownBusyMs = performance.eventLoopUtilization(elu).active
      const ownCpu = process.cpuUsage(cpu)
      const ownCpuMs = (ownCpu.user + ownCpu.system) / 1000
      const relayAfter = relay.usage ? await relay.usage() : null
      if (relayBefore && relayAfter) {
        const relayCpuMs = relayAfter.cpuMs - relayBefore.cpuMs
        const relayBusyMs = relayAfter.activeMs - relayBefore.activeMs
        cost[variant] = { busyMs: ownBusyMs + relayBusyMs, cpuMs: ownCpuMs + relayCpuMs, relayCpuMs, relayBusyMs }
      } else cost[variant] = { busyMs: ownBusyMs, cpuMs: ownCpuMs, relayCpuMs: NaN, relayBusyMs: NaN }
    }
    // Outside the timed part: the relay must forward exactly what the upstream sent, and the cache what it stored.
    if (!sameBytes(got.cold.raws, got.direct.raws)) mismatches++
    if (!sameBytes(got.pipe.raws, got.direct.raws)) mismatches++
    if (!sameBytes(got.cached.raws, previousCold.raws)) mismatches++
    previousCold = got.cold
    if (round >= opts.warmup) {
      for (const v of VARIANTS) {
        const { ms, ttfbMs, bytes } = got[v]
        samples[v].push({ ms, ttfbMs, bytes, ...cost[v] })
      }
    }
    roundsDone++
    if (roundsDone % 10 === 0) log(`${roundsDone}/${plan.rounds} rounds`)
  }
  const loopSeconds = (Date.now() - loopStartMs) / 1000
  return {
    samples,
    blockBytes: args.upstreams.blockBytes,
    roundsDone,
    loopSeconds,
    pacedMs,
    stoppedEarly,
    mismatches,
    unattributed,
    quotaExceeded: upstreams.map((u) => u.stats.quotaExceeded),
  }
}

function sameBytes(a: Uint8ArrayList[], b: Uint8ArrayList[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x.subarray()).equals(b[i].subarray()))
}

// The two processes' messages (Node's IPC channel, JSON-serialised).

/** Parent → child. */
export type ToPeers =
  | { type: 'start'; opts: BenchOpts; plan: BenchPlan; startedMs: number; deadlineMs: number }
  | { type: 'contower'; peerId: string; multiaddr: string; pipePeerId: string; pipeMultiaddr: string }
  | ({ type: 'usage'; id: number } & RelayUsage)
  | { type: 'stop' }

/** Child → parent. */
export type FromPeers =
  | { type: 'upstreams'; multiaddrs: string[]; blockBytes: number }
  | { type: 'usage?'; id: number }
  | { type: 'result'; result: RoundsResult }
  | { type: 'failed'; error: string }
