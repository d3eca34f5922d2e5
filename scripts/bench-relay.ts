// Benchmark: BlocksByRange of realistic blocks fetched by a requester (a) directly from an upstream peer, (b) through
// Contower with a cache miss, (c) through Contower from its cache. One run, interleaved rounds, ratios to (a).
//
//   npx tsx scripts/bench-relay.ts [--iterations 30] [--warmup 3] [--upstreams 8] [--blocks 64] [--max-seconds 170]
//   (or BENCH_ITERATIONS, BENCH_WARMUP, BENCH_UPSTREAMS, BENCH_BLOCKS, BENCH_MAX_SECONDS)
//
// Everything runs in this process on 127.0.0.1: a devnet chain, simulated upstream peers enforcing Lodestar's
// quota (over it, the requester is banned), one Contower node dialling them as static peers, and a requester.
// Pacing keeps every requester (the benchmark's own and Contower) under each upstream's quota, and keeps Contower's
// upstream self-limit from ever queueing a request, so a cold fetch differs from a direct one by the relay hop only.
import '../src/setup.js'
import { cpus, loadavg } from 'node:os'
import type { PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import type { SimulatedPeer } from '../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { LODESTAR_QUOTAS, TokenBucket, UPSTREAM_LIMITER_DEFAULTS } from '../src/limits/index.js'
import { createLogger } from '../src/logger.js'
import { ReqRespClient } from '../src/reqresp/client.js'
import { getProtocol } from '../src/reqresp/protocols.js'
import { ResponseTypes } from '../src/reqresp/responseTypes.js'
import { startContower, startSimulatedPeer } from './lib/devnet.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
/** What each upstream enforces per requester (Lodestar: 128 blocks per 10 s, a ban beyond). */
const QUOTA = LODESTAR_QUOTAS[BY_RANGE.name]
/** Our model of the direct requester's buckets refills at this share of the upstream's rate (arrival jitter). */
const DIRECT_PACE = 0.8
/** Our model of Contower's upstream buckets refills slower than Contower's own, so it never reports "ready" early. */
const CONTOWER_PACE = UPSTREAM_LIMITER_DEFAULTS.safetyFactor * 0.9
/** 12 s slots (mainnet's): the upstreams build a new head block rarely while we measure. */
const SLOT_SECONDS = 12
/** Time reserved after the measuring loop for the summary and stopping every host. */
const SHUTDOWN_RESERVE_MS = 10_000

type Variant = 'direct' | 'cold' | 'cached'
const VARIANTS: Variant[] = ['direct', 'cold', 'cached']
/** Every order of the three: each variant runs first, second and third, and after each other one, equally often. */
const ORDERS: Variant[][] = VARIANTS.flatMap((a) =>
  VARIANTS.filter((b) => b !== a).map((b) => [a, b, VARIANTS.find((c) => c !== a && c !== b)!]),
)
/**
 * Idle time after each fetch, outside its latency: work a fetch left behind (Contower indexes a response's blocks by
 * root in a setImmediate) finishes here instead of inside the next fetch, and is still counted in that fetch's busy time.
 */
const SETTLE_MS = 20
const LABELS: Record<Variant, string> = {
  direct: '(a) direct from upstream',
  cold: '(b) via Contower, cold',
  cached: '(c) via Contower, cached',
}

interface Sample {
  /** Request sent → last chunk received. */
  ms: number
  /** Request sent → first chunk received. */
  ttfbMs: number
  /** Event-loop active time from the request until SETTLE_MS after it: the CPU all parties spent on it. */
  busyMs: number
  bytes: number
  raws: Uint8Array[]
}

function option(name: string, env: string, fallback: number, min: number, max: number): number {
  const argv = process.argv.slice(2)
  let text: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) text = argv[i + 1]
    else if (argv[i].startsWith(`--${name}=`)) text = argv[i].slice(name.length + 3)
  }
  text ??= process.env[env]
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`--${name} (${env}) must be an integer from ${min} to ${max}: ${text}`)
  }
  return value
}

const opts = {
  iterations: option('iterations', 'BENCH_ITERATIONS', 30, 1, 1000),
  warmup: option('warmup', 'BENCH_WARMUP', 3, 0, 100),
  upstreams: option('upstreams', 'BENCH_UPSTREAMS', 8, 1, 64),
  blocks: option('blocks', 'BENCH_BLOCKS', 64, 1, QUOTA.tokens),
  maxSeconds: option('max-seconds', 'BENCH_MAX_SECONDS', 170, 30, 3600),
}

const startedMs = Date.now()
const deadlineMs = startedMs + opts.maxSeconds * 1000
// Last resort if a stop hangs: the benchmark never outlives its bound by much.
setTimeout(
  () => {
    console.error(`bench-relay: still running ${opts.maxSeconds + 30} s after start, exiting`)
    process.exit(2)
  },
  (opts.maxSeconds + 30) * 1000,
).unref()

const logger = createLogger({ level: 'silent', format: 'json' })
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const log = (msg: string) => console.log(`[${((Date.now() - startedMs) / 1000).toFixed(1).padStart(5)} s] ${msg}`)

// Rounds: warm-up + measured, plus one range fetched through Contower first so round 0 has a cached range to ask.
const rounds = opts.warmup + opts.iterations
const firstSlot = opts.blocks // leave genesis out: every range is a full one
const rangeStart = (round: number) => firstSlot + (round + 1) * opts.blocks // round -1 = the seed range
const historySlots = rangeStart(rounds) + opts.blocks + 2
const network = devnetNetwork({
  genesisTime: Math.floor(Date.now() / 1000) - historySlots * SLOT_SECONDS,
  slotSeconds: SLOT_SECONDS,
})
const chain = new SyntheticChain({ network })

const stops: Array<() => Promise<void>> = []
let exitCode = 0
try {
  log(`building ${historySlots} blocks of the devnet chain (not timed)…`)
  await chain.prebuild(historySlots)
  const blockBytes = chain.blockAt(firstSlot)!.ssz.length

  const upstreams: SimulatedPeer[] = []
  for (let i = 0; i < opts.upstreams; i++) {
    const peer = await startSimulatedPeer(network, chain, logger)
    stops.push(() => peer.stop())
    upstreams.push(peer)
  }
  const contower = await startContower(network, logger, {
    'static-peers': upstreams.map((u) => u.multiaddr.toString()).join(','),
    // The benchmark's requester asks far more than a Lodestar quota of Contower; upstream quotas still apply.
    'rate-limits': `${BY_RANGE.name}:100000/10`,
    // Every response fetched stays cached (≈6.5 MB each).
    'cache-max-bytes': String(2 * 1024 ** 3),
  })
  stops.unshift(contower.stop)
  const { node } = contower
  const requester = await startSimulatedPeer(network, chain, logger, { serveBlocks: false })
  stops.unshift(() => requester.stop())

  await waitFor('Contower handshaken with every upstream', 20_000, () =>
    upstreams.every((u) => node.peerStore.get(u.peerId)?.handshaken === true),
  )
  await requester.libp2p.dial(node.listenAddresses[0])
  for (const u of upstreams) await requester.libp2p.dial(u.multiaddr)
  log(`${opts.upstreams} upstreams, Contower and the requester up; ${blockBytes} B blocks, ${opts.blocks} per request`)

  // The requester's client, built as SimulatedPeer.fetch's is, iterated here to time the first and last chunk.
  const client = new ReqRespClient({
    host: requester.libp2p,
    responseTypes: new ResponseTypes({ forkSchedule: requester.forkSchedule, clock: requester.clock }),
    metrics: null,
  })
  async function timedFetch(peer: PeerId, startSlot: number): Promise<Sample> {
    const request = BY_RANGE.request!.serialize({ startSlot, count: opts.blocks, step: 1 })
    const raws: Uint8Array[] = []
    let ttfbMs = 0
    let lastMs = 0
    const t0 = performance.now()
    for await (const chunk of client.request(peer, BY_RANGE, request, { maxChunks: opts.blocks })) {
      lastMs = performance.now() - t0
      if (raws.length === 0) ttfbMs = lastMs
      raws.push(chunk.raw)
    }
    if (raws.length !== opts.blocks) throw new Error(`range ${startSlot}: ${raws.length} of ${opts.blocks} blocks`)
    return { ms: lastMs, ttfbMs, busyMs: 0, bytes: raws.reduce((n, r) => n + r.length, 0), raws }
  }

  // Pacing models (GCRA buckets like the real ones, refilling slower): the requester's direct buckets at each upstream,
  // and Contower's self-limit buckets for each upstream (whichever upstream it chose is found from served counts).
  const model = (pace: number) => new TokenBucket({ tokens: QUOTA.tokens, seconds: QUOTA.seconds / pace })
  const directBuckets = upstreams.map(() => model(DIRECT_PACE))
  const contowerBuckets = upstreams.map(() => model(CONTOWER_PACE))
  const take = (bucket: TokenBucket) => bucket.reserve(opts.blocks, bucket.msUntil(opts.blocks)) // = take now, in debt if short
  const servedRequests = () => upstreams.map((u) => u.servedCount(BY_RANGE.name).requests)
  let unattributed = 0
  let nextDirect = 0

  async function coldFetch(startSlot: number): Promise<Sample> {
    const before = servedRequests()
    const sample = await timedFetch(node.libp2p.peerId, startSlot)
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
    for (const i of served) take(contowerBuckets[i])
    return sample
  }

  async function directFetch(startSlot: number): Promise<Sample> {
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
      Math.min(...directBuckets.map((b) => b.msUntil(opts.blocks))),
      Math.min(...contowerBuckets.map((b) => b.msUntil(opts.blocks))),
    )

  // The seed range: fetched through Contower once so round 0's cached fetch hits.
  let previousCold = await coldFetch(rangeStart(-1))
  const samples: Record<Variant, Sample[]> = { direct: [], cold: [], cached: [] }
  let mismatches = 0
  let pacedMs = 0
  let roundsDone = 0
  let stoppedEarly = false
  const loopStartMs = Date.now()
  for (let round = 0; round < rounds; round++) {
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
    const got = {} as Record<Variant, Sample>
    for (const variant of order) {
      const elu = performance.eventLoopUtilization()
      if (variant === 'direct') got.direct = await directFetch(startSlot)
      else if (variant === 'cold') got.cold = await coldFetch(startSlot)
      else got.cached = await timedFetch(node.libp2p.peerId, cachedSlot)
      await sleep(SETTLE_MS)
      got[variant].busyMs = performance.eventLoopUtilization(elu).active
    }
    // Outside the timed part: the relay must forward exactly what the upstream sent, and the cache what it stored.
    if (!sameBytes(got.cold.raws, got.direct.raws)) mismatches++
    if (!sameBytes(got.cached.raws, previousCold.raws)) mismatches++
    previousCold = got.cold
    if (round >= opts.warmup) for (const v of VARIANTS) samples[v].push({ ...got[v], raws: [] })
    roundsDone++
    if (roundsDone % 10 === 0) log(`${roundsDone}/${rounds} rounds`)
  }
  const loopSeconds = (Date.now() - loopStartMs) / 1000

  // Let the last response's by-root indexing (setImmediate) finish before reading the node's figures.
  await sleep(50)
  const quotaExceeded = upstreams.map((u) => u.stats.quotaExceeded)
  const queueWaits = await metricValue(node.registry, 'contower_relay_queue_wait_seconds', '_count')
  const upstreamErrors = await metricValue(node.registry, 'contower_relay_upstream_errors_total')
  const failovers = await metricValue(node.registry, 'contower_relay_failovers_total')
  const cacheStats = node.relayCache.stats

  const measured = samples.direct.length
  console.log('')
  console.log(
    `BlocksByRange v2, ${opts.blocks} blocks × ${(blockBytes / 1000).toFixed(1)} kB ` +
      `(${((samples.direct[0]?.bytes ?? 0) / 1e6).toFixed(2)} MB on the wire per response), ` +
      `${measured} measured rounds (+${Math.min(opts.warmup, roundsDone)} warm-up), ${opts.upstreams} upstreams, ` +
      `variants interleaved (all 6 orders in turn); ${loopSeconds.toFixed(1)} s of rounds, ${(pacedMs / 1000).toFixed(1)} s of it paced`,
  )
  console.log(
    `one Node ${process.version} process on ${cpus().length} CPUs (load average ${loadavg()[0].toFixed(1)}) hosts ` +
      `every peer: a fetch's latency includes the ` +
      `CPU of every party on its path (upstream, Contower, requester), run one after another`,
  )
  const stats = summarize(samples)
  printTable(stats)
  console.log('')
  const coldRatio = stats.cold.p50 / stats.direct.p50
  const cachedRatio = stats.cached.p50 / stats.direct.p50
  console.log(
    `target (p50): cold ≤ 1.2× direct: ${coldRatio <= 1.2 ? 'met' : 'MISSED'} (${coldRatio.toFixed(2)}×); ` +
      `cached ≤ 0.5× direct: ${cachedRatio <= 0.5 ? 'met' : 'MISSED'} (${cachedRatio.toFixed(2)}×)`,
  )
  console.log(
    `checks: upstream quotaExceeded per upstream [${quotaExceeded.join(', ')}]; Contower queue waits ${queueWaits}, ` +
      `upstream errors ${upstreamErrors}, failovers ${failovers}; cache hits ${cacheStats.hits} misses ` +
      `${cacheStats.misses}; byte mismatches ${mismatches}; cold fetches not attributed to an upstream ${unattributed}`,
  )
  if (stoppedEarly)
    console.log(`stopped early: ${roundsDone} of ${rounds} rounds fit in --max-seconds ${opts.maxSeconds}`)
  if (measured < 2) console.log('p99 note: fewer than 2 samples')
  else if (measured < 100) console.log(`p99 note: with ${measured} samples, p99 is the slowest one (nearest rank)`)
  const invalid = quotaExceeded.some((n) => n > 0) || queueWaits > 0 || upstreamErrors > 0 || mismatches > 0
  if (invalid) {
    console.log('INVALID RUN: a quota was exceeded, Contower queued or failed upstream calls, or bytes differed')
    exitCode = 1
  }
} catch (e) {
  console.error('bench-relay failed:', e)
  exitCode = 1
} finally {
  for (const stop of stops) await stop().catch((e) => console.error('stop failed:', e))
  log(`stopped every host`)
}
process.exit(exitCode)

async function waitFor(what: string, timeoutMs: number, ok: () => boolean): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`)
    await sleep(50)
  }
}

function sameBytes(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x).equals(b[i]))
}

/** Nearest-rank percentile of `values` (p in 0..1). */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]
}

interface Stats {
  p50: number
  p99: number
  ttfb: number
  mbps: number
  busy: number
}

/** Per variant: latency p50/p99, and the p50 of time to first chunk, throughput and busy time. */
function summarize(samples: Record<Variant, Sample[]>): Record<Variant, Stats> {
  const of = (v: Variant, f: (s: Sample) => number, p = 0.5) => percentile(samples[v].map(f), p)
  const stats = (v: Variant): Stats => ({
    p50: of(v, (s) => s.ms),
    p99: of(v, (s) => s.ms, 0.99),
    ttfb: of(v, (s) => s.ttfbMs),
    mbps: of(v, (s) => s.bytes / 1e6 / (s.ms / 1000)),
    busy: of(v, (s) => s.busyMs),
  })
  return { direct: stats('direct'), cold: stats('cold'), cached: stats('cached') }
}

function printTable(stats: Record<Variant, Stats>): void {
  const direct = stats.direct
  const header = ['variant', 'p50 ms', 'p99 ms', 'p50 TTFB ms', 'MB/s (p50)', 'p50 busy ms']
  header.push('p50 ÷ direct', 'p99 ÷ direct', 'busy ÷ direct')
  const rows = VARIANTS.map((v) => {
    const s = stats[v]
    return [
      LABELS[v],
      s.p50.toFixed(1),
      s.p99.toFixed(1),
      s.ttfb.toFixed(1),
      s.mbps.toFixed(1),
      s.busy.toFixed(1),
      `${(s.p50 / direct.p50).toFixed(2)}×`,
      `${(s.p99 / direct.p99).toFixed(2)}×`,
      `${(s.busy / direct.busy).toFixed(2)}×`,
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) console.log(line(r))
  console.log(
    `busy = event-loop active time from the request until ${SETTLE_MS} ms after its last chunk: ` +
      `the CPU all parties spent on it, including work left behind`,
  )
}

/** Sum of a metric's values (optionally only those whose name ends with `suffix`, e.g. a histogram's _count). */
async function metricValue(registry: Registry | null, name: string, suffix = ''): Promise<number> {
  const metric = registry?.getSingleMetric(name)
  if (!metric) return NaN
  // Histograms name each value (_bucket, _sum, _count); counters do not.
  const { values } = (await metric.get()) as { values: Array<{ value: number; metricName?: string }> }
  return values.filter((v) => suffix === '' || (v.metricName ?? name).endsWith(suffix)).reduce((n, v) => n + v.value, 0)
}
