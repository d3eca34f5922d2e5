// Benchmark: a well-behaved peer's BlocksByRange latency through Contower, alone and while 20 peers flood Contower
// at 10× Lodestar's quota. One run, both phases; prints p50, p90, p99 and max of each and the ratios loaded ÷ unloaded.
//
//   npm run bench:flood -- [--flooders 20] [--upstreams 8] [--samples 200] [--blocks 16] [--interval-ms 1500]
//                          [--upstream-processes 1]   (the upstreams dealt out to this many processes)
//                          [--semi-space MB]   (Contower's young-generation semi-space; default: the daemon's)
//   (npm run build first: Contower runs from the build's bundle)
//
// Everything runs on 127.0.0.1: a devnet chain (12 s slots); simulated upstream peers enforcing Lodestar's quota
// (128 blocks per 10 s per requester; over it the requester is banned) in a child process of their own (this script
// with --upstreams-child; or in --upstream-processes of them, each holding the whole chain), as remote upstreams
// would be; one Contower dialling them as static peers, run as the daemon
// runs (`node --max-semi-space-size=2 bin/contower.js start --network custom …`, read through its /metrics and
// /status.json); the well-behaved requester in another child (--requester-child) and the flooders in a third
// (--flooders-child), so that the heap and event loop measured are the daemon's. The well-behaved peer asks `blocks` new blocks every `interval-ms` (16 per 1.5 s: within Lodestar's
// quota), one request at a time, never a range it asked before.
// Each flooder asks for 64 blocks every 500 ms (128 blocks/s: 10× the quota), up to 8 requests open. Contower's
// inbound quota is raised to 10× Lodestar's so that the flood gets past the rate limiter and reaches the upstream
// queue, where only the fair queue and the per-requester bound stand between it and the well-behaved peer (with the
// default quota, Contower refuses and then disconnects the flooders, and the queue is never tested).
import '../src/setup.js'
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Network } from '../src/chain/resolveNetwork.js'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import { DAEMON_NODE_OPTIONS } from '../src/gcTuning.js'
import { loadOrCreateIdentity } from '../src/identity/identity.js'
import type { SimulatedPeer } from '../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { LODESTAR_QUOTAS } from '../src/spec/quotas.js'
import { createLogger } from '../src/logger.js'
import { CLIENT_DEFAULTS, ReqRespClient } from '../src/reqresp/client.js'
import { RequestError } from '../src/reqresp/errors.js'
import { getProtocol } from '../src/reqresp/protocols.js'
import { ResponseTypes } from '../src/reqresp/responseTypes.js'
import { RespCode } from '../src/wire/constants.js'
import { devnetDaemonArgs, freePort, sleep, startListening, stopAll, stopProcess } from './lib/daemon.js'
import { startSimulatedPeer } from './lib/devnet.js'
import { intOption as option } from './lib/intOption.js'
import { percentile, ratioInterval } from './lib/stats.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const QUOTA = LODESTAR_QUOTAS[BY_RANGE.name]
const SLOT_SECONDS = 12
const BLOCK_BYTES = 20_000
const FLOOD_BLOCKS = 64
const FLOOD_EVERY_MS = 500
const FLOOD_MAX_OPEN = 8
/** Slots the flooders ask from (random 64-block ranges), after the well-behaved peer's. */
const FLOOD_SLOTS = 640
/**
 * Requests the well-behaved peer makes at the start of each phase, at the same pace, without counting them: the first
 * request of a run was the slowest of its phase (paths not yet compiled), and with 100 samples the second slowest is
 * the p99.
 */
const WARMUP_REQUESTS = 5
/** The flood runs this long before the loaded phase is measured: queues fill, buckets empty. */
const FLOOD_WARMUP_MS = 5_000

interface Plan {
  genesisTime: number
  goodSlots: number
  historySlots: number
}

type ToChild =
  | { type: 'start'; plan: Plan; flooders: number; contower: string }
  | { type: 'serve'; plan: Plan; upstreams: number }
  | { type: 'connect'; plan: Plan; contower: string; contowerId: string }
  | { type: 'measure'; samples: number; blocks: number; intervalMs: number }
  | { type: 'cpu' }
  | { type: 'stop' }
type FromChild =
  | { type: 'flooding' }
  | { type: 'connected' }
  | { type: 'cpu'; seconds: number; loopMaxMs: number }
  | { type: 'measured'; ms: number[]; errors: number }
  | { type: 'counts'; sent: number; served: number; refused: number; otherErrors: number; maxOpen: number }
  | { type: 'serving'; addresses: string[]; peerIds: string[] }
  | { type: 'quota'; exceeded: number }

const logger = createLogger({ level: 'silent', format: 'json' })
const networkOf = (plan: Plan): Network => devnetNetwork({ genesisTime: plan.genesisTime, slotSeconds: SLOT_SECONDS })

/** This process's CPU time (user and system) in seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/**
 * Set-up common to the children: run only by bench-flood, gone with it, and telling it, when asked, their CPU time
 * and their longest event-loop delay since the last ask (a harness process that stalls delays the well-behaved
 * peer's requests as surely as Contower does).
 */
function asChild(role: string): (msg: FromChild) => void {
  const send = process.send?.bind(process)
  if (!send) {
    console.error(`bench-flood: ${role} is run by bench-flood itself`)
    process.exit(2)
  }
  process.on('disconnect', () => process.exit(3))
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  process.on('message', (m: ToChild) => {
    if (m.type !== 'cpu') return
    send({ type: 'cpu', seconds: cpuSeconds(), loopMaxMs: loop.max / 1e6 })
    loop.reset()
  })
  return (msg) => send(msg)
}

/** A child's next message of a type from bench-flood (other messages pass by). */
function fromParent<T extends ToChild['type']>(type: T): Promise<Extract<ToChild, { type: T }>> {
  return new Promise((resolve) => {
    const listener = (m: ToChild) => {
      if (m.type !== type) return
      process.off('message', listener)
      resolve(m as Extract<ToChild, { type: T }>)
    }
    process.on('message', listener)
  })
}

/**
 * This script again as a child process in `role`, with a way to wait for its next message of a type; a wait fails
 * when the child exits first, so that the run ends instead of hanging.
 */
function child(role: '--flooders-child' | '--upstreams-child' | '--requester-child') {
  const proc = fork(fileURLToPath(import.meta.url), [role], { stdio: 'inherit' })
  const waiting = new Map<string, { resolve: (msg: FromChild) => void; reject: (e: Error) => void }>()
  proc.on('message', (msg: FromChild) => waiting.get(msg.type)?.resolve(msg))
  proc.on('exit', (code) => {
    for (const [type, wait] of waiting) wait.reject(new Error(`${role} exited (${code}) before sending ${type}`))
  })
  const next = <T extends FromChild['type']>(type: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve, reject) =>
      waiting.set(type, { resolve: (m) => resolve(m as Extract<FromChild, { type: T }>), reject }),
    )
  return { proc, next, send: (msg: ToChild) => proc.send(msg) }
}

async function main(): Promise<void> {
  const flooders = option('flooders', 20, 0, 200)
  const upstreamCount = option('upstreams', 8, 1, 64)
  const upstreamProcesses = option('upstream-processes', 1, 1, upstreamCount)
  const samples = option('samples', 200, 5, 1000)
  const blocks = option('blocks', 16, 1, 128)
  const intervalMs = option('interval-ms', 1500, 0, 60_000)
  const nodeOptions = process.argv.includes('--semi-space')
    ? [`--max-semi-space-size=${option('semi-space', 2, 1, 64)}`]
    : DAEMON_NODE_OPTIONS
  const goodSlots = 2 * (WARMUP_REQUESTS + samples) * blocks + blocks
  const historySlots = goodSlots + FLOOD_SLOTS + FLOOD_BLOCKS + 2
  const plan: Plan = {
    genesisTime: Math.floor(Date.now() / 1000) - historySlots * SLOT_SECONDS,
    goodSlots,
    historySlots,
  }
  const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`)
  const flooding = child('--flooders-child')
  // The upstreams, dealt out to their processes as evenly as they go.
  const serving = Array.from({ length: upstreamProcesses }, (_, i) => ({
    ...child('--upstreams-child'),
    upstreams: Math.floor(upstreamCount / upstreamProcesses) + (i < upstreamCount % upstreamProcesses ? 1 : 0),
  }))
  const requesting = child('--requester-child')
  const dir = mkdtempSync(join(tmpdir(), 'contower-flood-'))
  try {
    log(`building ${historySlots} blocks of ${BLOCK_BYTES / 1000} kB in each upstreams' process (${upstreamProcesses})`)
    const ready = serving.map((s) => s.next('serving'))
    for (const s of serving) s.send({ type: 'serve', plan, upstreams: s.upstreams })
    const servingAt = await Promise.all(ready)
    const upstreamAddresses = servingAt.flatMap((s) => s.addresses)
    const upstreams = servingAt.flatMap((s) => s.peerIds)
    // Contower as the daemon runs: bin/contower.js, the build's bundle, with the daemon's node options.
    const dataDir = join(dir, 'data')
    const contowerId = (await loadOrCreateIdentity(dataDir)).peerId.toString()
    const port = await freePort()
    const metricsPort = await freePort()
    const daemonArgs = devnetDaemonArgs({
      dir,
      dataDir,
      port,
      metricsPort,
      genesisTime: plan.genesisTime,
      slotSeconds: SLOT_SECONDS,
      flags: {
        'static-peers': upstreamAddresses.join(','),
        'rate-limits': `${BY_RANGE.name}:${QUOTA.tokens * 10}/${QUOTA.seconds}`,
      },
      nodeOptions,
    })
    const daemon = await startListening(daemonArgs, port)
    const contower = new DaemonView(`http://127.0.0.1:${metricsPort}`)
    await until(
      async () => (await contower.upstreams()).filter((u) => upstreams.includes(u.peer) && u.handshaken).length,
      upstreamCount,
      60_000,
      'upstream handshakes',
    )
    const contowerAddress = `/ip4/127.0.0.1/tcp/${port}/p2p/${contowerId}`
    const connected = requesting.next('connected')
    requesting.send({ type: 'connect', plan, contower: contowerAddress, contowerId })
    await connected
    // CPU seconds used so far by each child: who had the cores while a phase ran; and each child's longest
    // event-loop delay since the last call (Contower's comes from its metrics).
    // The upstreams' processes count as one: their CPU seconds added, their longest delay.
    const children = { requester: [requesting], upstreams: serving, flooders: [flooding] }
    const cpu = async (): Promise<{ seconds: Record<string, number>; loopMaxMs: Record<string, number> }> => {
      const seconds: Record<string, number> = { Contower: await contower.cpuSeconds() }
      const loopMaxMs: Record<string, number> = {}
      for (const [name, group] of Object.entries(children)) {
        const answers = await Promise.all(
          group.map((c) => {
            const answer = c.next('cpu')
            c.send({ type: 'cpu' })
            return answer
          }),
        )
        seconds[name] = answers.reduce((sum, a) => sum + a.seconds, 0)
        loopMaxMs[name] = Math.max(...answers.map((a) => a.loopMaxMs))
      }
      return { seconds, loopMaxMs }
    }
    const measure = async (label: string): Promise<Phase> => {
      const cpuBefore = await cpu() // its scrape also restarts Contower's event-loop delay histogram
      const startedMs = performance.now()
      const measured = requesting.next('measured')
      requesting.send({ type: 'measure', samples, blocks, intervalMs })
      const { ms, errors } = await measured
      const cpuAfter = await cpu()
      log(`${label}: ${samples} requests, ${errors} failed`)
      const cpuUsed = Object.fromEntries(
        Object.entries(cpuAfter.seconds).map(([k, v]) => [k, v - cpuBefore.seconds[k]]),
      )
      return {
        ms,
        errors,
        // Contower's event-loop delay while the phase ran: the CPU share of a request's latency.
        loopP99Ms: contower.lastLoopDelay.p99Ms,
        loopMaxMs: contower.lastLoopDelay.maxMs,
        loopMaxMsByProcess: { Contower: contower.lastLoopDelay.maxMs, ...cpuAfter.loopMaxMs },
        cpuUsed,
        wallSeconds: (performance.now() - startedMs) / 1000,
      }
    }

    log(`${upstreamCount} upstreams, Contower ${contowerAddress}; unloaded phase`)
    const unloaded = await measure('unloaded')
    flooding.send({ type: 'start', plan, flooders, contower: contowerAddress })
    await flooding.next('flooding')
    log(`${flooders} flooders connected; flooding ${FLOOD_WARMUP_MS / 1000} s before measuring`)
    await sleep(FLOOD_WARMUP_MS)
    const loaded = await measure('flooded')
    const counts = flooding.next('counts')
    flooding.send({ type: 'stop' })
    const flood = await counts
    const metrics = await contower.metrics()
    report(unloaded, loaded, flood, labelCounts(metrics, 'contower_relay_requests_total', 'result'), {
      flooders,
      upstreamCount,
      upstreamProcesses,
      samples,
      blocks,
      intervalMs,
    })
    const asDaemon = nodeOptions === DAEMON_NODE_OPTIONS ? 'as the daemon runs' : 'with other node options'
    console.log(`Contower: bin/contower.js start, ${asDaemon} (node ${nodeOptions.join(' ')})`)
    const errors = labelCounts(metrics, 'contower_relay_upstream_errors_total', 'reason')
    console.log(
      `upstream errors: ${
        Object.entries(errors)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    )
    const rows = (await contower.upstreams()).filter((u) => upstreams.includes(u.peer))
    console.log(
      `upstreams connected at the end: ${rows.length} of ${upstreamCount}; their scores: ${rows.map((u) => u.score.toFixed(1)).join(' ')}`,
    )
    const quotas = serving.map((s) => s.next('quota'))
    for (const s of serving) s.send({ type: 'stop' })
    const exceeded = (await Promise.all(quotas)).reduce((n, q) => n + q.exceeded, 0)
    console.log(`upstream quota violations by Contower: ${exceeded}`)
    await stopProcess(daemon.child)
  } finally {
    flooding.proc.kill()
    for (const s of serving) s.proc.kill()
    requesting.proc.kill()
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
}

/** What bench-flood reads of the Contower daemon: its /metrics and /status.json. */
class DaemonView {
  /** Contower's event-loop delay between the last two /metrics scrapes (prom-client restarts it at each). */
  lastLoopDelay = { p99Ms: NaN, maxMs: NaN }

  constructor(private readonly base: string) {}

  async metrics(): Promise<string> {
    const text = await (await fetch(`${this.base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
    this.lastLoopDelay = {
      p99Ms: 1000 * (metricValues(text, 'nodejs_eventloop_lag_p99_seconds')[0]?.value ?? NaN),
      maxMs: 1000 * (metricValues(text, 'nodejs_eventloop_lag_max_seconds')[0]?.value ?? NaN),
    }
    return text
  }

  async cpuSeconds(): Promise<number> {
    return metricValues(await this.metrics(), 'process_cpu_seconds_total')[0]?.value ?? NaN
  }

  async upstreams(): Promise<Array<{ peer: string; handshaken: boolean; score: number }>> {
    const res = await fetch(`${this.base}/status.json`, { signal: AbortSignal.timeout(10_000) })
    return ((await res.json()) as { upstreams: Array<{ peer: string; handshaken: boolean; score: number }> }).upstreams
  }
}

/** A metric's samples in Prometheus text: each one's labels and value. */
function metricValues(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue
    const labels: Record<string, string> = {}
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]] = m[2]
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) })
  }
  return out
}

interface Phase {
  ms: number[]
  errors: number
  /** Contower's event-loop delay while the phase ran. */
  loopP99Ms: number
  loopMaxMs: number
  /**
   * Each process's longest event-loop delay while the phase ran: a harness process's large value means the
   * harness, not Contower, held some requests up.
   */
  loopMaxMsByProcess: Record<string, number>
  /** CPU seconds each process used while the phase ran, and the phase's length. */
  cpuUsed: Record<string, number>
  wallSeconds: number
}

function report(
  unloaded: Phase,
  loaded: Phase,
  flood: Extract<FromChild, { type: 'counts' }>,
  results: Record<string, number>,
  o: {
    flooders: number
    upstreamCount: number
    upstreamProcesses: number
    samples: number
    blocks: number
    intervalMs: number
  },
): void {
  const row = (name: string, p: Phase) => [
    name,
    String(p.ms.length),
    String(p.errors),
    ...QUANTILES.map((q) => percentile(p.ms, q).toFixed(1)),
    `${p.loopP99Ms.toFixed(1)} / ${p.loopMaxMs.toFixed(1)}`,
  ]
  const rows = [
    ['phase', 'requests', 'failed', ...QUANTILES.map(quantileName), 'Contower loop delay p99 / max ms'],
    row('unloaded', unloaded),
    row(`${o.flooders} flooders`, loaded),
    ['ratio', '', '', ...QUANTILES.map((q) => (percentile(loaded.ms, q) / percentile(unloaded.ms, q)).toFixed(2)), ''],
  ]
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  console.log(
    `\nwell-behaved peer: ${o.blocks} blocks every ${o.intervalMs} ms; ${o.upstreamCount} upstreams in ${o.upstreamProcesses} process(es); ` +
      `${o.flooders} flooders × ${FLOOD_BLOCKS} blocks every ${FLOOD_EVERY_MS} ms (10× quota), ≤ ${FLOOD_MAX_OPEN} open`,
  )
  for (const r of rows)
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
  const [low, high] = ratioInterval(loaded.ms, unloaded.ms, 0.99)
  console.log(
    `p99 ratio, 95 % bootstrap interval (what chance alone moves it by): ${low.toFixed(2)}–${high.toFixed(2)}`,
  )
  console.log(`CPU seconds (longest event-loop delay) while each phase ran, by process (${cpus().length} cores):`)
  for (const [name, p] of [['unloaded', unloaded] as const, [`${o.flooders} flooders`, loaded] as const]) {
    const used = Object.entries(p.cpuUsed).map(
      ([k, v]) => `${k} ${v.toFixed(1)} (${p.loopMaxMsByProcess[k].toFixed(0)} ms)`,
    )
    console.log(`  ${name}, ${p.wallSeconds.toFixed(0)} s: ${used.join(', ')}`)
  }
  console.log(
    `flood: ${flood.sent} sent, ${flood.served} served, ${flood.refused} refused (RateLimited or ResourceUnavailable), ` +
      `${flood.otherErrors} other errors, at most ${flood.maxOpen} open per flooder`,
  )
  console.log(
    `Contower results (all requesters): ${Object.entries(results)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  )
  console.log(`load average (1 min) at the end: ${loadavg()[0].toFixed(2)} on ${cpus().length} CPUs`)
}

/** A counter's values summed by one label. */
function labelCounts(metrics: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const { labels, value } of metricValues(metrics, name)) out[labels[label]] = (out[labels[label]] ?? 0) + value
  return out
}

/** The latencies printed for each phase (the target is the p99 ratio; the others show the shape around it). */
const QUANTILES = [0.5, 0.9, 0.99, 1] as const
const quantileName = (q: number) => (q === 1 ? 'max ms' : `p${Math.round(q * 100)} ms`)

/** Polls `count` until it reaches `wanted`; fails after `timeoutMs`. */
async function until(count: () => Promise<number>, wanted: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  // A failed count (the daemon's metrics server not up yet) counts as none.
  while ((await count().catch(() => 0)) < wanted) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

/** A child: the upstreams, serving the chain to Contower under Lodestar's quota, until told to stop. */
async function upstreamsChild(): Promise<void> {
  const send = asChild('--upstreams-child')
  const serve = await fromParent('serve')
  const network = networkOf(serve.plan)
  const chain = new SyntheticChain({ network }, { payloadBytes: BLOCK_BYTES })
  await chain.prebuild(serve.plan.historySlots)
  const peers: SimulatedPeer[] = []
  for (let i = 0; i < serve.upstreams; i++) peers.push(await startSimulatedPeer(network, chain, logger))
  send({
    type: 'serving',
    addresses: peers.map((p) => p.multiaddr.toString()),
    peerIds: peers.map((p) => p.peerId.toString()),
  } satisfies FromChild)
  await fromParent('stop')
  const exceeded = peers.reduce((n, p) => n + p.stats.quotaExceeded, 0)
  send({ type: 'quota', exceeded } satisfies FromChild)
  await Promise.all(peers.map((p) => p.stop().catch(() => {})))
  process.exit(0)
}

/** A child: `flooders` peers that each ask Contower for 64 random blocks every 500 ms, up to 8 open. */
async function floodersChild(): Promise<void> {
  const send = asChild('--flooders-child')
  const start = await fromParent('start')
  const network = networkOf(start.plan)
  const chain = new SyntheticChain({ network }, { payloadBytes: BLOCK_BYTES })
  await chain.prebuild(start.plan.historySlots) // the same chain: the Status must agree with Contower's view
  const target = multiaddr(start.contower)
  const peers: SimulatedPeer[] = []
  for (let i = 0; i < start.flooders; i++) {
    const peer = await startSimulatedPeer(network, chain, logger, { serveBlocks: false })
    peers.push(peer)
    await peer.libp2p.dial(target)
  }
  const counts = { sent: 0, served: 0, refused: 0, otherErrors: 0, maxOpen: 0 }
  let stopped = false
  const timers: NodeJS.Timeout[] = []
  for (const peer of peers) {
    const client = new ReqRespClient(
      {
        host: peer.libp2p,
        responseTypes: new ResponseTypes({ forkSchedule: peer.forkSchedule, clock: peer.clock }),
        metrics: null,
      },
      CLIENT_DEFAULTS,
    )
    const remote = peer.libp2p.getConnections()[0]?.remotePeer
    let open = 0
    timers.push(
      setInterval(() => {
        if (stopped || !remote || open >= FLOOD_MAX_OPEN) return
        open++
        counts.maxOpen = Math.max(counts.maxOpen, open)
        counts.sent++
        const startSlot = start.plan.goodSlots + 1 + Math.floor(Math.random() * FLOOD_SLOTS)
        const req = BY_RANGE.request!.serialize({ startSlot, count: FLOOD_BLOCKS, step: 1 })
        void (async () => {
          try {
            for await (const _ of client.request(remote, BY_RANGE, req, { maxChunks: FLOOD_BLOCKS })) void _
            counts.served++
          } catch (e) {
            const code = e instanceof RequestError ? e.detail.respCode : undefined
            if (code === RespCode.RateLimited || code === RespCode.ResourceUnavailable) counts.refused++
            else counts.otherErrors++
          } finally {
            open--
          }
        })()
      }, FLOOD_EVERY_MS),
    )
  }
  send({ type: 'flooding' } satisfies FromChild)
  await fromParent('stop')
  stopped = true
  for (const t of timers) clearInterval(t)
  send({ type: 'counts', ...counts } satisfies FromChild)
  await Promise.all(peers.map((p) => p.stop().catch(() => {})))
  process.exit(0)
}

/**
 * A child: the well-behaved peer, in a process of its own so that Contower's holds only Contower. Told to measure, it asks Contower for `blocks` new blocks every `intervalMs`, one
 * request at a time and never a range it asked before, and returns each request's latency.
 */
async function requesterChild(): Promise<void> {
  const send = asChild('--requester-child')
  const connect = await fromParent('connect')
  const network = networkOf(connect.plan)
  const chain = new SyntheticChain({ network }, { payloadBytes: BLOCK_BYTES })
  await chain.prebuild(connect.plan.historySlots) // the same chain: the Status must agree with Contower's view
  const peer = await startSimulatedPeer(network, chain, logger, { serveBlocks: false })
  const contower = multiaddr(connect.contower)
  await peer.libp2p.dial(contower)
  await sleep(500) // Contower's Status exchange with the new peer, off the measured path
  const remote = peerIdFromString(connect.contowerId)
  const client = new ReqRespClient(
    {
      host: peer.libp2p,
      responseTypes: new ResponseTypes({ forkSchedule: peer.forkSchedule, clock: peer.clock }),
      metrics: null,
    },
    CLIENT_DEFAULTS,
  )
  send({ type: 'connected' } satisfies FromChild)
  let nextSlot = 1
  const measure = async (m: Extract<ToChild, { type: 'measure' }>) => {
    const ms: number[] = []
    let errors = 0
    for (let i = -WARMUP_REQUESTS; i < m.samples; i++) {
      const startSlot = nextSlot
      nextSlot += m.blocks
      const started = performance.now()
      let served = false
      try {
        let n = 0
        const req = BY_RANGE.request!.serialize({ startSlot, count: m.blocks, step: 1 })
        for await (const _ of client.request(remote, BY_RANGE, req, { maxChunks: m.blocks })) n++
        served = n === m.blocks
      } catch (e) {
        if (!(e instanceof RequestError)) throw e
      }
      if (i >= 0) {
        ms.push(performance.now() - started)
        if (!served) errors++
      }
      await sleep(m.intervalMs)
    }
    send({ type: 'measured', ms, errors } satisfies FromChild)
  }
  // Until bench-flood ends: it kills this process, or its exit disconnects it.
  process.on('message', (m: ToChild) => m.type === 'measure' && void measure(m))
}

// Last, once every class and function above is defined.
if (process.argv.includes('--flooders-child')) await floodersChild()
else if (process.argv.includes('--upstreams-child')) await upstreamsChild()
else if (process.argv.includes('--requester-child')) await requesterChild()
else await main()
