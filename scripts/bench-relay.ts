// Benchmark: BlocksByRange of realistic blocks fetched by a requester (a) directly from an upstream peer, (b) through
// Contower with a cache miss, (c) through Contower from its cache, (d) through a bare libp2p pipe on Contower's stack
// (scripts/lib/barePipe.ts: the floor, the hop alone). One run, interleaved rounds, ratios to (a).
//
//   npx tsx scripts/bench-relay.ts [--in-process] [--iterations 30] [--warmup 3] [--upstreams 8] [--blocks 64]
//                                  [--max-seconds 150] [--link-mbit 0] [--transport tcp|quic] [--block-root-worker]
//   (or BENCH_IN_PROCESS=1, BENCH_ITERATIONS, BENCH_WARMUP, BENCH_UPSTREAMS, BENCH_BLOCKS, BENCH_MAX_SECONDS,
//    BENCH_LINK_MBIT, BENCH_TRANSPORT)
// --transport quic runs every hop of every variant over QUIC (requester, Contower, the pipe, the upstreams) instead of
// TCP + noise + a muxer; the hosts listen on both, as Contower does by default.
//
// Everything runs on 127.0.0.1: a devnet chain, simulated upstream peers enforcing Lodestar's quota (over it, the
// requester is banned), one Contower node dialling them as static peers, and a requester. By default Contower runs
// (with the pipe) in this process, tuned as the daemon is (src/gcTuning.ts), and the upstreams and the requester in a
// child process (scripts/lib/benchPeers.ts), which times its own fetches and sends the figures here: Contower's work
// can overlap the transfer, as on a machine of its own, while the direct baseline stays as it was (upstream and
// requester in one event loop). Two processes for two
// CPUs; Contower in this one so that its metrics and cache are read directly and --cpu-prof profiles it alone.
// With --in-process every party shares this process, so a relayed fetch also pays Contower's CPU in series.
// Pacing keeps every requester (the benchmark's own and Contower) under each upstream's quota, and keeps Contower's
// upstream self-limit from ever queueing a request, so a cold fetch differs from a direct one by the relay hop only.
// --link-mbit N (two processes, Linux, root) moves the two processes into network namespaces of their own and limits
// every path a fetch takes to N Mbit/s (scripts/lib/benchLinks.ts): machines with NICs of that speed instead of
// loopback's unbounded one, where CPU is the only cost. 0 (the default) keeps everything on 127.0.0.1.
// --block-root-worker hashes block roots on the build's worker thread (dist/bundle/blockRootWorker.js, `npm run
// build` first), as the daemon does; from sources, by default, Contower hashes them on its event loop.
// Profile Contower alone: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx scripts/bench-relay.ts
import '../src/setup.js'
// --fleet: the fleet-hit benchmark (scripts/bench-fleet.ts) instead.
if (process.argv.includes('--fleet')) {
  process.argv.splice(process.argv.indexOf('--fleet'), 1)
  await import('./bench-fleet.js')
  process.exit(0)
}
import { tuneGc } from '../src/gcTuning.js'
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import { createLogger } from '../src/logger.js'
import type { ContowerNode } from '../src/node.js'
import {
  addressOn,
  BENCH_TRANSPORTS,
  type BenchTransport,
  benchNetwork,
  benchPlan,
  BY_RANGE,
  type FromPeers,
  measureRounds,
  QUOTA,
  type RoundsResult,
  type Sample,
  SETTLE_MS,
  startUpstreams,
  type ToPeers,
  type Variant,
  ORDERS,
  VARIANTS,
} from './lib/benchRounds.js'
import { type BarePipe, startBarePipe } from './lib/barePipe.js'
import { type BenchLinks, createBenchLinks, inNamespace, PEERS_ADDRESS, RELAY_ADDRESS } from './lib/benchLinks.js'
import { startContower } from './lib/devnet.js'
import { percentile } from './lib/stats.js'
import { formatTable } from './lib/table.js'

const LABELS: Record<Variant, string> = {
  direct: '(a) direct from upstream',
  cold: '(b) via Contower, cold',
  cached: '(c) via Contower, cached',
  pipe: '(d) via a bare libp2p pipe',
}
/** How long the child may take to stop its hosts and exit once told to, before it is killed. */
const CHILD_STOP_MS = 10_000
/** Hard bound beyond --max-seconds, should a stop hang: the run never outlives max-seconds + this. */
const HARD_EXTRA_SECONDS = 20

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

/** `--transport` (or BENCH_TRANSPORT): tcp (the default) or quic. */
function transportOption(): BenchTransport {
  const argv = process.argv.slice(2)
  const i = argv.findIndex((a) => a === '--transport' || a.startsWith('--transport='))
  const text = i < 0 ? process.env.BENCH_TRANSPORT : argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1]
  if (text === undefined) return 'tcp'
  if (!(BENCH_TRANSPORTS as readonly string[]).includes(text)) {
    throw new RangeError(`--transport (BENCH_TRANSPORT) must be one of ${BENCH_TRANSPORTS.join(', ')}: ${text}`)
  }
  return text as BenchTransport
}

// Contower's process runs with the daemon's GC setting (bin/contower.js); the peers child keeps V8's defaults.
const gcFlag = tuneGc()
if (process.argv.slice(2).includes('--columns')) {
  // The column variant (scripts/lib/benchColumns.ts): direct from a supernode vs split over custodians by Contower.
  const { COLUMN_BENCH_DEFAULTS, runColumnBench } = await import('./lib/benchColumns.js')
  const columnOpts = {
    ...COLUMN_BENCH_DEFAULTS,
    iterations: option('iterations', 'BENCH_ITERATIONS', COLUMN_BENCH_DEFAULTS.iterations, 1, 1000),
    warmup: option('warmup', 'BENCH_WARMUP', COLUMN_BENCH_DEFAULTS.warmup, 0, 100),
    slots: option('slots', 'BENCH_SLOTS', COLUMN_BENCH_DEFAULTS.slots, 1, 128),
  }
  console.log(`bench-relay --columns (${gcFlag ?? 'default GC'}), node ${process.version}, ${cpus().length} CPUs`)
  process.exit(await runColumnBench(columnOpts, (msg) => console.log(msg)))
}
const inProcess = process.argv.slice(2).includes('--in-process') || process.env.BENCH_IN_PROCESS === '1'
const opts = {
  transport: transportOption(),
  iterations: option('iterations', 'BENCH_ITERATIONS', 30, 1, 1000),
  warmup: option('warmup', 'BENCH_WARMUP', 3, 0, 100),
  upstreams: option('upstreams', 'BENCH_UPSTREAMS', 8, 1, 64),
  blocks: option('blocks', 'BENCH_BLOCKS', 64, 1, QUOTA.tokens),
  maxSeconds: option('max-seconds', 'BENCH_MAX_SECONDS', 150, 30, 3600),
}
/** The build's worker file when --block-root-worker is given (it must be built); null: roots hashed on the loop. */
const blockRootWorker = ((): URL | null => {
  if (!process.argv.slice(2).includes('--block-root-worker')) return null
  const url = new URL('../dist/bundle/blockRootWorker.js', import.meta.url)
  if (!existsSync(url))
    throw new RangeError(`--block-root-worker needs the build: run npm run build (no ${url.pathname})`)
  return url
})()
const linkMbit = option('link-mbit', 'BENCH_LINK_MBIT', 0, 0, 100_000)
/** Set (by the outer process) when this one runs inside the relay namespace of shaped links. */
const links = process.env.BENCH_LINKS ? (JSON.parse(process.env.BENCH_LINKS) as Omit<BenchLinks, 'destroy'>) : null
if (linkMbit > 0 && inProcess) throw new RangeError('--link-mbit needs the two-process mode (not --in-process)')
if (linkMbit > 0 && linkMbit < 10) throw new RangeError(`--link-mbit must be 0 (off) or from 10: ${linkMbit}`)
if (linkMbit > 0 && links === null) process.exit(await runInsideLinks(linkMbit))

const startedMs = Date.now()
const deadlineMs = startedMs + opts.maxSeconds * 1000
let child: ChildProcess | null = null
/** Kills the child (by its pid) unless it has exited. */
function killChild(): void {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}
process.on('exit', killChild)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChild()
    process.exit(130)
  })
}
// Last resort if a stop hangs: the benchmark never outlives its bound by much.
setTimeout(
  () => {
    console.error(`bench-relay: still running ${opts.maxSeconds + HARD_EXTRA_SECONDS} s after start, exiting`)
    killChild()
    process.exit(2)
  },
  (opts.maxSeconds + HARD_EXTRA_SECONDS) * 1000,
).unref()

const logger = createLogger({ level: 'silent', format: 'json' })
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const log = (msg: string) => console.log(`[${((Date.now() - startedMs) / 1000).toFixed(1).padStart(5)} s] ${msg}`)

/** Where Contower and the pipe listen, and where the upstreams and the requester do. */
const [relayAddress, peersAddress] = links ? [RELAY_ADDRESS, PEERS_ADDRESS] : ['127.0.0.1', '127.0.0.1']
const plan = benchPlan(opts, startedMs, peersAddress)
const network = benchNetwork(plan)
const contowerFlags = (upstreamAddrs: string[]) => ({
  'static-peers': upstreamAddrs.join(','),
  'listen-address': relayAddress,
  // The benchmark's requester asks far more than a Lodestar quota of Contower; upstream quotas still apply.
  'rate-limits': `${BY_RANGE.name}:100000/10`,
  // Every response fetched stays cached (≈6.5 MB each).
  'cache-max-bytes': String(2 * 1024 ** 3),
})
const contowerOverrides = { blockRoots: { workerFile: blockRootWorker } }

const stops: Array<() => Promise<void>> = []
let exitCode = 0
/** The bare pipe, started next to Contower (in this process) once the upstreams are up. */
let pipe: BarePipe | null = null

/** The floor variant's hop, in this process; stopped with everything else. */
async function startPipe(upstreamAddrs: string[]): Promise<BarePipe> {
  const started = await startBarePipe(upstreamAddrs, opts.blocks, relayAddress, opts.transport)
  stops.unshift(started.stop)
  return started
}
try {
  log(
    inProcess
      ? `mode: in-process (pid ${process.pid} hosts the upstreams, Contower and the requester)`
      : `mode: two processes (pid ${process.pid} hosts Contower alone; a child the upstreams and the requester)`,
  )
  const { result, node } = inProcess ? await runInProcess() : await runTwoProcesses()
  // Let the last response's by-root indexing (setImmediate) finish before reading the node's figures.
  await sleep(50)
  await report(result, node)
} catch (e) {
  console.error('bench-relay failed:', e)
  exitCode = 1
} finally {
  for (const stop of stops) await stop().catch((e) => console.error('stop failed:', e))
  log(`stopped every host`)
}
process.exit(exitCode)

/** Waits until Contower has handshaken with every upstream (given by multiaddrs ending in /p2p/<peer id>). */
async function waitForHandshakes(node: ContowerNode, upstreamAddrs: string[]): Promise<void> {
  const ids = upstreamAddrs.map((a) => {
    const id = a.split('/p2p/')[1]
    if (!id) throw new Error(`upstream address without a peer id: ${a}`)
    return peerIdFromString(id)
  })
  const until = Date.now() + 20_000
  while (!ids.every((id) => node.peerStore.get(id)?.handshaken === true)) {
    if (Date.now() > until) throw new Error('timed out waiting for Contower to handshake with every upstream')
    await sleep(50)
  }
}

/** Every party in this process. */
async function runInProcess(): Promise<{ result: RoundsResult; node: ContowerNode }> {
  const upstreams = await startUpstreams(opts, plan, logger, log, stops)
  const upstreamAddrs = upstreams.peers.map((u) => addressOn(u.libp2p.getMultiaddrs(), opts.transport).toString())
  const contower = await startContower(upstreams.network, logger, contowerFlags(upstreamAddrs), contowerOverrides)
  stops.unshift(contower.stop)
  const { node } = contower
  await waitForHandshakes(node, upstreamAddrs)
  pipe = await startPipe(upstreamAddrs)
  log(
    `${opts.upstreams} upstreams, Contower, the bare pipe and the requester up; ${upstreams.blockBytes} B blocks, ` +
      `${opts.blocks} per request`,
  )
  const result = await measureRounds({
    opts,
    plan,
    upstreams,
    relay: { peerId: node.libp2p.peerId, multiaddr: addressOn(node.listenAddresses, opts.transport), usage: null },
    pipe: { peerId: pipe.peerId, multiaddr: multiaddr(pipe.multiaddr) },
    logger,
    log,
    deadlineMs,
    stops,
  })
  return { result, node }
}

/** Node options for the child: this process's loader (tsx), without profiling or inspector flags meant for us. */
function childExecArgv(): string[] {
  const out: string[] = []
  const argv = process.execArgv
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (/^--(cpu-prof|heap-prof|prof|inspect)/.test(a)) {
      // A value given as the next argument (--cpu-prof-dir /tmp/x) goes too.
      if (/^--(cpu-prof-(dir|name|interval)|heap-prof-(dir|name|interval))$/.test(a)) i++
      continue
    }
    out.push(a)
  }
  if (!out.some((a) => a.includes('tsx'))) out.push('--import', import.meta.resolve('tsx'))
  return out
}

/**
 * The outer process of --link-mbit: makes the namespaces and links, runs this script again inside the relay namespace
 * (its peers child goes into the peers namespace), and removes them when that run ends, fails or is interrupted.
 */
async function runInsideLinks(mbit: number): Promise<number> {
  const made = createBenchLinks(mbit)
  process.on('exit', made.destroy)
  const script = fileURLToPath(import.meta.url)
  const inner = spawn(
    ...inNamespace(made.relayNs, process.execPath, [...process.execArgv, script, ...process.argv.slice(2)]),
    {
      stdio: 'inherit',
      env: { ...process.env, BENCH_LINKS: JSON.stringify({ peersNs: made.peersNs, relayNs: made.relayNs, mbit }) },
    },
  )
  const kill = (signal: NodeJS.Signals) => {
    if (inner.pid === undefined || inner.exitCode !== null || inner.signalCode !== null) return
    try {
      process.kill(inner.pid, signal)
    } catch {
      // already gone
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => kill('SIGTERM'))
  // The inner run bounds itself; this is the last resort should it hang.
  const hardStop = setTimeout(() => kill('SIGKILL'), (opts.maxSeconds + HARD_EXTRA_SECONDS + 10) * 1000)
  try {
    return await new Promise<number>((resolve) => {
      inner.once('exit', (code) => resolve(code ?? 1))
      inner.once('error', (e) => {
        console.error('bench-relay: could not start inside the links:', e)
        resolve(1)
      })
    })
  } finally {
    clearTimeout(hardStop)
    made.destroy()
  }
}

/** Contower alone here; the upstreams and the requester in a child that times its fetches and reports back. */
async function runTwoProcesses(): Promise<{ result: RoundsResult; node: ContowerNode }> {
  const peersScript = fileURLToPath(new URL('./lib/benchPeers.ts', import.meta.url))
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc']
  // With shaped links the child runs in the peers namespace; `ip netns exec` execs node, which keeps the IPC channel.
  const proc = links
    ? spawn(...inNamespace(links.peersNs, process.execPath, [...childExecArgv(), peersScript]), { stdio })
    : fork(peersScript, [], { execArgv: childExecArgv(), stdio })
  child = proc
  const send = (msg: ToPeers) => proc.connected && proc.send(msg)
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  stops.push(async () => {
    // The child stops its own hosts; killed (by pid) if it has not exited in time.
    send({ type: 'stop' })
    const timer = setTimeout(killChild, CHILD_STOP_MS)
    await exited
    clearTimeout(timer)
    if (proc.exitCode !== 0) console.error(`bench-relay: peers child exited with ${proc.exitCode ?? proc.signalCode}`)
  })

  // Messages from the child: a question for Contower's CPU figures is answered at once; the rest wake their waiter.
  const waiting = new Map<string, { resolve: (m: FromPeers) => void; reject: (e: Error) => void }>()
  const received: FromPeers[] = []
  let failure: Error | null = null
  const fail = (e: Error) => {
    failure ??= e
    for (const w of waiting.values()) w.reject(failure)
    waiting.clear()
  }
  proc.on('message', (msg: FromPeers) => {
    if (msg.type === 'usage?') {
      const cpu = process.cpuUsage()
      send({
        type: 'usage',
        id: msg.id,
        activeMs: performance.eventLoopUtilization().active,
        cpuMs: (cpu.user + cpu.system) / 1000,
      })
    } else if (msg.type === 'failed') {
      fail(new Error(`peers child failed: ${msg.error}`))
    } else {
      const w = waiting.get(msg.type)
      if (w) {
        waiting.delete(msg.type)
        w.resolve(msg)
      } else received.push(msg)
    }
  })
  proc.once('exit', (code, signal) => fail(new Error(`peers child exited early (${code ?? signal})`)))
  proc.once('error', (e) => fail(e))
  /** The child's next message of `type`; rejects if the child fails or exits, or when `untilMs` passes. */
  const next = <T extends FromPeers['type']>(type: T, untilMs: number): Promise<Extract<FromPeers, { type: T }>> => {
    if (failure) return Promise.reject(failure)
    const i = received.findIndex((m) => m.type === type)
    if (i >= 0) return Promise.resolve(received.splice(i, 1)[0] as Extract<FromPeers, { type: T }>)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(type)
        reject(new Error(`peers child sent no '${type}' in time`))
      }, untilMs - Date.now())
      const settle = (f: () => void) => {
        clearTimeout(timer)
        f()
      }
      waiting.set(type, {
        resolve: (m) => settle(() => resolve(m as Extract<FromPeers, { type: T }>)),
        reject: (e) => settle(() => reject(e)),
      })
    })
  }

  send({ type: 'start', opts, plan, startedMs, deadlineMs })
  const { multiaddrs, blockBytes } = await next('upstreams', Date.now() + 60_000)
  const contower = await startContower(network, logger, contowerFlags(multiaddrs), contowerOverrides)
  stops.unshift(contower.stop)
  const { node } = contower
  await waitForHandshakes(node, multiaddrs)
  const started = await startPipe(multiaddrs)
  pipe = started
  log(
    `Contower (pid ${process.pid}) handshaken with ${opts.upstreams} upstreams in the peers child (pid ${proc.pid}); ` +
      `${blockBytes} B blocks, ${opts.blocks} per request`,
  )
  send({
    type: 'contower',
    peerId: node.libp2p.peerId.toString(),
    multiaddr: addressOn(node.listenAddresses, opts.transport).toString(),
    pipePeerId: started.peerId.toString(),
    pipeMultiaddr: started.multiaddr,
  })
  // The child stops its rounds SHUTDOWN_RESERVE_MS before the deadline; the deadline itself is the last word.
  const { result } = await next('result', deadlineMs)
  return { result, node }
}

async function report(result: RoundsResult, node: ContowerNode): Promise<void> {
  const { samples, roundsDone, quotaExceeded, mismatches, unattributed } = result
  const queueWaits = await metricValue(node.registry, 'contower_relay_queue_wait_seconds', '_count')
  const upstreamErrors = await metricValue(node.registry, 'contower_relay_upstream_errors_total')
  const failovers = await metricValue(node.registry, 'contower_relay_failovers_total')
  const cacheStats = node.relayCache.stats

  const measured = samples.direct.length
  console.log('')
  console.log(
    `BlocksByRange v2, ${opts.blocks} blocks × ${(result.blockBytes / 1000).toFixed(1)} kB ` +
      `(${((samples.direct[0]?.bytes ?? 0) / 1e6).toFixed(2)} MB on the wire per response), ` +
      `${measured} measured rounds (+${Math.min(opts.warmup, roundsDone)} warm-up), ${opts.upstreams} upstreams, ` +
      `variants interleaved (all ${ORDERS.length} orders in turn); ${result.loopSeconds.toFixed(1)} s of rounds, ` +
      `${(result.pacedMs / 1000).toFixed(1)} s of it paced`,
  )
  const machine = `Node ${process.version}, ${cpus().length} CPUs (load average ${loadavg()[0].toFixed(1)})`
  console.log(
    inProcess
      ? `mode: IN-PROCESS: one process on ${machine} hosts every peer: a fetch's latency includes the ` +
          `CPU of every party on its path (upstream, Contower, requester), run one after another`
      : `mode: TWO PROCESSES on ${machine}: Contower alone in one, the upstreams and the requester in the other ` +
          `(which times its fetches): Contower's work can overlap the transfer, as on a machine of its own`,
  )
  console.log(
    gcFlag === null
      ? `GC: as given on the node command line, in every process (the peers child gets the same node flags)`
      : `GC: ${gcFlag} in ${inProcess ? 'the' : "Contower's"} process, as the daemon runs` +
          (inProcess ? ' (so every party here has it)' : '; V8 defaults in the peers child'),
  )
  console.log(
    opts.transport === 'quic'
      ? `transport: QUIC on every hop (TLS 1.3 and stream multiplexing in @chainsafe/libp2p-quic's native code)`
      : `transport: TCP + noise + mplex on every hop (the simulated peers speak mplex only, as Lodestar does)`,
  )
  console.log(
    blockRootWorker
      ? `block roots: hashed on a worker thread (${blockRootWorker.pathname}), as the daemon does`
      : `block roots: hashed on Contower's event loop (run from sources; --block-root-worker for the build's worker)`,
  )
  console.log(
    links
      ? `links: ${links.mbit} Mbit/s (tbf) on every path, the two processes in network namespaces of their own: a ` +
          `direct fetch crosses one link, a fetch through Contower or the pipe two`
      : `links: loopback (127.0.0.1, unshaped): CPU is the only cost of a hop`,
  )
  const stats = summarize(samples)
  printTable(stats, !inProcess)
  console.log('')
  const coldRatio = stats.cold.p50 / stats.direct.p50
  const cachedRatio = stats.cached.p50 / stats.direct.p50
  const pipeRatio = stats.pipe.p50 / stats.direct.p50
  console.log(
    `target (p50): cold ≤ 1.2× direct: ${coldRatio <= 1.2 ? 'met' : 'MISSED'} (${coldRatio.toFixed(2)}×); ` +
      `cached ≤ 0.5× direct: ${cachedRatio <= 0.5 ? 'met' : 'MISSED'} (${cachedRatio.toFixed(2)}×)`,
  )
  console.log(
    `floor: the bare pipe (the same libp2p hop, nothing decoded or checked) is ${pipeRatio.toFixed(2)}× direct; ` +
      `Contower cold is ${(stats.cold.p50 / stats.pipe.p50).toFixed(2)}× the pipe, ` +
      `${(stats.cold.p50 - stats.pipe.p50).toFixed(1)} ms (p50) of its own work on the path`,
  )
  console.log(
    `checks: upstream quotaExceeded per upstream [${quotaExceeded.join(', ')}]; Contower queue waits ${queueWaits}, ` +
      `upstream errors ${upstreamErrors}, failovers ${failovers}; cache hits ${cacheStats.hits} misses ` +
      `${cacheStats.misses}; pipe requests refused ${pipe?.refused ?? NaN}; byte mismatches ${mismatches}; ` +
      `cold or piped fetches not attributed to an upstream ${unattributed}`,
  )
  if (result.stoppedEarly)
    console.log(`stopped early: ${roundsDone} of ${plan.rounds} rounds fit in --max-seconds ${opts.maxSeconds}`)
  if (measured < 2) console.log('p99 note: fewer than 2 samples')
  else if (measured < 100) console.log(`p99 note: with ${measured} samples, p99 is the slowest one (nearest rank)`)
  const invalid =
    quotaExceeded.some((n) => n > 0) ||
    queueWaits > 0 ||
    upstreamErrors > 0 ||
    failovers > 0 ||
    mismatches > 0 ||
    (pipe?.refused ?? 0) > 0
  if (invalid) {
    console.log(
      'INVALID RUN: a quota was exceeded, Contower queued, failed or failed over upstream calls, the pipe refused ' +
        'a request, or bytes differed',
    )
    exitCode = 1
  }
}

interface Stats {
  p50: number
  p99: number
  ttfb: number
  mbps: number
  busy: number
  cpu: number
  relayCpu: number
  relayBusy: number
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
    cpu: of(v, (s) => s.cpuMs),
    relayCpu: of(v, (s) => s.relayCpuMs),
    relayBusy: of(v, (s) => s.relayBusyMs),
  })
  return { direct: stats('direct'), cold: stats('cold'), cached: stats('cached'), pipe: stats('pipe') }
}

function printTable(stats: Record<Variant, Stats>, relayColumn: boolean): void {
  const direct = stats.direct
  const header = ['variant', 'p50 ms', 'p99 ms', 'p50 TTFB ms', 'MB/s (p50)', 'p50 busy ms', 'p50 CPU ms']
  if (relayColumn) header.push('p50 Contower CPU ms', 'p50 Contower loop ms')
  header.push('p50 ÷ direct', 'p99 ÷ direct', 'busy ÷ direct')
  const rows = VARIANTS.map((v) => {
    const s = stats[v]
    const row = [LABELS[v], s.p50.toFixed(1), s.p99.toFixed(1), s.ttfb.toFixed(1), s.mbps.toFixed(1)]
    row.push(s.busy.toFixed(1), s.cpu.toFixed(1))
    if (relayColumn) row.push(s.relayCpu.toFixed(1), s.relayBusy.toFixed(1))
    row.push(
      `${(s.p50 / direct.p50).toFixed(2)}×`,
      `${(s.p99 / direct.p99).toFixed(2)}×`,
      `${(s.busy / direct.busy).toFixed(2)}×`,
    )
    return row
  })
  for (const line of formatTable(header, rows)) console.log(line)
  console.log(
    `busy = event-loop active time (main threads) and CPU = CPU time (user + system, every thread, GC helpers too), ` +
      `from the request until ${SETTLE_MS} ms after its last chunk: what all parties spent on it, including work ` +
      `left behind` +
      (relayColumn
        ? `; summed over both processes, Contower's CPU also on its own, and its loop (the forwarding thread: ` +
          `work on the block-root worker is not in it)`
        : ''),
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
