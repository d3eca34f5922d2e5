// Benchmark: the CPU a short request costs — a stream opened, negotiated, its request read and answered with an
// error, as Contower answers a refused or unservable request — with libp2p's own debug loggers (what every stream
// built before 2026-12-06) against Contower's silent one (src/network/libp2pLogger.ts). Interleaved rounds.
//
//   npm run bench:streams -- [--requests 3000] [--rounds 2]
//
// Each measurement is a child process run with the daemon's node options: one Contower on 127.0.0.1 with no upstream
// (so every BlocksByRange is answered ResourceUnavailable "no peer to serve this") and 10 requesters, each asking one
// request at a time. The baseline child has DEBUG set to a namespace nothing logs under: libp2p then builds its debug
// loggers for every stream, as it does by default, and prints nothing. Reported: CPU (user + system) of the child per
// request while the requests ran, both ends together (Contower and its requesters are all libp2p hosts of ours).
import '../src/setup.js'
import { fork } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { DAEMON_NODE_OPTIONS, tuneGc } from '../src/gcTuning.js'
import { createLogger } from '../src/logger.js'
import { CLIENT_DEFAULTS, ReqRespClient } from '../src/reqresp/client.js'
import { RequestError } from '../src/reqresp/errors.js'
import { getProtocol } from '../src/reqresp/protocols.js'
import { ResponseTypes } from '../src/reqresp/responseTypes.js'
import { startContower, startSimulatedPeer } from './lib/devnet.js'
import { intOption as option } from './lib/intOption.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const REQUESTERS = 10
/** A DEBUG value no logger matches: libp2p's debug loggers are built for every stream and print nothing. */
const NO_NAMESPACE = 'contower-bench-streams-none'
const VARIANTS = [
  { name: "libp2p's debug loggers", env: { DEBUG: NO_NAMESPACE } },
  { name: "Contower's silent logger", env: {} },
] as const

interface Measured {
  requests: number
  answered: number
  wallMs: number
  cpuMs: number
}

if (process.argv.includes('--child')) await child(option('requests', 3000, 10, 100_000))
else await main()

async function main(): Promise<void> {
  const requests = option('requests', 3000, 10, 100_000)
  const rounds = option('rounds', 2, 1, 10)
  const results = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const variant of VARIANTS) {
      const m = await measureIn(variant.env, requests)
      if (m.answered !== m.requests) throw new Error(`${variant.name}: ${m.answered} of ${m.requests} answered`)
      const perRequest = m.cpuMs / m.requests
      results.get(variant.name)!.push(perRequest)
      console.log(
        `round ${round}, ${variant.name}: ${m.requests} requests in ${(m.wallMs / 1000).toFixed(1)} s, ` +
          `${perRequest.toFixed(3)} ms CPU each`,
      )
    }
  }
  const [base, ours] = VARIANTS.map((v) => results.get(v.name)!)
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(', ')
  const rows = [
    ['host logger', 'CPU ms per request, by round'],
    [VARIANTS[0].name, fmt(base)],
    [VARIANTS[1].name, fmt(ours)],
    ['ratio (silent ÷ debug)', base.map((b, i) => (ours[i] / b).toFixed(2)).join(', ')],
  ]
  const width = Math.max(...rows.map((r) => r[0].length))
  console.log(`\n${REQUESTERS} requesters × one request at a time; answered ResourceUnavailable; both ends' CPU`)
  for (const [a, b] of rows) console.log(`${a.padEnd(width)}  ${b}`)
  console.log(`load average (1 min) at the end: ${loadavg()[0].toFixed(2)} on ${cpus().length} CPUs`)
}

/** One measurement in a child process with the daemon's node options and `env` added to ours. */
function measureIn(env: Record<string, string>, requests: number): Promise<Measured> {
  const base = { ...process.env }
  delete base.DEBUG
  const proc = fork(fileURLToPath(import.meta.url), ['--child', '--requests', String(requests)], {
    env: { ...base, ...env },
    execArgv: [...process.execArgv.filter((a) => !DAEMON_NODE_OPTIONS.includes(a)), ...DAEMON_NODE_OPTIONS],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => proc.kill(), 300_000)
    proc.once('message', (m: Measured) => resolve(m))
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`measurement exited (${code}) without a result`))
    })
  })
}

async function child(total: number): Promise<void> {
  tuneGc()
  const logger = createLogger({ level: 'silent', format: 'json' })
  const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - 64 * 12, slotSeconds: 12 })
  const chain = new SyntheticChain({ network }, { payloadBytes: 1_000 })
  await chain.prebuild(64)
  // No upstream, and a quota no requester reaches: every request is answered "no peer to serve this".
  const contower = await startContower(network, logger, { 'rate-limits': `${BY_RANGE.name}:100000000/10` })
  const requesters = []
  for (let i = 0; i < REQUESTERS; i++) {
    const peer = await startSimulatedPeer(network, chain, logger, { serveBlocks: false })
    await peer.libp2p.dial(contower.node.listenAddresses[0])
    requesters.push(peer)
  }
  const target = contower.node.libp2p.peerId
  const request = BY_RANGE.request!.serialize({ startSlot: 1, count: 4, step: 1 })
  const each = Math.ceil(total / REQUESTERS)
  let answered = 0
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    requesters.map(async (peer) => {
      const responseTypes = new ResponseTypes({ forkSchedule: peer.forkSchedule, clock: peer.clock })
      const client = new ReqRespClient({ host: peer.libp2p, responseTypes, metrics: null }, CLIENT_DEFAULTS)
      for (let i = 0; i < each; i++) {
        try {
          for await (const _ of client.request(target, BY_RANGE, request, { maxChunks: 4 })) void _
        } catch (e) {
          if (e instanceof RequestError && e.detail.respCode !== undefined) answered++
        }
      }
    }),
  )
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  for (const peer of requesters) await peer.stop()
  await contower.stop()
  process.send!({
    requests: each * REQUESTERS,
    answered,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
  } satisfies Measured)
  process.exit(0)
}
